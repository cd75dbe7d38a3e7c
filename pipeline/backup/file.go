package backup

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/spill"
	"markimport/readers"
)

// Files names the files of a backup, and the file layer they are written
// through.
type Files struct {
	// Final is the finished backup: CSV, or Parquet by its name.
	Final string
	// Check proves a finished CSV backup (a Parquet one holds its proof).
	Check string
	// Journal holds the rows of a run in progress, or of one that was
	// killed: --resume continues it. It is a valid input too.
	Journal string
	// JournalCheck holds the journal's checkpoints.
	JournalCheck string
	// Lock is held by the run writing the backup.
	Lock string
	// FS is where every write goes; nil means the disk.
	FS durable.FS
}

// FilesOf names the files of the backup at path.
func FilesOf(path string) Files {
	journal := path + ".journal.csv"
	return Files{Final: path, Check: CheckOf(path), Journal: journal, JournalCheck: CheckOf(journal), Lock: path + ".lock"}
}

// All lists every file of the backup, with those written beside them
// before a rename, for the check that no output is an input or another
// output.
func (f Files) All() []string {
	var out []string
	for _, p := range []string{f.Final, f.Check, f.Journal, f.JournalCheck} {
		out = append(out, p, durable.TempName(p))
	}
	return append(out, f.Lock)
}

// CheckFresh refuses to start a backup over an existing one that holds a
// row: a backup is the only way back to the marks before an earlier run,
// and a run started over would read marks that run already changed. A
// backup without rows (its run changed nothing: stopped by --max-invalid,
// say) restores nothing and may be replaced.
func (f Files) CheckFresh() error {
	for _, p := range []string{f.Final, f.Journal} {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		format := ""
		if p == f.Journal {
			format = "csv"
		}
		if empty, err := noRows(p, format); err != nil || !empty {
			return fmt.Errorf("the backup %s exists: a backup is never replaced (it may be the only way back to the marks before the run that wrote it); to continue that run pass --resume, otherwise name a new --backup file", p)
		}
	}
	return nil
}

// noRows reports whether the backup at path holds no row: a header alone,
// or nothing (a journal killed before its header was durable).
func noRows(path, format string) (bool, error) {
	if st, err := os.Stat(path); err == nil && st.Size() == 0 {
		return true, nil
	}
	errFound := errors.New("found")
	err := eachRow(path, format, func(*Row) error { return errFound })
	if err == errFound {
		return false, nil
	}
	var ie *readers.InputError
	if errors.As(err, &ie) && errors.Is(ie.Err, readers.ErrNoRows) {
		return true, nil
	}
	return err == nil, err
}

// WriteError is a backup journal (or its check file) that could not be
// written or made durable. Requests may leave only once the rows of their
// conversations are durable, so the run stops sending: Stopped names the
// backup as the reason.
type WriteError struct {
	Path string
	Err  error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("cannot write the backup journal %s: %v", e.Path, e.Err)
}

// Unwrap is the file layer's error.
func (e *WriteError) Unwrap() error { return e.Err }

// Stopped is how a summary says why the run stopped: "backup".
func (e *WriteError) Stopped() string { return "backup" }

// Writer is the backup of one run as it is written: rows are appended to
// the journal and Write returns once they are durable and proven by a
// durable checkpoint.
type Writer struct {
	files   Files
	fs      durable.FS
	parquet bool // the backup is Parquet (its journal CSV)
	seed    maphash.Seed
	known   *spill.HashSet // conversations with a row before this run
	kept    int64          // rows before this run

	mu          sync.Mutex
	cond        *sync.Cond
	f           durable.File // the journal, appended to
	ck          durable.File // its checkpoints, appended to
	sum         tally        // what f holds; only the one persisting touches it
	proven      checkpoint   // the last checkpoint made durable
	pending     bytes.Buffer // rows not yet written
	pendingRows int64
	cw          *csv.Writer // into pending
	seq         int64       // batches appended to pending
	synced      int64       // batches durable
	syncing     bool
	err         error
	rows        int64
	closed      bool
}

