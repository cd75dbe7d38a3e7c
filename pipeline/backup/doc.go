// Package backup owns the backup file of run --backup FILE: the rows that
// put back what a run changes, written before the run changes anything, so
// that a migration can be undone by importing the backup.
//
// Restore turns an item and the marks read back for its conversation
// (package readback does the reading) into a restore row: the bits the
// item sets or clears are set back where they were 1 and cleared where
// they were 0, bits it does not touch are not mentioned, and the previous
// custom mark is written back when the item writes one. A conversation the
// server does not hold yet is restored to no marks (the API cannot delete
// a conversation). An item that changes nothing on the server needs no
// row.
//
// The backup is a markimport input (CSV, or Parquet by its name). While a
// run goes on, rows are appended to a CSV journal beside it,
// FILE.journal.csv (rowwriter.go), made durable (fsync, several users'
// rows at a time), then proven by a durable checkpoint in a check file
// (proof.go), before the requests that change their conversations are
// sent. When the run ends the journal becomes FILE (parquetform.go for the
// Parquet form, exact.go for custom marks a CSV cannot hold); an
// interrupted run leaves the journal. A resumed run (--resume) continues
// the journal or the finished backup (resumejournal.go) and refuses one
// that lacks the row of a conversation the run already changed
// (unbacked.go); a journal kept elsewhere in parts (a bucket) is first
// rebuilt on disk, each part proven by its checkpoint (rebuild.go). A file
// that claims to be a backup is recognised (recognise.go) and checked
// against its proof before it is read as an input. Every write goes
// through the durable.FS of Files (the disk, or a test's recorder), but a
// rebuild's, which writes the disk's file layer directly: what it rebuilds
// is copied nowhere again.
//
// On disk: the backup is CSV (starting with a UTF-8 byte-order mark) or
// Parquet, every column a string, set_mark written as 9|40. Rows are
// synced to FILE.journal.csv, then a checkpoint (length, row count,
// SHA-256) to FILE.journal.csv.check, before any request of their user
// leaves; a finished CSV backup carries its checkpoint in FILE.check, a
// Parquet one in its metadata (key markimport.backup). Ctrl-C does not
// wait for the Parquet conversion: the journal stays, a valid input. A
// resumed run never reads again a conversation that has a row; rows after
// the last checkpoint are dropped (no request changed them). A backup
// without rows (its run changed nothing) may be replaced, and importing it
// is an input error.
//
// The package imports pipeline/mark (the domain), pipeline/plan (to read
// rows as an input is read), pipeline/spill (the set of conversations
// backed up), pipeline/durable, pipeline/report (the Parquet writer) and
// readers; never pipeline itself nor pipeline/readback.
package backup
