package report

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"markimport/pipeline/durable"
	"markimport/readers"
)

// A report is precious: it is the audit trail of a migration and the state
// --resume continues from. So it is never written in place. While a run
// goes on, its lines go to a CSV journal beside the report, appended as
// results arrive and made durable every second (each time with a
// checkpoint that lets --resume prove it), which a crash leaves behind and
// --resume continues. A fresh run's journal starts under a temporary name
// and takes the journal's name only once the input has been read without
// an input error (or the first request is sent), so that a mistake leaves
// an existing journal alone; when the run ends the journal becomes the
// report (renamed, or converted to Parquet), and only then is an existing
// report replaced.

// Journal is the report of one run as it is written.
type Journal struct {
	files     Files
	rep       *CSV
	digest    *InputDigest // the input's; nil for a dry run or standard input
	committed bool         // the journal has its name (not NewJournal)
	// digestDone, when not nil, is closed once digest (or digestErr) is
	// known: the digest computed while the run reads the input.
	digestDone chan struct{}
	digestErr  error
}

// StartJournal begins the report of a fresh run: a new journal, its header
// already durable, under the temporary name. digest is the input's,
// recorded for --resume (nil: none, for a dry run).
func StartJournal(files Files, digest *InputDigest, in *readers.Input) (*Journal, error) {
	rep, err := createCSV(files.FS, files.NewJournal, in)
	if err != nil {
		return nil, err
	}
	return &Journal{files: files, rep: rep, digest: digest}, nil
}

// StartJournalDigesting is StartJournal with the input's digest computed
// by digestInput in a goroutine of its own, while the run reads the input
// (digesting a large input reads it whole, which took seconds before the
// run began): the journal waits for it when it is committed, which
// records it. An error of digestInput is Commit's error, as it returned
// it.
func StartJournalDigesting(files Files, digestInput func() (InputDigest, error), in *readers.Input) (*Journal, error) {
	j, err := StartJournal(files, nil, in)
	if err != nil {
		return nil, err
	}
	j.digestDone = make(chan struct{})
	go func() {
		defer close(j.digestDone)
		digest, err := digestInput()
		if err != nil {
			j.digestErr = err
			return
		}
		j.digest = &digest
	}()
	return j, nil
}

// ResumeJournal continues the report of an earlier run with the same input
// (digest): the journal a killed run left, or else the finished report, each
// first proved against what recorded it (the journal's checkpoints, the
// report's .meta.json). The lines of rows that ended ok are kept (their
// rows are not sent again) and every other line is dropped (those rows are
// planned and reported anew); it returns the ok rows, which the run checks
// against the input, and in Done.Notes what it dropped unproven.
func ResumeJournal(files Files, digest InputDigest, in *readers.Input) (*Journal, *Done, error) {
	src, err := resumeSource(files, digest, in)
	if err != nil {
		return nil, nil, err
	}
	rep, done, err := resumeInto(files, src, in)
	if err != nil {
		return nil, nil, err
	}
	if files.Mirror != nil {
		files.Mirror.Resumed(rep.written().Size)
		if err := rep.mirrorTo(files.Mirror); err != nil {
			rep.closeFiles()
			return nil, nil, err
		}
	}
	return &Journal{files: files, rep: rep, digest: &digest, committed: true}, done, nil
}

// resumeSource is what a resumed run continues: the journal when there is
// one, else the finished report, each once its record names the input of
// digest. Resuming a finished report records its input beside the
// journal first: a journal without it would not be resumable.
func resumeSource(files Files, digest InputDigest, in *readers.Input) (source, error) {
	final, journal := files.Exists()
	if !journal && !final {
		return source{}, fmt.Errorf("nothing to resume: %s does not exist", files.Final)
	}
	if journal {
		if _, err := checkMeta(files.JournalMeta, files.Journal, digest); err != nil {
			return source{}, err
		}
		return journalSource(files), nil
	}
	m, err := checkMeta(files.Meta, files.Final, digest)
	if err != nil {
		return source{}, err
	}
	src, err := finalSource(files.Final, files.Meta, m.Report, multi(in) != nil)
	if err != nil {
		return source{}, fmt.Errorf("cannot resume: %w; %s", err, overwriteHint)
	}
	if err := writeJournalMeta(files.FS, files.JournalMeta, digest); err != nil {
		return source{}, &WriteError{Path: files.JournalMeta, Err: err}
	}
	return src, nil
}

// Writer is where the run writes its lines.
func (j *Journal) Writer() *CSV { return j.rep }

// Sync makes the lines written so far durable.
func (j *Journal) Sync() error { return j.rep.flushSync() }

