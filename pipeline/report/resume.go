package report

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
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

// reportMeta is the sidecar beside a report: which input it belongs to
// and, for a finished report, what proves its bytes.
type reportMeta struct {
	Fingerprint
	Started time.Time `json:"started"`
	// Report is the finished report's proof (a journal's meta has none: its
	// checkpoints prove it).
	Report *fileCheck `json:"report,omitempty"`
}

// fileCheck proves a finished report: its size and CRC-32C, and its
// lines (CSV, line ends counted, the header's included) or rows
// (Parquet).
type fileCheck struct {
	Size   int64  `json:"size"`
	Lines  int64  `json:"lines,omitempty"`
	Rows   int64  `json:"rows,omitempty"`
	CRC32C string `json:"crc32c"`
}

func crcString(c uint32) string { return fmt.Sprintf("%08x", c) }

// MetaPath is the sidecar file that records the input of a report or
// journal.
func MetaPath(report string) string { return report + ".meta.json" }

// WriteMeta records, at meta (beside a journal), the input it reports on.
// It is written beside and renamed into place.
func WriteMeta(fsys durable.FS, meta string, fp Fingerprint) error {
	return writeMeta(fsys, meta, fp, nil)
}

// writeMeta records the input of a report, and with check what proves the
// finished report.
func writeMeta(fsys durable.FS, meta string, fp Fingerprint, check *fileCheck) error {
	b, err := json.MarshalIndent(reportMeta{Fingerprint: fp, Started: time.Now().UTC(), Report: check}, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(fsys, meta, append(b, '\n'))
}

// CheckMeta refuses to resume report when its record of the input,
// meta, is missing or names another input than fp.
func CheckMeta(meta, report string, fp Fingerprint) error {
	_, err := checkMeta(meta, report, fp)
	return err
}

func checkMeta(meta, report string, fp Fingerprint) (reportMeta, error) {
	b, err := os.ReadFile(meta)
	if err != nil {
		return reportMeta{}, fmt.Errorf("cannot resume: %s has no record of its input (%v); start over with --overwrite", report, err)
	}
	var m reportMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return reportMeta{}, fmt.Errorf("cannot resume: %s: %v; start over with --overwrite", meta, err)
	}
	if what := changedFile(m.Fingerprint, fp); what != "" {
		return reportMeta{}, fmt.Errorf("cannot resume: the input changed since the report %s was started: %s; start a new report for the new files", report, what)
	}
	if m.Size != fp.Size || m.SHA256 != fp.SHA256 {
		return reportMeta{}, fmt.Errorf("cannot resume: %s changed since the report %s was started (size %d, sha256 %.12s… then; size %d, sha256 %.12s… now); start a new report for the new file",
			fp.Input, report, m.Size, m.SHA256, fp.Size, fp.SHA256)
	}
	return m, nil
}

// overwriteHint is what to do about a report that cannot be proven.
const overwriteHint = "nothing proves which of its rows were sent; start over with --overwrite: it sends every row again, which changes nothing the API already applied"

// Done is the set of rows a resumed run leaves out: those its report says
// ended ok. For an input of several files it keeps the rows of each file
// by their number within the file, since the rows' numbers across the
// input are known only as its files are read. With each row it keeps a
// 32-bit signature of the conversation its ok line names (4 bytes a row),
// so that the run can check, as it reads the input, that the row holds
// that conversation (Check); what the line said in words is read back from
// the journal only for a message.
type Done struct {
	in      *readers.Input // an input of several files, or nil
	rows    []mark.RowSet  // one per file
	n       int64
	sigs    [][]uint32    // per file, by row: conversation signatures
	checked []mark.RowSet // the rows Check found in the input
	last    []int64       // per file, the highest row
	seed    maphash.Seed
	journal string // holds the ok lines, for messages

	// Notes says, a sentence each, what the report held that was dropped
	// unproven (lines after the journal's last checkpoint): the log says it.
	Notes []string
}

