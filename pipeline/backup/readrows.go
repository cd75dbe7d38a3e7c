package backup

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"

	"markimport/pipeline/plan"
	"markimport/readers"
)

// completeRecords finds the length of the journal's complete records: a
// record ends with a newline outside quotes, and what follows the last one
// (a record torn by a kill) is dropped.
func completeRecords(path string) (size, dropped int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = false
	var good int64
	last := make([]byte, 1)
	for {
		_, err := cr.Read()
		if err != nil {
			break // io.EOF, or a torn record at the end
		}
		end := cr.InputOffset()
		if _, err := f.ReadAt(last, end-1); err != nil {
			return 0, 0, err
		}
		if last[0] != '\n' {
			break // the last record, cut before its newline
		}
		good = end
	}
	return good, st.Size() - good, nil
}

// eachRow reads a backup (format "" by its name) as markimport reads an
// input and calls fn with each row. A row that is not a valid restore row
// is an error naming the file and row: the backup is not to be trusted.
func eachRow(path, format string, fn func(*Row) error) error {
	rd, err := readers.Open(path, readers.Options{Format: format})
	if errors.Is(err, readers.ErrNoRows) {
		return nil // a backup without rows
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer rd.Close()
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		c, bad := plan.Validate(&rec)
		if bad != nil {
			return fmt.Errorf("backup %s row %d is not a valid row (%s): it was not written by markimport, or was damaged", path, rec.Row, bad.Message)
		}
		row := Row{From: c.From, Conv: c.Conv, Set: c.Set, Clear: c.Clear, Custom: c.Custom, Opt: c.Opt}
		if err := fn(&row); err != nil {
			return err
		}
	}
}
