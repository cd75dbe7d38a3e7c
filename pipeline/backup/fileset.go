package backup

import "markimport/pipeline/durable"

// Files names the files of a backup, and the file layer they are written
// through.
type Files struct {
	// Final is the finished backup: CSV, or Parquet by its name.
	Final string
	// Check proves a finished CSV backup (a Parquet one holds its proof).
	Check string
	// Journal holds the rows of a run in progress, or of one that was
	// killed: --resume continues it. It is a valid input too.
	Journal string
	// JournalCheck holds the journal's checkpoints.
	JournalCheck string
	// Lock is held by the run writing the backup.
	Lock string
	// FS is where every write goes; nil means the disk.
	FS durable.FS
}

// FilesOf names the files of the backup at path.
func FilesOf(path string) Files {
	journal := path + ".journal.csv"
	return Files{Final: path, Check: checkOf(path), Journal: journal, JournalCheck: checkOf(journal), Lock: path + ".lock"}
}

// All lists every file of the backup, with those written beside them
// before a rename, for the check that no output is an input or another
// output.
func (f Files) All() []string {
	var out []string
	for _, p := range []string{f.Final, f.Check, f.Journal, f.JournalCheck} {
		out = append(out, p, durable.TempName(p))
	}
	return append(out, f.Lock)
}
