package report

import (
	"os"

	"markimport/pipeline/durable"
)

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
	// Mirror, when not nil, is told of each checkpoint of the journal once
	// it is committed (or resumed), and copies it elsewhere.
	Mirror Mirror
}

// Mirror copies a journal to where it outlives the machine (object
// storage), as it is made durable, so that a run can be resumed
// elsewhere from the copy.
type Mirror interface {
	// Durable says that the journal at path holds size bytes, durable and
	// checkpointed, and returns once the bytes it did not have are copied.
	// An error stops the journal as a failed write does.
	Durable(path string, size int64) error
	// Resumed says that --resume rewrote the journal from the copy: its
	// size bytes (the copy's ok lines) need not be copied again, only what
	// follows them.
	Resumed(size int64)
}

// FilesOf names the files of the report at path.
func FilesOf(path string) Files {
	j := path + ".journal.csv"
	return Files{
		Final: path, Journal: j, Checkpoints: checkpointsOf(j),
		NewJournal: j + ".new", NewCheckpoints: checkpointsOf(j + ".new"),
		Meta: metaPath(path), JournalMeta: metaPath(j),
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
		f.resumeTemp(), checkpointsOf(f.resumeTemp()), f.Lock, f.Pace}
}

// Exists reports which of a finished report and a journal are on disk.
func (f Files) Exists() (final, journal bool) {
	return exists(f.Final), exists(f.Journal)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
