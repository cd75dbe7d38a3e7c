package backup

import (
	"errors"
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

// resumeJournal continues the journal a killed run left: what its last
// durable checkpoint proves is believed (or, with force, what it holds),
// and what no checkpoint proves is dropped, durably.
func resumeJournal(files Files, force bool, log func(msg string, args ...any)) (*Writer, error) {
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
	sum, reprove, err := believedJournal(files, cp, force, log)
	if errors.Is(err, errStartAgain) {
		return startJournal(files, spill.NewHashSet(), os.O_TRUNC)
	}
	if err != nil {
		return nil, err
	}
	w, err := reopenJournal(files, sum, reprove)
	if err != nil {
		return nil, err
	}
	if torn && !reprove {
		if err := w.dropAfter(files.JournalCheck, w.ck, good); err != nil {
			w.close()
			return nil, err
		}
	}
	if err := w.knowJournalRows(sum.rows); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// errStartAgain says a journal holds no row: its run was killed before
// the header's checkpoint was durable, so it sent nothing.
var errStartAgain = errors.New("backup journal: no row, start again")

// believedJournal returns the part of the journal believed: what its last
// checkpoint cp proves, or, without a checkpoint or with force, what it
// holds (reprove: its check file must be written again). It returns
// errStartAgain for a journal without a row.
func believedJournal(files Files, cp *checkpoint, force bool, log func(msg string, args ...any)) (sum tally, reprove bool, err error) {
	if cp == nil {
		size := completeLength(files.Journal)
		t, err := scanCSV(files.Journal, size)
		switch {
		case size == 0 || err == nil && t.rows == 0:
			return tally{}, false, errStartAgain
		case !force:
			return tally{}, false, &ProofError{Path: files.Journal, Why: fmt.Sprintf("it holds rows but no check file %s proves them (it was removed, or the journal was copied without it)", files.JournalCheck)}
		case err != nil:
			return tally{}, false, fmt.Errorf("backup journal %s: %w", files.Journal, err)
		}
		return t, true, nil
	}
	sum, extra, err := proveCSV(files.Journal, *cp)
	if err != nil && !force {
		return tally{}, false, err
	}
	if err != nil {
		log("backup journal: taken as it is (--force) although it does not prove itself", "journal", files.Journal, "err", err)
		if sum, err = scanCSV(files.Journal, completeLength(files.Journal)); err != nil {
			return tally{}, false, fmt.Errorf("backup journal %s: %w", files.Journal, err)
		}
		return sum, true, nil
	}
	if extra > 0 {
		log("backup journal: rows written after its last checkpoint were dropped (never proven, so none of their requests was sent)", "journal", files.Journal, "bytes", extra)
	}
	return sum, false, nil
}

// reopenJournal opens the journal to append after the sum.size bytes
// believed, writing its check file again first when reprove says so; what
// was not proven goes, durably: the next checkpoint follows the last one
// believed, and a finished backup holds no unproven byte.
func reopenJournal(files Files, sum tally, reprove bool) (*Writer, error) {
	w := newWriter(files, nil, nil, spill.NewHashSet(), sum)
	w.proven = sum.checkpoint()
	if reprove {
		if err := durable.WriteFile(durable.Or(files.FS), files.JournalCheck, w.proven.record()); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	if err := w.open(os.O_APPEND); err != nil {
		return nil, err
	}
	if err := w.dropAfter(files.Journal, w.f, sum.size); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// knowJournalRows learns the conversations of the rows the journal holds
// (rows of them, as proven), so that they are never read back again.
func (w *Writer) knowJournalRows(rows int64) error {
	if rows == 0 {
		return nil
	}
	err := eachRow(w.files.Journal, "csv", func(r *Row) error { w.known.Add(w.key(r.From, r.Conv)); w.kept++; return nil })
	if err == nil && w.kept != rows {
		err = fmt.Errorf("backup journal %s: %d rows read as an input, %d proven", w.files.Journal, w.kept, rows)
	}
	return err
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
	if err := durable.Persist(f); err != nil {
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
		err = durable.Persist(f)
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