func newDone(in *readers.Input) *Done {
	in = multi(in)
	n := 1
	if in != nil {
		n = len(in.Parts)
	}
	return &Done{in: in, rows: make([]mark.RowSet, n), sigs: make([][]uint32, n), checked: make([]mark.RowSet, n), last: make([]int64, n), seed: maphash.MakeSeed()}
}

// signature of a conversation as a report line names it.
func (d *Done) signature(from, typ, peer string) uint32 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(from)
	h.WriteByte(0)
	h.WriteString(typ)
	h.WriteByte(0)
	h.WriteString(peer)
	return uint32(h.Sum64())
}

// part is the index of the named file (ignored for one file).
func (d *Done) part(file string) (int, bool) {
	if d.in == nil {
		return 0, true
	}
	return d.in.PartIndex(file)
}

// add puts a row of the named file in the set, with the conversation its
// ok line names. It fails on a row that is not a row number, a file that
// is not one of the input's, or a row already in the set.
func (d *Done) add(file string, row int64, from, typ, peer string) error {
	k, ok := d.part(file)
	switch {
	case !ok:
		return fmt.Errorf("file %s is not one of the input's", readers.Quote(file))
	case row < 1:
		return fmt.Errorf("row %d is not a row number", row)
	case d.rows[k].Has(row):
		return fmt.Errorf("row %d is ok twice", row)
	}
	d.rows[k].Add(row)
	d.n++
	if d.sigs != nil {
		if int64(len(d.sigs[k])) <= row {
			d.sigs[k] = append(d.sigs[k], make([]uint32, row+1-int64(len(d.sigs[k]))+int64(len(d.sigs[k])/4))...)
		}
		d.sigs[k][row] = d.signature(from, typ, peer)
	}
	d.last[k] = max(d.last[k], row)
	return nil
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

// Check compares the conversation the input puts on row (one in the set),
// from, typ and peer, with what its ok line names; invalid, when not
// empty, says the input's row is invalid. A mismatch is a *MismatchError:
// the report's row numbers do not mean this input's rows.
func (d *Done) Check(row int64, from, typ, peer, invalid string) error {
	k, local := 0, row
	if d.in != nil {
		k, local = d.in.Locate(row)
	}
	if invalid == "" && d.sigs[k][local] == d.signature(from, typ, peer) {
		d.checked[k].Add(local)
		return nil
	}
	input := fmt.Sprintf("from_account %s, type %s, peer %s", readers.Quote(from), readers.Quote(typ), readers.Quote(peer))
	if invalid != "" {
		input = "an invalid row (" + invalid + ")"
	}
	return d.mismatch(k, local, input)
}

// Unchecked returns a *MismatchError for a row in the set that Check never
// saw: the input has no such row. It is called once the input was read
// whole.
func (d *Done) Unchecked() error {
	for k := range d.rows {
		if d.checked[k].Len() == d.rows[k].Len() {
			continue
		}
		for row := int64(1); row <= d.last[k]; row++ {
			if d.rows[k].Has(row) && !d.checked[k].Has(row) {
				return d.mismatch(k, row, "")
			}
		}
	}
	return nil
}

// mismatch is the error for row of file k, whose input holds input.
func (d *Done) mismatch(k int, row int64, input string) error {
	e := &MismatchError{Journal: d.journal, Row: row, Input: input}
	if d.in != nil {
		e.File = d.in.Parts[k].Name
	}
	e.Line = lineOf(d.journal, e.File, row, d.in != nil)
	return e
}

// lineOf reads back, for a message, what the ok line of row says.
func lineOf(journal, file string, row int64, multi bool) string {
	f, err := os.Open(journal)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	want := strconv.FormatInt(row, 10)
	for {
		rec, err := cr.Read()
		if err != nil {
			return "(not found)"
		}
		if multi {
			if len(rec) < 1 || rec[0] != file {
				continue
			}
			rec = rec[1:]
		}
		if len(rec) == len(Header) && rec[0] == want && rec[4] == string(StatusOK) {
			return fmt.Sprintf("from_account %s, type %s, peer %s", readers.Quote(rec[1]), readers.Quote(rec[2]), readers.Quote(rec[3]))
		}
	}
}

// MismatchError says that a row the resumed report has ok is not, in the
// input, the conversation the report names: its row numbers do not mean
// this input's rows, so its ok lines prove nothing.
type MismatchError struct {
	Journal string
	File    string // of an input of several files
	Row     int64
	Line    string // what the ok line names
	Input   string // what the input has on the row ("": no such row)
}

func (e *MismatchError) Error() string {
	row := fmt.Sprintf("row %d", e.Row)
	if e.File != "" {
		row += " of " + e.File
	}
	input := "the input has " + e.Input + " there"
	if e.Input == "" {
		input = "the input has no such row"
	}
	return fmt.Sprintf("cannot resume: %s is ok in the report %s as %s, but %s: the report's row numbers are not this input's rows; start over with --overwrite: it sends every row again, which changes nothing the API already applied", row, e.Journal, e.Line, input)
}

// ResumeCSV continues the CSV journal at path in place, proven by its
// checkpoints: see resumeInto.
func ResumeCSV(path string, in *readers.Input) (*CSV, *Done, error) {
	f := Files{Journal: path, Checkpoints: CheckpointsOf(path)}
	return resumeInto(f, journalSource(f), in)
}

// source is a report to resume from: its path, and what reads its lines
// (the whole record, file column included) once proven, calling fn with
// each and its line number, and says what it dropped unproven.
type source struct {
	path string
	read func(want []string, fn func(line int64, rec []string) error) (notes []string, err error)
}

// journalSource is the journal of files, proven by its checkpoints; or,
// when a crash interrupted an earlier resume between renaming the
// rewritten journal and its checkpoints into place, by the checkpoints
// written for it, if they prove it whole.
func journalSource(files Files) source {
	path := files.Journal
	return source{path: path, read: func(want []string, fn func(int64, []string) error) ([]string, error) {
		cps, note, err := readCheckpoints(files.Checkpoints)
		pr := proof{cps: cps, path: path, proofPath: files.Checkpoints}
		var notes []string
		if pending, ok := pendingCheckpoints(path, CheckpointsOf(files.Journal+".resume.tmp")); ok {
			// The rename the crash interrupted is done first: the rewrite
			// below reuses the temporary name.
			if err := durable.Move(files.FS, CheckpointsOf(files.Journal+".resume.tmp"), files.Checkpoints); err != nil {
				return nil, &WriteError{Path: files.Checkpoints, Err: err}
			}
			pr.cps, err, note = pending, nil, ""
			notes = append(notes, fmt.Sprintf("%s is the journal an interrupted --resume rewrote: its checkpoints were renamed into place", path))
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &DamagedError{Path: path, Detail: fmt.Sprintf("it has no checkpoints to prove it (%s does not exist)", files.Checkpoints)}
		}
		if err != nil {
			return nil, err
		}
		if note != "" {
			notes = append(notes, note)
		}
		t, err := readProven(pr, want, fn)
		if err != nil {
			return nil, err
		}
		if t.Bytes > 0 {
			n := t.Lines
			if t.Torn {
				n++
			}
			notes = append(notes, fmt.Sprintf("%d lines (%d bytes) at the end of %s were written after its last checkpoint (in the last second before the run stopped), so nothing proves them: they are dropped and their rows are planned again", n, t.Bytes, path))
		}
		return notes, nil
	}}
}

// pendingCheckpoints returns the checkpoints at cpPath when they prove the
// journal at path whole, to the byte.
func pendingCheckpoints(path, cpPath string) ([]checkpoint, bool) {
	cps, _, err := readCheckpoints(cpPath)
	if err != nil || len(cps) == 0 {
		return nil, false
	}
	last := cps[len(cps)-1]
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != last.Size {
		return nil, false
	}
	t := &tally{w: io.Discard}
	if _, err := io.Copy(t, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return nil, false
	}
	return cps, t.checkpoint == last
}

// finalSource is a finished report, proven by the record of its .meta.json.
func finalSource(path, meta string, check *fileCheck, multi bool) (source, error) {
	if check == nil {
		return source{}, &DamagedError{Path: path, Detail: fmt.Sprintf("%s holds no size and checksum to prove it (it was written by an older markimport)", meta)}
	}
	crc, err := strconv.ParseUint(check.CRC32C, 16, 32)
	if err != nil || len(check.CRC32C) != 8 || check.Size < 0 || check.Lines < 0 || check.Rows < 0 {
		return source{}, &DamagedError{Path: meta, Detail: fmt.Sprintf("its record of the report %+v is not well formed", *check)}
	}
	if readers.IsParquetName(path) {
		return source{path: path, read: func(_ []string, fn func(int64, []string) error) ([]string, error) {
			return nil, readParquetReport(path, meta, check, uint32(crc), multi, fn)
		}}, nil
	}
	pr := proof{cps: []checkpoint{{Size: check.Size, Lines: check.Lines, CRC: uint32(crc)}}, exact: true, path: path, proofPath: meta}
	return source{path: path, read: func(want []string, fn func(int64, []string) error) ([]string, error) {
		_, err := readProven(pr, want, fn)
		return nil, err
	}}, nil
}

// resumeInto reads the report of an interrupted run, src, proven, and
// makes the journal of files hold the lines of rows that ended ok (the rows
// a resumed run skips), dropping every other line, since those rows are
// planned again and will be reported anew. The kept lines are written to a
// new journal (with its checkpoints) that replaces the journal, which is
// then open for appending. It returns the set of ok rows.
//
// The new journal is renamed into place before its checkpoints: a crash
// between the two renames leaves the new journal beside the old
// checkpoints, and the new checkpoints under their temporary name, which
// journalSource then takes.
func resumeInto(files Files, src source, in *readers.Input) (*CSV, *Done, error) {
	fsys := durable.Or(files.FS)
	tmpPath := files.Journal + ".resume.tmp"
	done := newDone(in)
	done.journal = files.Journal
	// The proof is read before the temporary checkpoints are truncated:
	// they may be what proves src.
	var out *CSV
	keep := func(line int64, rec []string) error {
		all := rec
		file := ""
		if d := multi(in); d != nil {
			file, rec = rec[0], rec[1:]
		}
		row, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil {
			return fmt.Errorf("line %d of %s: row %s is not a number", line, src.path, readers.Quote(rec[0]))
		}
		if !knownStatus(rec[4]) {
			return fmt.Errorf("line %d of %s: status %s is not one markimport writes", line, src.path, readers.Quote(rec[4]))
		}
		if rec[4] != string(StatusOK) {
			return nil
		}
		if err := done.add(file, row, rec[1], rec[2], rec[3]); err != nil {
			return fmt.Errorf("line %d of %s: %w", line, src.path, err)
		}
		if out == nil {
			var err error
			if out, err = startResumed(fsys, tmpPath, in); err != nil {
				return err
			}
		}
		return out.fail(out.w.Write(all))
	}
	notes, err := src.read(headerOf(in), keep)
	if err == nil && out == nil {
		out, err = startResumed(fsys, tmpPath, in)
	}
	if err != nil {
		if out != nil {
			out.closeFiles()
		}
		fsys.Remove(tmpPath)
		fsys.Remove(CheckpointsOf(tmpPath))
		var de *DamagedError
		if errors.As(err, &de) {
			return nil, nil, fmt.Errorf("cannot resume: %w; %s", err, overwriteHint)
		}
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	done.Notes = notes
	if err := out.flushSync(); err != nil {
		out.closeFiles()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	if err := durable.Move(fsys, tmpPath, files.Journal); err != nil {
		out.closeFiles()
		return nil, nil, fmt.Errorf("resume: %w", &WriteError{Path: files.Journal, Err: err})
	}
	out.renamed(files.Journal)
	if err := durable.Move(fsys, CheckpointsOf(tmpPath), files.Checkpoints); err != nil {
		out.closeFiles()
		return nil, nil, fmt.Errorf("resume: %w", &WriteError{Path: files.Checkpoints, Err: err})
	}
	return out, done, nil
}

// startResumed creates the rewritten journal at path, its header written.
func startResumed(fsys durable.FS, path string, in *readers.Input) (*CSV, error) {
	tmp, err := fsys.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, &WriteError{Path: path, Err: err}
	}
	cps, err := createCheckpoints(fsys, CheckpointsOf(path))
	if err != nil {
		tmp.Close()
		return nil, err
	}
	out := newCSV(tmp, cps, path, in)
	out.w.Write(headerOf(in))
	return out, nil
}

func knownStatus(s string) bool {
	for _, st := range Statuses {
		if s == string(st) {
			return true
		}
	}
	return false
}

// proof is what vouches for the bytes of a CSV report: the checkpoints of
// a journal, or the one record of a finished report, which must then be
// exactly as long as it says (exact).
type proof struct {
	cps             []checkpoint
	exact           bool
	path, proofPath string
}

// readProven calls fn with every record of the CSV report p.path that p
// vouches for, after its header, which must be want, and returns what
// follows (for a journal: lines written after its last checkpoint). It
// fails when the file is shorter than its proof, or its bytes are not
// those the proof records (a *DamagedError), or a proven line cannot be
// read.
func readProven(p proof, want []string, fn func(line int64, rec []string) error) (tail, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return tail{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return tail{}, err
	}
	var last checkpoint
	if len(p.cps) > 0 {
		last = p.cps[len(p.cps)-1]
	}
	switch size := st.Size(); {
	case size < last.Size:
		return tail{}, &DamagedError{Path: p.path, Proof: p.proofPath,
			Detail: fmt.Sprintf("it lost %d bytes of its tail: it holds %d bytes, and %d bytes in %d lines were made durable", last.Size-size, size, last.Size, last.Lines)}
	case p.exact && size > last.Size:
		return tail{}, &DamagedError{Path: p.path, Proof: p.proofPath, Detail: fmt.Sprintf("it holds %d bytes more than the %d written", size-last.Size, last.Size)}
	}
	v := &verifier{r: io.NewSectionReader(f, 0, last.Size), cps: p.cps, path: p.path, proof: p.proofPath}
	if last.Size > 0 {
		err := readProvenRecords(v, p.path, want, fn)
		// A line that cannot be read is damage when the checkpoints after
		// it show it (a stray quote): the reading goes on to them. The
		// last checkpoint is checked when the reading reaches it.
		if _, derr := io.Copy(io.Discard, v); v.err != nil {
			return tail{}, v.err
		} else if err == nil {
			err = derr
		}
		if err != nil {
			return tail{}, err
		}
	}
	return readTail(f, last.Size, st.Size())
}

// readProvenRecords reads the CSV records of r, which must start with the
// header want and hold records of as many fields, and calls fn with each.
func readProvenRecords(r io.Reader, path string, want []string, fn func(line int64, rec []string) error) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = len(want)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil || strings.Join(header, ",") != strings.Join(want, ",") {
		return fmt.Errorf("%s is not a markimport report of this input (header %s, want %s)", path, readers.Quote(strings.Join(header, ",")), strings.Join(want, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if err := fn(int64(line), rec); err != nil {
			return err
		}
	}
}

// RowsWithStatus reads a finished report of a run of in (CSV or Parquet)
// and returns the rows it reported with status, e.g. the exists rows of an
// insert-only run, for verify to leave unchecked. The report's record of
// its input (its .meta.json) must name in as it is now (fp), since its row
// numbers mean nothing for another input, and prove the report's bytes.
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
	src, err := finalSource(path, MetaPath(path), m.Report, multi(in) != nil)
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
