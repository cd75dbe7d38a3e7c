package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"markimport/pipeline/durable"
	"markimport/readers"
)

// resumeCSV continues the CSV journal at path in place, proven by its
// checkpoints: see resumeInto.
func resumeCSV(path string, in *readers.Input) (*CSV, *Done, error) {
	f := Files{Journal: path, Checkpoints: checkpointsOf(path)}
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
	return source{path: files.Journal, read: func(want []string, fn func(int64, []string) error) ([]string, error) {
		return readJournal(files, want, fn)
	}}
}

// readJournal calls fn with each line of the journal of files that its
// checkpoints prove (see journalSource), and says what it dropped
// unproven.
func readJournal(files Files, want []string, fn func(int64, []string) error) ([]string, error) {
	path := files.Journal
	cps, note, err := readCheckpoints(files.Checkpoints)
	pr := proof{cps: cps, path: path, proofPath: files.Checkpoints}
	var notes []string
	pendingPath := checkpointsOf(files.resumeTemp())
	if pending, ok := pendingCheckpoints(path, pendingPath); ok {
		// The rename the crash interrupted is done first: the rewrite
		// reuses the temporary name.
		if err := durable.Move(files.FS, pendingPath, files.Checkpoints); err != nil {
			return nil, &WriteError{Path: files.Checkpoints, Err: err}
		}
		pr.cps, err, note = pending, nil, ""
		notes = append(notes, fmt.Sprintf("%s is the journal an interrupted --resume rewrote: its checkpoints were renamed into place", path))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &damagedError{Path: path, Detail: fmt.Sprintf("it has no checkpoints to prove it (%s does not exist)", files.Checkpoints)}
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
		return source{}, &damagedError{Path: path, Detail: fmt.Sprintf("%s holds no size and checksum to prove it (it was written by an older markimport)", meta)}
	}
	crc, err := strconv.ParseUint(check.CRC32C, 16, 32)
	if err != nil || len(check.CRC32C) != 8 || check.Size < 0 || check.Lines < 0 || check.Rows < 0 {
		return source{}, &damagedError{Path: meta, Detail: fmt.Sprintf("its record of the report %+v is not well formed", *check)}
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
func resumeInto(files Files, src source, in *readers.Input) (*CSV, *Done, error) {
	rw := &rewrite{fs: durable.Or(files.FS), tmp: files.resumeTemp(), src: src.path, in: in, done: newDone(in)}
	rw.done.journal = files.Journal
	// The proof is read before the temporary checkpoints are truncated
	// (the rewrite starts at the first ok line): they may be what proves
	// src.
	notes, err := src.read(headerOf(in), rw.keep)
	if err == nil && rw.out == nil {
		err = rw.start()
	}
	if err != nil {
		rw.discard()
		var de *damagedError
		if errors.As(err, &de) {
			return nil, nil, fmt.Errorf("cannot resume: %w; %s", err, overwriteHint)
		}
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	rw.done.Notes = notes
	if err := rw.replace(files); err != nil {
		rw.out.closeFiles()
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	return rw.out, rw.done, nil
}

// rewrite is the new journal of a resumed run, written under a temporary
// name: the ok lines of the report it resumes, with their rows.
type rewrite struct {
	fs   durable.FS
	tmp  string // the new journal until it replaces the journal
	src  string // the report read, for messages
	in   *readers.Input
	done *Done
	out  *CSV // nil until the first ok line
}

// keep takes one line of the report: an ok line is kept, with its row;
// any other is dropped. A line that is not a report line is an error.
func (rw *rewrite) keep(line int64, rec []string) error {
	all := rec
	file := ""
	if multi(rw.in) != nil {
		file, rec = rec[0], rec[1:]
	}
	row, err := strconv.ParseInt(rec[0], 10, 64)
	if err != nil {
		return fmt.Errorf("line %d of %s: row %s is not a number", line, rw.src, readers.Quote(rec[0]))
	}
	if !knownStatus(rec[4]) {
		return fmt.Errorf("line %d of %s: status %s is not one markimport writes", line, rw.src, readers.Quote(rec[4]))
	}
	if rec[4] != string(StatusOK) {
		return nil
	}
	if err := rw.done.add(file, row, rec[1], rec[2], rec[3]); err != nil {
		return fmt.Errorf("line %d of %s: %w", line, rw.src, err)
	}
	if rw.out == nil {
		if err := rw.start(); err != nil {
			return err
		}
	}
	return rw.out.fail(rw.out.w.Write(all))
}

// start creates the new journal and its checkpoints, its header written.
func (rw *rewrite) start() error {
	f, err := durable.CreateJournal(rw.fs, rw.tmp)
	if err != nil {
		return &WriteError{Path: rw.tmp, Err: err}
	}
	cps, err := createCheckpoints(rw.fs, checkpointsOf(rw.tmp))
	if err != nil {
		f.Close()
		return err
	}
	rw.out = newCSV(f, cps, rw.tmp, rw.in)
	rw.out.w.Write(headerOf(rw.in))
	return nil
}

// discard drops the new journal and its checkpoints.
func (rw *rewrite) discard() {
	if rw.out != nil {
		rw.out.closeFiles()
	}
	rw.fs.Remove(rw.tmp)
	rw.fs.Remove(checkpointsOf(rw.tmp))
}

// replace makes the new journal durable and renames it, then its
// checkpoints, into place. The journal goes first: a crash between the two
// renames leaves the new journal beside the old checkpoints, and the new
// checkpoints under their temporary name, which journalSource then takes.
func (rw *rewrite) replace(files Files) error {
	if err := rw.out.flushSync(); err != nil {
		return err
	}
	if err := durable.Move(rw.fs, rw.tmp, files.Journal); err != nil {
		return &WriteError{Path: files.Journal, Err: err}
	}
	rw.out.renamed(files.Journal)
	if err := durable.Move(rw.fs, checkpointsOf(rw.tmp), files.Checkpoints); err != nil {
		return &WriteError{Path: files.Checkpoints, Err: err}
	}
	return nil
}
