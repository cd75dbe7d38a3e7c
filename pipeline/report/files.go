package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

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
// results arrive and made durable every second, which a crash leaves
// behind and --resume continues. A fresh run's journal starts under a
// temporary name and takes the journal's name only once the input has been
// read without an input error (or the first request is sent), so that a
// mistake leaves an existing journal alone; when the run ends the journal
// becomes the report (renamed, or converted to Parquet), and only then is
// an existing report replaced.

// Files names the files of a report.
type Files struct {
	// Final is the finished report (CSV, or Parquet by its name).
	Final string
	// Journal holds the lines of a run in progress, or of one that was
	// killed: --resume continues it.
	Journal string
	// NewJournal is a fresh run's journal until it is committed.
	NewJournal string
	// Meta records the input of the finished report, JournalMeta that of
	// the journal.
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
		Final: path, Journal: j, NewJournal: j + ".new",
		Meta: MetaPath(path), JournalMeta: MetaPath(j),
		Lock: path + ".lock", Pace: path + ".pace",
	}
}

// All lists every file of the report, for the check that no output is an
// input or another output.
func (f Files) All() []string {
	return []string{f.Final, f.Final + ".tmp", f.Journal, f.NewJournal, f.Meta, f.Meta + ".tmp", f.JournalMeta, f.JournalMeta + ".tmp",
		f.Journal + ".resume.tmp", f.Lock, f.Pace}
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
// (fp): the journal a killed run left, or else the finished report. The
// lines of rows that ended ok are kept (their rows are not sent again) and
// every other line is dropped (those rows are planned and reported anew);
// it returns the ok rows.
func ResumeJournal(files Files, fp Fingerprint, in *readers.Input) (*Journal, *Done, error) {
	final, journal := files.Exists()
	src, meta := files.Journal, files.JournalMeta
	if !journal {
		if !final {
			return nil, nil, fmt.Errorf("nothing to resume: %s does not exist", files.Final)
		}
		src, meta = files.Final, files.Meta
	}
	if err := CheckMeta(meta, src, fp); err != nil {
		return nil, nil, err
	}
	var lines func(func([]string)) error
	if src == files.Final && readers.IsParquetName(src) {
		lines = func(fn func([]string)) error { return readParquetReport(src, multi(in) != nil, fn) }
	}
	// The meta first: a journal without it would not be resumable.
	if journal {
		rep, done, err := resumeInto(files.FS, src, files.Journal, lines, in)
		if err != nil {
			return nil, nil, err
		}
		return &Journal{files: files, rep: rep, fp: &fp, committed: true}, done, nil
	}
	if err := WriteMeta(files.FS, files.JournalMeta, fp); err != nil {
		return nil, nil, err
	}
	rep, done, err := resumeInto(files.FS, src, files.Journal, lines, in)
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
// time.
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
	// No moment may pair the new journal with an old record of its input.
	if err := durable.Remove(j.files.FS, j.files.JournalMeta); err != nil {
		return err
	}
	if err := durable.Move(j.files.FS, j.files.NewJournal, j.files.Journal); err != nil {
		return fmt.Errorf("report journal: %w", err)
	}
	j.committed = true
	if j.fp != nil {
		return WriteMeta(j.files.FS, j.files.JournalMeta, *j.fp)
	}
	return nil
}

// Finish closes the journal and makes it the report: renamed into place
// for CSV, converted for Parquet. Only now is an existing report replaced.
func (j *Journal) Finish() error {
	if err := j.Commit(); err != nil {
		j.rep.Close()
		return err
	}
	if err := j.rep.Close(); err != nil {
		return fmt.Errorf("report journal %s: %w", j.files.Journal, err)
	}
	if j.fp != nil {
		if err := WriteMeta(j.files.FS, j.files.Meta, *j.fp); err != nil {
			return err
		}
	} else if err := durable.Remove(j.files.FS, j.files.Meta); err != nil {
		return err
	}
	if readers.IsParquetName(j.files.Final) {
		if err := WriteParquet(j.files.FS, j.files.Journal, j.files.Final); err != nil {
			return fmt.Errorf("write the Parquet report %s: %w (the CSV journal %s holds the same lines)", j.files.Final, err, j.files.Journal)
		}
		if err := durable.Remove(j.files.FS, j.files.Journal); err != nil {
			return err
		}
	} else if err := durable.Move(j.files.FS, j.files.Journal, j.files.Final); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return durable.Remove(j.files.FS, j.files.JournalMeta)
}

// Abandon closes the journal of a run that stopped on an input error: a
// fresh journal never committed is removed, so every existing output is as
// it was; a committed one (a resumed run, or requests were sent) stays for
// --resume.
func (j *Journal) Abandon() error {
	err := j.rep.Close()
	if !j.committed {
		if rerr := durable.Remove(j.files.FS, j.files.NewJournal); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// readParquetReport calls fn with each line of a finished Parquet report,
// as the CSV journal would hold it; multi says the report has the file
// column.
func readParquetReport(path string, multi bool, fn func([]string)) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	defer f.Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("resume: %s is not a readable Parquet report: %v", path, p)
		}
	}()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("resume: %s is not a readable Parquet report: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("resume: %s: %w", path, err)
	}
	want := reportSchemaOf(multi)
	sc, err := fr.Schema()
	if err != nil || !sc.Equal(want) {
		return fmt.Errorf("resume: %s is not a markimport report of this input (its schema is %v)", path, sc)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("resume: %s: %w", path, err)
	}
	defer rr.Release()
	rec := make([]string, len(want.Fields()))
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
			if multi {
				rec[0] = b.Column(0).(*array.String).Value(i)
			}
			out[0] = strconv.FormatInt(row.Value(i), 10)
			out[1], out[2], out[3], out[4] = str(1, i), str(2, i), str(3, i), str(4, i)
			out[5] = strconv.Itoa(int(code.Value(i)))
			out[6] = str(6, i)
			out[7] = strconv.Itoa(int(att.Value(i)))
			fn(rec)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("resume: %s: %w", path, err)
	}
	return nil
}