// Create starts the backup of a fresh run: an empty journal, its header
// durable and proven. It refuses an existing backup or journal
// (CheckFresh).
func Create(files Files) (*Writer, error) {
	if err := files.CheckFresh(); err != nil {
		return nil, err
	}
	fsys := durable.Or(files.FS)
	// What CheckFresh let through holds no row: the journal goes, and the
	// backup itself is replaced when this run ends.
	for _, p := range []string{files.Journal, files.JournalCheck} {
		if err := durable.Remove(fsys, p); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	if _, err := os.Lstat(files.Final); errors.Is(err, os.ErrNotExist) {
		// A check left by a run killed while it finished, without its
		// backup.
		if err := durable.Remove(fsys, files.Check); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	w, err := startJournal(files, spill.NewHashSet(), os.O_EXCL)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// startJournal creates the journal (flag: os.O_EXCL, or os.O_TRUNC over
// an empty one) and its check file, writes the header and its checkpoint,
// and makes the two files' names durable.
func startJournal(files Files, known *spill.HashSet, flag int) (*Writer, error) {
	fsys := durable.Or(files.FS)
	f, err := fsys.OpenFile(files.Journal, os.O_CREATE|os.O_WRONLY|flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	ck, err := fsys.OpenFile(files.JournalCheck, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		f.Close()
		fsys.Remove(files.Journal)
		return nil, fmt.Errorf("backup: %w", err)
	}
	w := newWriter(files, f, ck, known, newTally())
	fail := func(err error) (*Writer, error) {
		f.Close()
		ck.Close()
		fsys.Remove(files.Journal)
		fsys.Remove(files.JournalCheck)
		return nil, err
	}
	if err := w.persist([]byte(headerLine), 0); err != nil {
		return fail(err)
	}
	if err := fsys.SyncDir(filepath.Dir(files.Journal)); err != nil {
		return fail(&WriteError{Path: files.Journal, Err: err})
	}
	return w, nil
}

// Resume continues the backup of an interrupted run: its journal, left by
// a run that was killed, or else the finished backup, whose rows are
// copied into a new journal. Every conversation already in it is known
// (Has), so that it is never read again: its row holds the marks from
// before the first change.
//
// The journal is believed as far as its last checkpoint: what follows was
// never proven, so no request left on its account, and it is dropped. A
// journal or finished backup that does not prove itself (it lost its end,
// a row was changed, its check file is missing) is refused with a
// *ProofError, unless force: then its complete rows are taken as they
// are, and proven from now on.
func Resume(files Files, force bool, log func(msg string, args ...any)) (*Writer, error) {
	if log == nil {
		log = func(string, ...any) {}
	}
	if _, err := os.Lstat(files.Journal); err == nil {
		return resumeJournal(files, force, log)
	}
	if _, err := os.Lstat(files.Final); err != nil {
		return nil, fmt.Errorf("--resume: there is no backup %s (nor its journal %s) to continue: the run being resumed wrote none, so a backup started now could record marks that run already changed; resume without --backup, or start a new run with a new backup",
			files.Final, files.Journal)
	}
	return resumeFinished(files, force, log)
}

// resumeJournal continues the journal a killed run left.
func resumeJournal(files Files, force bool, log func(msg string, args ...any)) (*Writer, error) {
	fsys := durable.Or(files.FS)
	cp, good, err := readCheckpoints(files.JournalCheck)
	if err != nil {
		if !force {
			return nil, &ProofError{Path: files.Journal, Why: fmt.Sprintf("its check file is damaged: %v", err)}
		}
		cp = nil
	}
	torn := false
	if st, err := os.Stat(files.JournalCheck); err == nil && st.Size() > good && cp != nil {
		torn = true
		log("backup journal: a checkpoint torn by the interruption was dropped (it never became durable, so no request left on its account)", "check", files.JournalCheck)
	}
	var sum tally
	var extra int64
	reprove := false
	switch {
	case cp == nil:
		size := completeLength(files.Journal)
		t, err := scanCSV(files.Journal, size)
		switch {
		case size == 0 || err == nil && t.rows == 0:
			// Killed before the header's checkpoint was durable: the
			// run sent nothing. Start the journal again.
			return startJournal(files, spill.NewHashSet(), os.O_TRUNC)
		case !force:
			return nil, &ProofError{Path: files.Journal, Why: fmt.Sprintf("it holds rows but no check file %s proves them (it was removed, or the journal was copied without it)", files.JournalCheck)}
		case err != nil:
			return nil, fmt.Errorf("backup journal %s: %w", files.Journal, err)
		}
		sum, reprove = t, true
	default:
		sum, extra, err = proveCSV(files.Journal, *cp)
		if err != nil && !force {
			return nil, err
		}
		if err != nil {
			log("backup journal: taken as it is (--force) although it does not prove itself", "journal", files.Journal, "err", err)
			if sum, err = scanCSV(files.Journal, completeLength(files.Journal)); err != nil {
				return nil, fmt.Errorf("backup journal %s: %w", files.Journal, err)
			}
			extra, reprove = 0, true
		}
	}
	if extra > 0 {
		log("backup journal: rows written after its last checkpoint were dropped (never proven, so none of their requests was sent)", "journal", files.Journal, "bytes", extra)
	}
	w := newWriter(files, nil, nil, spill.NewHashSet(), sum)
	w.proven = sum.checkpoint()
	if reprove {
		if err := durable.WriteFile(fsys, files.JournalCheck, w.proven.record()); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	if err := w.open(os.O_APPEND); err != nil {
		return nil, err
	}
	// What was not proven goes, durably: the next checkpoint follows the
	// last one believed, and a finished backup holds no unproven byte.
	if err := w.dropAfter(files.Journal, w.f, sum.size); err != nil {
		w.close()
		return nil, err
	}
	if torn && !reprove {
		if err := w.dropAfter(files.JournalCheck, w.ck, good); err != nil {
			w.close()
			return nil, err
		}
	}
	if sum.rows > 0 {
		err := eachRow(files.Journal, "csv", func(r *Row) error { w.known.Add(w.key(r.From, r.Conv)); w.kept++; return nil })
		if err == nil && w.kept != sum.rows {
			err = fmt.Errorf("backup journal %s: %d rows read as an input, %d proven", files.Journal, w.kept, sum.rows)
		}
		if err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

// dropAfter truncates the file f (at path) to size, when it is longer,
// and makes that durable.
func (w *Writer) dropAfter(path string, f durable.File, size int64) error {
	st, err := f.Stat()
	if err != nil || st.Size() <= size {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return &WriteError{Path: path, Err: err}
	}
	if err := f.Sync(); err != nil {
		return &WriteError{Path: path, Err: err}
	}
	return nil
}

// resumeFinished copies the finished backup into a new journal, renamed
// into place once durable and proven; the backup itself stays as it is
// until the run ends.
func resumeFinished(files Files, force bool, log func(msg string, args ...any)) (*Writer, error) {
	fsys := durable.Or(files.FS)
	if err := proveFinal(files); err != nil {
		if !force {
			return nil, err
		}
		log("backup: continued as it is (--force) although it does not prove itself", "backup", files.Final, "err", err)
	}
	known := spill.NewHashSet()
	tmp := durable.TempName(files.Journal)
	f, err := fsys.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	w := newWriter(files, f, nil, known, newTally())
	fail := func(err error) (*Writer, error) {
		f.Close()
		fsys.Remove(tmp)
		return nil, fmt.Errorf("backup %s: %w", files.Final, err)
	}
	w.pending.WriteString(bom)
	w.cw.Write(Header)
	err = eachRow(files.Final, "", func(r *Row) error {
		known.Add(w.key(r.From, r.Conv))
		w.kept++
		w.cw.Write(r.Record())
		if w.pending.Len() > 1<<20 {
			return w.drain()
		}
		return nil
	})
	if err == nil {
		err = w.drain()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	w.sum.rows = w.kept
	w.proven = w.sum.checkpoint()
	// The check first: a journal never stands without its proof.
	if err := durable.WriteFile(fsys, files.JournalCheck, w.proven.record()); err != nil {
		return fail(err)
	}
	if err := durable.Move(fsys, tmp, files.Journal); err != nil {
		return fail(err)
	}
	if err := w.open(os.O_APPEND); err != nil {
		return nil, err
	}
	return w, nil
}

// proveFinal checks the finished backup against its proof.
func proveFinal(files Files) error {
	if readers.IsParquetName(files.Final) {
		claimed, err := proveParquet(files.Final)
		if err == nil && !claimed {
			err = &ProofError{Path: files.Final, Why: fmt.Sprintf("it lacks the checkpoint markimport writes in a Parquet backup's metadata (%s): it was rewritten by another tool, or is not a markimport backup", ParquetMetaKey)}
		}
		return err
	}
	cp, _, err := readCheckpoints(files.Check)
	switch {
	case err != nil:
		return &ProofError{Path: files.Final, Why: fmt.Sprintf("its check file is damaged: %v", err)}
	case cp == nil:
		return &ProofError{Path: files.Final, Why: fmt.Sprintf("its check file %s is missing", files.Check)}
	}
	_, extra, err := proveCSV(files.Final, *cp)
	if err == nil && extra > 0 {
		err = &ProofError{Path: files.Final, Why: fmt.Sprintf("it holds %d bytes after the %d rows its check %s proves: rows were added", extra, cp.Rows, files.Check)}
	}
	return err
}

// open opens the journal and its check file for appending.
func (w *Writer) open(flag int) error {
	f, err := w.fs.OpenFile(w.files.Journal, os.O_WRONLY|flag, 0o644)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	ck, err := w.fs.OpenFile(w.files.JournalCheck, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		f.Close()
		return fmt.Errorf("backup: %w", err)
	}
	w.f, w.ck = f, ck
	return nil
}

// completeLength is the length of the complete records at the start of
// the CSV file at path (a record torn by a kill is not counted).
func completeLength(path string) int64 {
	size, _, err := completeRecords(path)
	if err != nil {
		return 0
	}
	return size
}

func newWriter(files Files, f, ck durable.File, known *spill.HashSet, sum tally) *Writer {
	w := &Writer{files: files, fs: durable.Or(files.FS), parquet: readers.IsParquetName(files.Final), f: f, ck: ck, known: known, sum: sum, seed: maphash.MakeSeed()}
	w.cond = sync.NewCond(&w.mu)
	w.cw = csv.NewWriter(&w.pending)
	return w
}

// key is a conversation's hash: 64 bits, so that a backup of tens of
// millions of rows is known in a few hundred megabytes (the chance that two
// of 10M conversations share one is below 1 in 300,000). The type is part
// of it: a c2c and a group conversation may have the same peer name.
func (w *Writer) key(from string, c mark.Conversation) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	h.WriteString(from)
	h.WriteByte(0)
	h.WriteByte(c.Type)
	h.WriteString(c.Peer)
	return h.Sum64()
}

// Has reports whether the conversation had a row before this run (a
// resumed run): it is not read nor written again. Safe for concurrent use.
func (w *Writer) Has(from string, c mark.Conversation) bool {
	return w.kept > 0 && w.known.Has(w.key(from, c))
}

// Journal is the journal's path.
func (w *Writer) Journal() string { return w.files.Journal }

// Kept is the number of rows the backup held before this run.
func (w *Writer) Kept() int64 { return w.kept }

// Rows is the number of rows this run wrote.
func (w *Writer) Rows() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rows
}

// Err is the error that stopped the journal, if one did: nothing more is
// written, and the journal stays for --resume.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write appends rows and returns once they are durable and proven by a
// durable checkpoint. Writes from several goroutines share the syncs:
// while one is in progress, the rows of the others gather for the next. A
// failure to write or sync is a *WriteError, returned by every later
// Write too.
func (w *Writer) Write(rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("backup: closed")
	}
	for i := range rows {
		w.cw.Write(rows[i].Record())
	}
	w.cw.Flush()
	w.pendingRows += int64(len(rows))
	w.rows += int64(len(rows))
	w.seq++
	mine := w.seq
	for w.synced < mine && w.err == nil {
		if w.syncing {
			w.cond.Wait()
			continue
		}
		w.syncing = true
		data := bytes.Clone(w.pending.Bytes())
		n := w.pendingRows
		w.pending.Reset()
		w.pendingRows = 0
		upto := w.seq
		w.mu.Unlock()
		err := w.persist(data, n)
		w.mu.Lock()
		w.syncing = false
		if err != nil {
			w.err = err
		} else {
			w.synced = upto
		}
		w.cond.Broadcast()
	}
	return w.err
}

// persist appends data, holding n rows, to the journal and makes it
// durable; then appends the checkpoint of what the journal now holds to
// its check file and makes that durable. Only the one goroutine syncing
// calls it.
func (w *Writer) persist(data []byte, n int64) error {
	k, err := w.f.Write(data)
	w.sum.Write(data[:k])
	if err != nil {
		return &WriteError{Path: w.files.Journal, Err: err}
	}
	w.sum.rows += n
	if err := w.f.Sync(); err != nil {
		return &WriteError{Path: w.files.Journal, Err: err}
	}
	cp := w.sum.checkpoint()
	if _, err := w.ck.Write(cp.record()); err != nil {
		return &WriteError{Path: w.files.JournalCheck, Err: err}
	}
	if err := w.ck.Sync(); err != nil {
		return &WriteError{Path: w.files.JournalCheck, Err: err}
	}
	w.proven = cp
	return nil
}

// drain writes what is pending to the file being filled, unsynced (a
// copy of a finished backup, made durable as a whole).
func (w *Writer) drain() error {
	w.cw.Flush()
	if _, err := w.f.Write(w.pending.Bytes()); err != nil {
		return err
	}
	w.sum.Write(w.pending.Bytes())
	w.pending.Reset()
	return nil
}

// Finish closes the journal and makes it the backup: for CSV, its check
// written, then the journal renamed into place; for Parquet, converted
// with its checkpoint in the file's metadata. The backup is then complete
// for the rows the run sent; a run interrupted and resumed later
// continues it. After a write error nothing is finished: the journal
// stays for --resume.
func (w *Writer) Finish() error {
	if err := w.close(); err != nil {
		return err
	}
	files := w.files
	if w.parquet {
		if err := writeParquet(w.fs, files.Journal, files.Final, w.proven); err != nil {
			return fmt.Errorf("write the Parquet backup %s: %w (the CSV journal %s holds the same rows and is a valid input)", files.Final, err, files.Journal)
		}
	} else {
		// The check before the rename: a backup never stands without its
		// proof. A crash between the two leaves the journal, which
		// --resume continues.
		if err := durable.WriteFile(w.fs, files.Check, w.proven.record()); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := durable.Move(w.fs, files.Journal, files.Final); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	for _, p := range []string{files.Journal, files.JournalCheck} {
		if err := durable.Remove(w.fs, p); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	return nil
}

// Keep closes the journal of an interrupted run and leaves it where it is,
// a valid input as it is, for --resume to continue: no conversion to
// Parquet delays the exit.
func (w *Writer) Keep() error { return w.close() }

// Abandon closes the journal of a run that stopped before sending
// anything (an input error): a fresh journal holding no row is removed,
// so that every existing output is as it was; any other stays for
// --resume.
func (w *Writer) Abandon() error {
	err := w.close()
	if w.kept == 0 && w.Rows() == 0 {
		for _, p := range []string{w.files.Journal, w.files.JournalCheck} {
			if rerr := durable.Remove(w.fs, p); rerr != nil && err == nil {
				err = rerr
			}
		}
	}
	return err
}

func (w *Writer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	for w.syncing {
		w.cond.Wait()
	}
	if w.err == nil && w.pending.Len() > 0 {
		w.err = w.persist(bytes.Clone(w.pending.Bytes()), w.pendingRows)
		w.pending.Reset()
	}
	err := w.err
	for _, f := range []durable.File{w.f, w.ck} {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = &WriteError{Path: f.Name(), Err: cerr}
		}
	}
	return err
}

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
		c, bad := plan.Validate(rec)
		if bad != nil {
			return fmt.Errorf("backup %s row %d is not a valid row (%s): it was not written by markimport, or was damaged", path, rec.Row, bad.Message)
		}
		row := Row{From: c.From, Conv: c.Conv, Set: c.Set, Clear: c.Clear, Custom: c.Custom, Opt: c.Opt}
		if err := fn(&row); err != nil {
			return err
		}
	}
}
