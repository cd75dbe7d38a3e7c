package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

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

// Files names the files of a report.
type Files struct {
	// Final is the finished report (CSV, or Parquet by its name).
	Final string
	// Journal holds the lines of a run in progress, or of one that was
	// killed: --resume continues it. Checkpoints proves it.
	Journal, Checkpoints string
	// NewJournal is a fresh run's journal until it is committed, with its
	// checkpoints.
	NewJournal, NewCheckpoints string
	// Meta records the input of the finished report and what proves its
	// bytes; JournalMeta records the input of the journal.
	Meta, JournalMeta string
	// Lock is held by the run using the report.
	Lock string
	// Pace records when the run's last request left, so that a run started
	// right after it waits for the server's second to end.
	Pace string
	// FS is the file layer the report is written through (nil: the disk).
	FS durable.FS
}

// FilesOf names the files of the report at path.
func FilesOf(path string) Files {
	j := path + ".journal.csv"
	return Files{
		Final: path, Journal: j, Checkpoints: CheckpointsOf(j),
		NewJournal: j + ".new", NewCheckpoints: CheckpointsOf(j + ".new"),
		Meta: MetaPath(path), JournalMeta: MetaPath(j),
		Lock: path + ".lock", Pace: path + ".pace",
	}
}

// resumeTemp is the name a resumed journal is written under before it
// replaces the journal.
func (f Files) resumeTemp() string { return f.Journal + ".resume.tmp" }

// All lists every file of the report, for the check that no output is an
// input or another output.
func (f Files) All() []string {
	return []string{f.Final, f.Final + ".tmp", f.Journal, f.Checkpoints, f.NewJournal, f.NewCheckpoints,
		f.Meta, f.Meta + ".tmp", f.JournalMeta, f.JournalMeta + ".tmp",
		f.resumeTemp(), CheckpointsOf(f.resumeTemp()), f.Lock, f.Pace}
}

