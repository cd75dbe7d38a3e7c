package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"markimport/readers"
)

// RowsWithStatus reads a finished report of a run of in (CSV or Parquet)
// and returns the rows it reported with status, e.g. the exists rows of an
// insert-only run, for verify to leave unchecked. The report's record of
// its input (its .meta.json) must name in as it is now (digest), since its row
// numbers mean nothing for another input, and prove the report's bytes.
func RowsWithStatus(path string, in *readers.Input, digest InputDigest, status Status) (*Done, error) {
	b, err := os.ReadFile(metaPath(path))
	var m reportMeta
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("--run-report %s: no readable record of the run's input (%v): give the report of a finished run of this input", path, err)
	}
	if what, _ := changedFile(m.InputDigest, digest); what != "" || !m.same(digest) {
		if what == "" {
			what = digest.Input + " is not the file it was"
		}
		return nil, fmt.Errorf("--run-report %s is the report of another input: %s", path, what)
	}
	src, err := finalSource(path, metaPath(path), m.Report, multi(in) != nil)
	if err != nil {
		return nil, fmt.Errorf("--run-report: %w", err)
	}
	rows := newDone(in)
	rows.sigs = nil // only the rows are needed
	add := func(line int64, rec []string) error {
		file := ""
		if multi(in) != nil {
			file, rec = rec[0], rec[1:]
		}
		if rec[4] != string(status) {
			return nil
		}
		row, err := strconv.ParseInt(rec[0], 10, 64)
		if err == nil {
			err = rows.add(file, row, "", "", "")
		}
		if err != nil {
			return fmt.Errorf("line %d of %s: %v", line, path, err)
		}
		return nil
	}
	if _, err := src.read(headerOf(in), add); err != nil {
		return nil, fmt.Errorf("--run-report: %w", err)
	}
	return rows, nil
}

// EachParquetLine calls fn with every row of the finished Parquet report of
// a run at path, as the CSV report's columns (header, returned first:
// with a file column when the run's input had several files), proven by
// its .meta.json: the report's size, checksum and rows.
func EachParquetLine(path string, fn func(header, rec []string) error) error {
	b, err := os.ReadFile(metaPath(path))
	var m reportMeta
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return fmt.Errorf("%s: no readable record of the report (%v)", metaPath(path), err)
	}
	multi := len(m.Files) > 0
	header := reportHeader
	if multi {
		header = multiReportHeader
	}
	src, err := finalSource(path, metaPath(path), m.Report, multi)
	if err != nil {
		return err
	}
	_, err = src.read(header, func(_ int64, rec []string) error { return fn(header, rec) })
	return err
}
