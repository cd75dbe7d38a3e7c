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
	"strings"
	"sync"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/spill"
	"markimport/readers"
)

// Files names the files of a backup.
type Files struct {
	// Final is the finished backup: CSV, or Parquet by its name.
	Final string
	// Journal holds the rows of a run in progress, or of one that was
	// killed: --resume continues it. It is a valid input too.
	Journal string
	// Lock is held by the run writing the backup.
	Lock string
}

// FilesOf names the files of the backup at path.
func FilesOf(path string) Files {
	return Files{Final: path, Journal: path + ".journal.csv", Lock: path + ".lock"}
}

// All lists every file of the backup, for the check that no output is an
// input or another output.
func (f Files) All() []string {
	return []string{f.Final, f.Final + ".tmp", f.Journal, f.Journal + ".tmp", f.Lock}
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

// Writer is the backup of one run as it is written: rows are appended to
// the journal and Write returns once they are durable.
type Writer struct {
	files   Files
	parquet bool // the backup is Parquet (its journal CSV)
	seed    maphash.Seed
	known   *spill.HashSet // conversations with a row before this run
	kept    int64          // rows before this run

	mu      sync.Mutex
	cond    *sync.Cond
	f       *os.File
	pending bytes.Buffer // rows not yet written
	cw      *csv.Writer  // into pending
	seq     int64        // batches appended to pending
	synced  int64        // batches durable
	syncing bool
	err     error
	rows    int64
	closed  bool
}

// Create starts the backup of a fresh run: an empty journal, its header
// durable. It refuses an existing backup or journal (CheckFresh).
func Create(files Files) (*Writer, error) {
	if err := files.CheckFresh(); err != nil {
		return nil, err
	}
	// What CheckFresh let through holds no row: the journal goes, and the
	// backup itself is replaced when this run ends.
	if err := os.Remove(files.Journal); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backup: %w", err)
	}
	f, err := os.OpenFile(files.Journal, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	w := newWriter(files, f, spill.NewHashSet())
	w.cw.Write(Header)
	w.cw.Flush()
	if err := w.commit(); err != nil {
		f.Close()
		os.Remove(files.Journal)
		return nil, err
	}
	if err := syncDir(files.Journal); err != nil {
		f.Close()
		os.Remove(files.Journal)
		return nil, err
	}
	return w, nil
}

// Resume continues the backup of an interrupted run: its journal, left by
// a run that was killed, or else the finished backup, whose rows are copied
// into a new journal. Every conversation already in it is known (Has), so
// that it is never read again: its row holds the marks from before the
// first change. A row torn by the kill (never made durable, so its
// requests never left) is dropped.
func Resume(files Files, log func(msg string, args ...any)) (*Writer, error) {
	known := spill.NewHashSet()
	w := newWriter(files, nil, known)
	add := func(from string, c mark.Conversation) { known.Add(w.key(from, c)); w.kept++ }
	if _, err := os.Lstat(files.Journal); err == nil {
		size, dropped, err := completeRecords(files.Journal)
		if err != nil {
			return nil, err
		}
		if dropped > 0 && log != nil {
			log("backup journal: a row torn by the interruption was dropped (it was never made durable, so no request changed its conversation)", "journal", files.Journal, "bytes", dropped)
		}
		if err := os.Truncate(files.Journal, size); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if size > 0 {
			if err := eachRow(files.Journal, "csv", func(r *Row) error { add(r.From, r.Conv); return nil }); err != nil {
				return nil, err
			}
		}
		f, err := os.OpenFile(files.Journal, os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		w.f = f
		if size == 0 {
			// Killed before even the header was durable.
			w.cw.Write(Header)
			w.cw.Flush()
			if err := w.commit(); err != nil {
				f.Close()
				return nil, err
			}
		}
		return w, nil
	}
	if _, err := os.Lstat(files.Final); err != nil {
		return nil, fmt.Errorf("--resume: there is no backup %s (nor its journal %s) to continue: the run being resumed wrote none, so a backup started now could record marks that run already changed; resume without --backup, or start a new run with a new backup",
			files.Final, files.Journal)
	}
	// The finished backup's rows go to a new journal, renamed into place
	// once durable; the backup itself stays as it is until the run ends.
	tmp := files.Journal + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	w.f = f
	w.cw.Write(Header)
	err = eachRow(files.Final, "", func(r *Row) error {
		add(r.From, r.Conv)
		w.cw.Write(r.Record())
		if w.pending.Len() > 1<<20 {
			w.cw.Flush()
			if _, err := w.f.Write(w.pending.Bytes()); err != nil {
				return err
			}
			w.pending.Reset()
		}
		return nil
	})
	w.cw.Flush()
	if err == nil {
		err = w.commit()
	}
	if err == nil {
		err = os.Rename(tmp, files.Journal)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("backup %s: %w", files.Final, err)
	}
	return w, nil
}

func newWriter(files Files, f *os.File, known *spill.HashSet) *Writer {
	w := &Writer{files: files, parquet: readers.IsParquetName(files.Final), f: f, known: known, seed: maphash.MakeSeed()}
	w.cond = sync.NewCond(&w.mu)
	w.cw = csv.NewWriter(&w.pending)
	return w
}

// key is a conversation's hash: 64 bits, so that a backup of tens of
// millions of rows is known in a few hundred megabytes (the chance that two
// of 10M conversations share one is below 1 in 300,000).
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

// Write appends rows and returns once they are durable. Writes from
// several goroutines share one fsync: while one is in progress, the rows
// of the others gather for the next.
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
		w.pending.Reset()
		upto := w.seq
		w.mu.Unlock()
		_, err := w.f.Write(data)
		if err == nil {
			err = w.f.Sync()
		}
		w.mu.Lock()
		w.syncing = false
		if err != nil {
			w.err = fmt.Errorf("backup journal %s: %w", w.files.Journal, err)
		} else {
			w.synced = upto
		}
		w.cond.Broadcast()
	}
	return w.err
}

// commit writes what is pending and makes it durable (single-threaded use).
func (w *Writer) commit() error {
	if _, err := w.f.Write(w.pending.Bytes()); err != nil {
		return fmt.Errorf("backup journal %s: %w", w.f.Name(), err)
	}
	w.pending.Reset()
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("backup journal %s: %w", w.f.Name(), err)
	}
	return nil
}

// Finish closes the journal and makes it the backup: renamed into place
// for CSV, converted for Parquet. The backup is then complete for the rows
// the run sent; a run interrupted and resumed later continues it.
func (w *Writer) Finish() error {
	if err := w.close(); err != nil {
		return err
	}
	if readers.IsParquetName(w.files.Final) {
		if err := writeParquet(w.files.Journal, w.files.Final); err != nil {
			return fmt.Errorf("write the Parquet backup %s: %w (the CSV journal %s holds the same rows and is a valid input)", w.files.Final, err, w.files.Journal)
		}
		return os.Remove(w.files.Journal)
	}
	if err := os.Rename(w.files.Journal, w.files.Final); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return syncDir(w.files.Final)
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
		if rerr := os.Remove(w.files.Journal); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
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
	err := w.err
	if err == nil && w.pending.Len() > 0 {
		err = w.commit()
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("backup journal %s: %w", w.files.Journal, cerr)
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

// syncDir makes a file's creation or renaming durable.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
		return err
	}
	return nil
}