// Exists reports which of a finished report and a journal are on disk.
func (f Files) Exists() (final, journal bool) {
	return exists(f.Final), exists(f.Journal)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Journal is the report of one run as it is written.
type Journal struct {
	files     Files
	rep       *CSV
	fp        *Fingerprint // the input's; nil for a dry run or standard input
	committed bool         // the journal has its name (not NewJournal)
	// fpDone, when not nil, is closed once fp (or fpErr) is known: the
	// fingerprint computed while the run reads the input.
	fpDone chan struct{}
	fpErr  error
}

// StartJournal begins the report of a fresh run: a new journal, its header
// already durable, under the temporary name. fp is the input's
// fingerprint, recorded for --resume (nil: none, for a dry run).
func StartJournal(files Files, fp *Fingerprint, in *readers.Input) (*Journal, error) {
	rep, err := CreateCSV(files.FS, files.NewJournal, in)
	if err != nil {
		return nil, err
	}
	return &Journal{files: files, rep: rep, fp: fp}, nil
}

// StartJournalFingerprinting is StartJournal with the input's fingerprint
// computed by fingerprint in a goroutine of its own, while the run reads
// the input (fingerprinting a large input reads it whole, which took
// seconds before the run began): the journal waits for it when it is
// committed, which records it. An error of fingerprint is Commit's error,
// as it returned it.
func StartJournalFingerprinting(files Files, fingerprint func() (Fingerprint, error), in *readers.Input) (*Journal, error) {
	j, err := StartJournal(files, nil, in)
	if err != nil {
		return nil, err
	}
	j.fpDone = make(chan struct{})
	go func() {
		defer close(j.fpDone)
		fp, err := fingerprint()
		if err != nil {
			j.fpErr = err
			return
		}
		j.fp = &fp
	}()
	return j, nil
}

// ResumeJournal continues the report of an earlier run with the same input
// (fp): the journal a killed run left, or else the finished report, each
// first proved against what recorded it (the journal's checkpoints, the
// report's .meta.json). The lines of rows that ended ok are kept (their
// rows are not sent again) and every other line is dropped (those rows are
// planned and reported anew); it returns the ok rows, which the run checks
// against the input, and in Done.Notes what it dropped unproven.
func ResumeJournal(files Files, fp Fingerprint, in *readers.Input) (*Journal, *Done, error) {
	final, journal := files.Exists()
	if !journal && !final {
		return nil, nil, fmt.Errorf("nothing to resume: %s does not exist", files.Final)
	}
	var src source
	if journal {
		if _, err := checkMeta(files.JournalMeta, files.Journal, fp); err != nil {
			return nil, nil, err
		}
		src = journalSource(files)
	} else {
		m, err := checkMeta(files.Meta, files.Final, fp)
		if err != nil {
			return nil, nil, err
		}
		if src, err = finalSource(files.Final, files.Meta, m.Report, multi(in) != nil); err != nil {
			return nil, nil, fmt.Errorf("cannot resume: %w; %s", err, overwriteHint)
		}
		// The meta first: a journal without it would not be resumable.
		if err := WriteMeta(files.FS, files.JournalMeta, fp); err != nil {
			return nil, nil, &WriteError{Path: files.JournalMeta, Err: err}
		}
	}
	rep, done, err := resumeInto(files, src, in)
	if err != nil {
		return nil, nil, err
	}
	return &Journal{files: files, rep: rep, fp: &fp, committed: true}, done, nil
}

// Writer is where the run writes its lines.
func (j *Journal) Writer() *CSV { return j.rep }

// Sync makes the lines written so far durable.
func (j *Journal) Sync() error { return j.rep.Sync() }

// Commit gives a fresh run's journal its name, replacing the journal of
// an earlier run (--overwrite): the input has been read without an input
// error, or a request is about to be sent. It does nothing the second
// time. An error writing a file is a *WriteError.
func (j *Journal) Commit() error {
	if j.committed {
		return nil
	}
	if j.fpDone != nil {
		<-j.fpDone
		if j.fpErr != nil {
			return j.fpErr
		}
	}
	if err := j.rep.Sync(); err != nil {
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
	if j.fp != nil {
		if err := WriteMeta(f.FS, f.JournalMeta, *j.fp); err != nil {
			return &WriteError{Path: f.JournalMeta, Err: err}
		}
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
	f := j.files
	written := j.rep.written()
	if readers.IsParquetName(f.Final) {
		check, err := WriteParquet(f.FS, f.Journal, f.Final)
		if err != nil {
			return fmt.Errorf("write the Parquet report %s: %w (the CSV journal %s holds the same lines)", f.Final, err, f.Journal)
		}
		if err := j.recordFinal(check); err != nil {
			return err
		}
		if err := durable.Remove(f.FS, f.Journal); err != nil {
			return err
		}
	} else {
		if err := j.recordFinal(fileCheck{Size: written.Size, Lines: written.Lines, CRC32C: crcString(written.CRC)}); err != nil {
			return err
		}
		if err := durable.Move(f.FS, f.Journal, f.Final); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if err := durable.Remove(f.FS, f.Checkpoints); err != nil {
		return err
	}
	return durable.Remove(f.FS, f.JournalMeta)
}

// recordFinal writes the record of the finished report (none for a run
// without a fingerprint: a dry run, standard input).
func (j *Journal) recordFinal(check fileCheck) error {
	if j.fp == nil {
		return durable.Remove(j.files.FS, j.files.Meta)
	}
	if err := writeMeta(j.files.FS, j.files.Meta, *j.fp, &check); err != nil {
		return &WriteError{Path: j.files.Meta, Err: err}
	}
	return nil
}

// Committed reports whether the journal has its name: a request may have
// been sent, and --resume continues it.
func (j *Journal) Committed() bool { return j.committed }

// Err is the error that stopped the journal's writing, if any: such a
// journal is kept for --resume (Abandon), never finished.
func (j *Journal) Err() error { return j.rep.Err() }

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

// readParquetReport calls fn with each line of a finished Parquet report,
// as the CSV journal would hold it, once its size and CRC-32C are those
// its record (meta) gives; multi says the report has the file column.
func readParquetReport(path, meta string, check *fileCheck, crc uint32, multi bool, fn func(line int64, rec []string) error) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum := &tally{w: io.Discard}
	if _, err := io.Copy(sum, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return err
	}
	if sum.Size != check.Size || sum.CRC != crc {
		return &DamagedError{Path: path, Proof: meta, Detail: fmt.Sprintf("it holds %d bytes of CRC-32C %s, and %d bytes of CRC-32C %s were written", sum.Size, crcString(sum.CRC), check.Size, check.CRC32C)}
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s is not a readable Parquet report: %v", path, p)
		}
	}()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("%s is not a readable Parquet report: %w", path, err)
	}
	defer pf.Close()
	if n := pf.NumRows(); n != check.Rows {
		return &DamagedError{Path: path, Proof: meta, Detail: fmt.Sprintf("it holds %d rows, and %d were written", n, check.Rows)}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	want := reportSchemaOf(multi)
	sc, err := fr.Schema()
	if err != nil || !sameReportColumns(sc, want) {
		return fmt.Errorf("%s is not a markimport report of this input (its schema is %v)", path, sc)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	rec := make([]string, len(want.Fields()))
	var n int64
	for rr.Next() {
		b := rr.RecordBatch()
		cols := b.Columns()
		out := rec
		if multi {
			cols = cols[1:]
			out = rec[1:]
		}
		row, code, att := cols[0].(*array.Int64), cols[5].(*array.Int32), cols[7].(*array.Int32)
		str := func(c, i int) string { return cols[c].(*array.String).Value(i) }
		for i := range int(b.NumRows()) {
			n++
			if multi {
				rec[0] = b.Column(0).(*array.String).Value(i)
			}
			out[0] = strconv.FormatInt(row.Value(i), 10)
			out[1], out[2], out[3], out[4] = str(1, i), str(2, i), str(3, i), str(4, i)
			out[5] = strconv.Itoa(int(code.Value(i)))
			out[6] = str(6, i)
			out[7] = strconv.Itoa(int(att.Value(i)))
			if err := fn(n, rec); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// sameReportColumns reports whether a schema read back from a Parquet file has
// the columns of want, by name and type. The reader adds metadata of its
// own to each field (PARQUET:field_id), which arrow's Schema.Equal counts.
func sameReportColumns(sc, want *arrow.Schema) bool {
	if sc == nil || sc.NumFields() != want.NumFields() {
		return false
	}
	for i, f := range want.Fields() {
		g := sc.Field(i)
		if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return false
		}
	}
	return true
}
