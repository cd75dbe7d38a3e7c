package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"markimport/pipeline/durable"
	"markimport/pipeline/spill"
	"markimport/readers"
)

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