// Commit gives a fresh run's journal its name, replacing the journal of
// an earlier run (--overwrite): the input has been read without an input
// error, or a request is about to be sent. It does nothing the second
// time. An error writing a file is a *WriteError.
func (j *Journal) Commit() error {
	if j.committed {
		return nil
	}
	if err := j.waitDigest(); err != nil {
		return err
	}
	if err := j.rep.flushSync(); err != nil {
		return err
	}
	// No moment may pair the new journal with an old record of its input,
	// or with the old journal's checkpoints. A crash before the record of
	// the input is written leaves a journal --resume refuses, and nothing
	// was sent yet.
	f := j.files
	for _, p := range []string{f.JournalMeta, f.Checkpoints} {
		if err := durable.Remove(f.FS, p); err != nil {
			return &WriteError{Path: p, Err: err}
		}
	}
	if err := durable.Move(f.FS, f.NewJournal, f.Journal); err != nil {
		return &WriteError{Path: f.Journal, Err: err}
	}
	j.rep.renamed(f.Journal)
	if err := durable.Move(f.FS, f.NewCheckpoints, f.Checkpoints); err != nil {
		return &WriteError{Path: f.Checkpoints, Err: err}
	}
	j.committed = true
	if j.digest != nil {
		if err := writeJournalMeta(f.FS, f.JournalMeta, *j.digest); err != nil {
			return &WriteError{Path: f.JournalMeta, Err: err}
		}
	}
	if f.Mirror != nil {
		return j.rep.mirrorTo(f.Mirror)
	}
	return nil
}

// Finish closes the journal and makes it the report: renamed into place
// for CSV, converted for Parquet. Only now is an existing report replaced.
// The record of the report (its input, and its size and checksum, which a
// later --resume proves it by) is written once the report's bytes are
// durable: for CSV, once the journal is synced and before it is renamed
// (a crash in between leaves the journal, which --resume takes first); for
// Parquet, once the converted file is in place (the journal is removed
// after it). A journal whose writing failed is never finished: see Err.
func (j *Journal) Finish() error {
	if err := j.Commit(); err != nil {
		j.rep.Close()
		return err
	}
	if err := j.rep.Close(); err != nil {
		return err
	}
	var err error
	if readers.IsParquetName(j.files.Final) {
		err = j.finishParquet()
	} else {
		err = j.finishCSV()
	}
	if err != nil {
		return err
	}
	if err := durable.Remove(j.files.FS, j.files.Checkpoints); err != nil {
		return err
	}
	return durable.Remove(j.files.FS, j.files.JournalMeta)
}

// finishCSV records the closed journal as the report, then renames it
// into place.
func (j *Journal) finishCSV() error {
	f := j.files
	written := j.rep.written()
	if err := j.recordFinal(fileCheck{Size: written.Size, Lines: written.Lines, CRC32C: crcString(written.CRC)}); err != nil {
		return err
	}
	if err := durable.Move(f.FS, f.Journal, f.Final); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// finishParquet converts the closed journal into the Parquet report,
// records it once it is in place, then removes the journal.
func (j *Journal) finishParquet() error {
	f := j.files
	check, err := writeParquetReport(f.FS, f.Journal, f.Final)
	if err != nil {
		return fmt.Errorf("write the Parquet report %s: %w (the CSV journal %s holds the same lines)", f.Final, err, f.Journal)
	}
	if err := j.recordFinal(check); err != nil {
		return err
	}
	return durable.Remove(f.FS, f.Journal)
}

// recordFinal writes the record of the finished report (none for a run
// without a digest: a dry run, standard input).
func (j *Journal) recordFinal(check fileCheck) error {
	if j.digest == nil {
		return durable.Remove(j.files.FS, j.files.Meta)
	}
	if err := writeMeta(j.files.FS, j.files.Meta, *j.digest, &check); err != nil {
		return &WriteError{Path: j.files.Meta, Err: err}
	}
	return nil
}

// waitDigest waits for the input's digest computed while the run reads
// the input, if any, and returns its error.
func (j *Journal) waitDigest() error {
	if j.digestDone == nil {
		return nil
	}
	<-j.digestDone
	return j.digestErr
}

// Committed reports whether the journal has its name: a request may have
// been sent, and --resume continues it.
func (j *Journal) Committed() bool { return j.committed }

// Abandon closes the journal of a run that stopped on an input error, or
// whose journal could not be written: a fresh journal never committed is
// removed, so every existing output is as it was; a committed one (a
// resumed run, or requests were sent) stays for --resume.
func (j *Journal) Abandon() error {
	err := j.rep.Close()
	if !j.committed {
		for _, p := range []string{j.files.NewJournal, j.files.NewCheckpoints} {
			if rerr := durable.Remove(j.files.FS, p); rerr != nil && err == nil {
				err = rerr
			}
		}
	}
	return err
}

// Rebuilt proves the journal of files rebuilt from a copy that proved
// itself (a Mirror's, pulled by a run resumed on another machine): it
// writes checkpoints holding one checkpoint of the whole file, by which
// --resume then believes it as it believes a journal its run made
// durable. The record of its input (JournalMeta) is the copy's, which
// --resume checks against the input.
func Rebuilt(files Files) error {
	f, err := os.Open(files.Journal)
	if err != nil {
		return err
	}
	defer f.Close()
	t := &tally{w: io.Discard}
	if _, err := io.Copy(t, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("read %s: %w", files.Journal, err)
	}
	cps, err := createCheckpoints(files.FS, files.Checkpoints)
	if err != nil {
		return err
	}
	if err := cps.add(t.checkpoint); err != nil {
		cps.close()
		return err
	}
	return cps.close()
}
