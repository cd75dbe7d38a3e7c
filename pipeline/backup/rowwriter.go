package backup

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"sync"

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
	"markimport/readers"
)

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

func newWriter(files Files, f, ck durable.File, known *spill.HashSet, sum tally) *Writer {
	w := &Writer{files: files, fs: durable.Or(files.FS), parquet: readers.IsParquetName(files.Final), f: f, ck: ck, known: known, sum: sum, seed: maphash.MakeSeed()}
	w.cond = sync.NewCond(&w.mu)
	w.cw = csv.NewWriter(&w.pending)
	return w
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
		w.cw.Write(rows[i].fields())
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
	if err := durable.Persist(w.f); err != nil {
		return &WriteError{Path: w.files.Journal, Err: err}
	}
	cp := w.sum.checkpoint()
	if _, err := w.ck.Write(cp.record()); err != nil {
		return &WriteError{Path: w.files.JournalCheck, Err: err}
	}
	if err := durable.Persist(w.ck); err != nil {
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
