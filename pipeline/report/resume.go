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

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
	"markimport/readers"
)

// Fingerprint identifies the content of an input, so that a resumed run
// can refuse an input that changed since its report was started. An input
// of several files has one per file in Files.
type Fingerprint struct {
	Input  string        `json:"input"`
	Size   int64         `json:"size"`
	SHA256 string        `json:"sha256"`
	Files  []Fingerprint `json:"files,omitempty"`
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

// FingerprintInput fingerprints every file of an input: for one file, the
// file's; for several, each file's under its name, with the total size
// and a SHA-256 of the names and hashes.
func FingerprintInput(in *readers.Input) (Fingerprint, error) {
	if !in.Multi() {
		return FingerprintFile(in.Parts[0].Path)
	}
	fp := Fingerprint{Input: in.String()}
	h := sha256.New()
	for _, p := range in.Parts {
		f, err := FingerprintFile(p.Path)
		if err != nil {
			return Fingerprint{}, err
		}
		f.Input = p.Name
		fp.Size += f.Size
		fmt.Fprintf(h, "%s\x00%s\x00", f.Input, f.SHA256)
		fp.Files = append(fp.Files, f)
	}
	fp.SHA256 = hex.EncodeToString(h.Sum(nil))
	return fp, nil
}

// changedFile names a file that differs between the fingerprints of an
// input then (old) and now, and how: added, removed or changed.
func changedFile(old, now Fingerprint) string {
	if len(old.Files) == 0 && len(now.Files) == 0 {
		return ""
	}
	then := map[string]Fingerprint{}
	for _, f := range old.Files {
		then[f.Input] = f
	}
	if len(old.Files) == 0 {
		then[old.Input] = old
	}
	files := now.Files
	if len(files) == 0 {
		files = []Fingerprint{now}
	}
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.Input] = true
		o, ok := then[f.Input]
		switch {
		case !ok:
			return fmt.Sprintf("%s was added", f.Input)
		case o.Size != f.Size || o.SHA256 != f.SHA256:
			return fmt.Sprintf("%s changed (size %d, sha256 %.12s… then; size %d, sha256 %.12s… now)", f.Input, o.Size, o.SHA256, f.Size, f.SHA256)
		}
	}
	for name := range then {
		if !seen[name] {
			return fmt.Sprintf("%s was removed", name)
		}
	}
	return ""
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
func WriteMeta(fsys durable.FS, meta string, fp Fingerprint) error {
	b, err := json.MarshalIndent(reportMeta{Fingerprint: fp, Started: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(fsys, meta, append(b, '\n'))
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
	if what := changedFile(m.Fingerprint, fp); what != "" {
		return fmt.Errorf("cannot resume: the input changed since the report %s was started: %s; start a new report for the new files", report, what)
	}
	if m.Size != fp.Size || m.SHA256 != fp.SHA256 {
		return fmt.Errorf("cannot resume: %s changed since the report %s was started (size %d, sha256 %.12s… then; size %d, sha256 %.12s… now); start a new report for the new file",
			fp.Input, report, m.Size, m.SHA256, fp.Size, fp.SHA256)
	}
	return nil
}

// Done is the set of rows a resumed run leaves out: those its report says
// ended ok. For an input of several files it keeps the rows of each file
// by their number within the file, since the rows' numbers across the
// input are known only as its files are read.
type Done struct {
	in   *readers.Input // an input of several files, or nil
	rows []mark.RowSet  // one per file
	n    int64
}

func newDone(in *readers.Input) *Done {
	in = multi(in)
	n := 1
	if in != nil {
		n = len(in.Parts)
	}
	return &Done{in: in, rows: make([]mark.RowSet, n)}
}

// add puts a row of the named file (ignored for one file) in the set and
// reports whether it was new.
func (d *Done) add(file string, row int64) bool {
	k := 0
	if d.in != nil {
		var ok bool
		if k, ok = d.in.PartIndex(file); !ok {
			return false
		}
	}
	if row < 1 || d.rows[k].Has(row) {
		return false
	}
	d.rows[k].Add(row)
	d.n++
	return true
}

// Has reports whether row (a row number of the whole input) ended ok. Its
// file must have been opened by the run's reader.
func (d *Done) Has(row int64) bool {
	if d == nil {
		return false
	}
	if d.in == nil {
		return d.rows[0].Has(row)
	}
	k, local := d.in.Locate(row)
	return d.rows[k].Has(local)
}

// Len is the number of rows in the set.
func (d *Done) Len() int64 {
	if d == nil {
		return 0
	}
	return d.n
}

// ResumeCSV continues the CSV report at path in place: see resumeInto.
func ResumeCSV(path string, in *readers.Input) (*CSV, *Done, error) {
	return resumeInto(nil, path, path, nil, in)
}

// resumeInto reads the report of an interrupted run, src, and writes to
// dst (which may be src) the lines of rows that ended ok (the rows a
// resumed run skips), dropping every other line, since those rows are
// planned again and will be reported anew; a line torn by a crash is
// dropped too. The kept lines are written to a new file that atomically
// replaces dst, which is then open for appending. It returns the set of ok
// rows. lines, when not nil, reads src's lines instead (a Parquet report).
func resumeInto(fsys durable.FS, src, dst string, lines func(func([]string)) error, in *readers.Input) (*CSV, *Done, error) {
	fsys = durable.Or(fsys)
	tmpPath := dst + ".resume.tmp"
	tmp, err := fsys.OpenFile(tmpPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			fsys.Remove(tmpPath)
		}
	}()
	out := newCSV(tmp, in)
	out.w.Write(headerOf(in))
	done := newDone(in)
	keep := func(rec []string) {
		file := ""
		if multi(in) != nil {
			file, rec = rec[0], rec[1:]
		}
		if rec[4] != string(StatusOK) {
			return
		}
		row, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil || !done.add(file, row) {
			return
		}
		if file != "" {
			out.w.Write(append([]string{file}, rec...))
		} else {
			out.w.Write(rec)
		}
	}
	if lines == nil {
		lines = func(fn func([]string)) error { return readCSVReport(src, headerOf(in), fn) }
	}
	if err := lines(keep); err != nil {
		tmp.Close()
		return nil, nil, err
	}
	if err := out.flushSync(); err != nil {
		tmp.Close()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	if err := durable.Move(fsys, tmpPath, dst); err != nil {
		tmp.Close()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	renamed = true
	return out, done, nil
}

// readCSVReport calls fn with every complete, well-formed line of a CSV
// report with the given header: a line torn or garbled by a crash is
// skipped (what it said is unknown, so its row is simply planned again).
func readCSVReport(path string, want []string, fn func([]string)) error {
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
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if size == 0 {
		// Not one complete line: the run ended before even the header was
		// on disk, so it had reported no row.
		return nil
	}
	if err != nil || strings.Join(header, ",") != strings.Join(want, ",") {
		return fmt.Errorf("resume: %s is not a markimport report of this input (header %s, want %s)", path, readers.Quote(strings.Join(header, ",")), strings.Join(want, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil || len(rec) != len(want) {
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

// RowsWithStatus reads a finished report of a run of in (CSV or Parquet)
// and returns the rows it reported with status, e.g. the exists rows of an
// insert-only run, for verify to leave unchecked. The report's record of
// its input (its .meta.json) must name in as it is now (fp), since its row
// numbers mean nothing for another input.
func RowsWithStatus(path string, in *readers.Input, fp Fingerprint, status Status) (*Done, error) {
	b, err := os.ReadFile(MetaPath(path))
	var m reportMeta
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("--run-report %s: no readable record of the run's input (%v): give the report of a finished run of this input", path, err)
	}
	if what := changedFile(m.Fingerprint, fp); what != "" || m.Size != fp.Size || m.SHA256 != fp.SHA256 {
		if what == "" {
			what = fp.Input + " is not the file it was"
		}
		return nil, fmt.Errorf("--run-report %s is the report of another input: %s", path, what)
	}
	rows := newDone(in)
	add := func(rec []string) {
		file := ""
		if multi(in) != nil {
			file, rec = rec[0], rec[1:]
		}
		if rec[4] != string(status) {
			return
		}
		if row, err := strconv.ParseInt(rec[0], 10, 64); err == nil {
			rows.add(file, row)
		}
	}
	if readers.IsParquetName(path) {
		err = readParquetReport(path, multi(in) != nil, add)
	} else {
		err = readCSVReport(path, headerOf(in), add)
	}
	if err != nil {
		return nil, fmt.Errorf("--run-report: %w", err)
	}
	return rows, nil
}
