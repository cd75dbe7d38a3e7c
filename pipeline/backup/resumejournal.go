package backup

import (
	"fmt"
	"os"

	"markimport/pipeline/durable"
	"markimport/pipeline/spill"
	"markimport/readers"
)

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
	w.cw.Write(header)
	err = eachRow(files.Final, "", func(r *Row) error {
		known.Add(w.key(r.From, r.Conv))
		w.kept++
		w.cw.Write(r.fields())
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
			err = &ProofError{Path: files.Final, Why: fmt.Sprintf("it lacks the checkpoint markimport writes in a Parquet backup's metadata (%s): it was rewritten by another tool, or is not a markimport backup", parquetMetaKey)}
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

// completeLength is the length of the complete records at the start of
// the CSV file at path (a record torn by a kill is not counted).
func completeLength(path string) int64 {
	size, _, err := completeRecords(path)
	if err != nil {
		return 0
	}
	return size
}
