package pipeline

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
	"path/filepath"
	"strconv"
	"strings"
	"time"
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

// MetaPath is the sidecar file of a report.
func MetaPath(report string) string { return report + ".meta.json" }

// WriteReportMeta records, beside a new report, the input it reports on.
func WriteReportMeta(report string, fp Fingerprint) error {
	b, err := json.MarshalIndent(reportMeta{Fingerprint: fp, Started: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	tmp := MetaPath(report) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, MetaPath(report))
}

// CheckReportMeta refuses to resume when the input differs from the one the
// report was started with.
func CheckReportMeta(report string, fp Fingerprint) error {
	b, err := os.ReadFile(MetaPath(report))
	if err != nil {
		return fmt.Errorf("cannot resume: %s has no record of its input (%v); start a new report instead", report, err)
	}
	var m reportMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("cannot resume: %s: %v", MetaPath(report), err)
	}
	if m.Size != fp.Size || m.SHA256 != fp.SHA256 {
		return fmt.Errorf("cannot resume: %s changed since the report %s was started (size %d, sha256 %.12s… then; size %d, sha256 %.12s… now); start a new report for the new file",
			fp.Input, report, m.Size, m.SHA256, fp.Size, fp.SHA256)
	}
	return nil
}

// ResumeCSVReport reopens the report of an interrupted run. It keeps the lines
// of rows that ended ok (the rows a resumed run skips) and drops every other
// line, since those rows are planned again and will be reported anew; a line
// torn by a crash is dropped too. The kept lines are written to a new file
// that atomically replaces the report, which is then open for appending. It
// returns the set of ok rows and the ok lines' count.
func ResumeCSVReport(path string) (*CSVReport, *RowSet, error) {
	old, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	defer old.Close()
	st, err := old.Stat()
	if err != nil {
		return nil, nil, err
	}
	size, err := completeLength(old, st.Size())
	if err != nil {
		return nil, nil, err
	}
	tmpPath := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".resume.tmp")
	tmp, err := os.OpenFile(tmpPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	defer os.Remove(tmpPath) // a no-op once renamed
	out := newCSVReport(tmp)
	done := &RowSet{}
	cr := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(old, 0, size), 1<<20))
	cr.FieldsPerRecord = len(ReportHeader)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if size == 0 {
		// Not one complete line: the run ended before even the header was
		// on disk, so it had reported no row.
		header, err = ReportHeader, nil
	}
	if err != nil || strings.Join(header, ",") != strings.Join(ReportHeader, ",") {
		tmp.Close()
		return nil, nil, fmt.Errorf("resume: %s is not a markimport report (header %q)", path, strings.Join(header, ","))
	}
	out.w.Write(ReportHeader)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A torn or garbled line: what it said is unknown, so the row is
			// simply planned again.
			continue
		}
		if rec[4] != string(StatusOK) {
			continue
		}
		row, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil || row < 1 || done.Has(row) {
			continue
		}
		done.Add(row)
		out.w.Write(rec)
	}
	if err := out.syncLocked(); err != nil {
		tmp.Close()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	if err := os.Rename(tmpPath, path); err != nil {
		tmp.Close()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	return out, done, nil
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
