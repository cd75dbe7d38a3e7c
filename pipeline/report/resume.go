package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline/mark"
	"markimport/readers"
)

// Fingerprint identifies the content of an input file, so that a resumed
// run can refuse a file that changed since its report was started.
type Fingerprint struct {
	Input  string `json:"input"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FingerprintFile reads a whole file and returns its size and SHA-256.
func FingerprintFile(path string) (Fingerprint, error) {
	f, err := os.Open(path)
	if err != nil {
		return Fingerprint{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return Fingerprint{}, fmt.Errorf("read %s: %w", path, err)
	}
	return Fingerprint{Input: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// reportMeta is the sidecar beside a report: which input it belongs to.
type reportMeta struct {
	Fingerprint
	Started time.Time `json:"started"`
}

// MetaPath is the sidecar file that records the input of a report or
// journal.
func MetaPath(report string) string { return report + ".meta.json" }

// WriteMeta records, at meta (beside a report or journal), the input
// it reports on. It is written beside and renamed into place.
func WriteMeta(meta string, fp Fingerprint) error {
	b, err := json.MarshalIndent(reportMeta{Fingerprint: fp, Started: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(meta, append(b, '\n'))
}

// CheckMeta refuses to resume report when its record of the input,
// meta, is missing or names another input than fp.
func CheckMeta(meta, report string, fp Fingerprint) error {
	b, err := os.ReadFile(meta)
	if err != nil {
		return fmt.Errorf("cannot resume: %s has no record of its input (%v); start over with --overwrite", report, err)
	}
	var m reportMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("cannot resume: %s: %v", meta, err)
	}
	if m.Size != fp.Size || m.SHA256 != fp.SHA256 {
		return fmt.Errorf("cannot resume: %s changed since the report %s was started (size %d, sha256 %.12s… then; size %d, sha256 %.12s… now); start a new report for the new file",
			fp.Input, report, m.Size, m.SHA256, fp.Size, fp.SHA256)
	}
	return nil
}

// ResumeCSV continues the CSV report at path in place: see resumeInto.
func ResumeCSV(path string) (*CSV, *mark.RowSet, error) {
	return resumeInto(path, path, nil)
}

// resumeInto reads the report of an interrupted run, src, and writes to
// dst (which may be src) the lines of rows that ended ok (the rows a
// resumed run skips), dropping every other line, since those rows are
// planned again and will be reported anew; a line torn by a crash is
// dropped too. The kept lines are written to a new file that atomically
// replaces dst, which is then open for appending. It returns the set of ok
// rows. lines, when not nil, reads src's lines instead (a Parquet report).
func resumeInto(src, dst string, lines func(func([]string)) error) (*CSV, *mark.RowSet, error) {
	tmpPath := dst + ".resume.tmp"
	tmp, err := os.OpenFile(tmpPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	defer os.Remove(tmpPath) // a no-op once renamed
	out := newCSV(tmp)
	out.w.Write(Header)
	done := &mark.RowSet{}
	keep := func(rec []string) {
		if rec[4] != string(StatusOK) {
			return
		}
		row, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil || row < 1 || done.Has(row) {
			return
		}
		done.Add(row)
		out.w.Write(rec)
	}
	if lines == nil {
		lines = func(fn func([]string)) error { return readCSVReport(src, fn) }
	}
	if err := lines(keep); err != nil {
		tmp.Close()
		return nil, nil, err
	}
	if err := out.sync(); err != nil {
		tmp.Close()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		tmp.Close()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	return out, done, nil
}

// readCSVReport calls fn with every complete, well-formed line of a CSV
// report: a line torn or garbled by a crash is skipped (what it said is
// unknown, so its row is simply planned again).
func readCSVReport(path string, fn func([]string)) error {
	old, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	defer old.Close()
	st, err := old.Stat()
	if err != nil {
		return err
	}
	size, err := completeLength(old, st.Size())
	if err != nil {
		return err
	}
	cr := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(old, 0, size), 1<<20))
	cr.FieldsPerRecord = len(Header)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if size == 0 {
		// Not one complete line: the run ended before even the header was
		// on disk, so it had reported no row.
		return nil
	}
	if err != nil || strings.Join(header, ",") != strings.Join(Header, ",") {
		return fmt.Errorf("resume: %s is not a markimport report (header %s)", path, readers.Quote(strings.Join(header, ",")))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			continue
		}
		fn(rec)
	}
}

// completeLength is the length of the file up to its last newline: a line
// torn by a crash (no newline yet) is not part of the report.
func completeLength(f *os.File, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(0, end-chunk)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}
