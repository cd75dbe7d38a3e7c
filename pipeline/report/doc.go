// Package report writes what markimport has to say about every input row,
// and reads it back when a run resumes.
//
// Its jobs, a file or two each: the lines and their statuses (line.go);
// the report's files on disk (paths.go) and their life from a fresh run
// through a crash to --resume (journal.go: Files, Journal); the CSV
// journal appended to as results arrive (journalwriter.go, csvrecord.go)
// and its checkpoints, made durable with it, that prove it when it is read
// back (checkpoint.go, proven.go); --resume, which keeps the proven ok
// rows and checks them against the input (resume.go, okrows.go); the
// sidecars that record the input's identity (reportmeta.go,
// inputdigest.go: InputDigest, a file's size and SHA-256); the finished
// report as Parquet, made from the journal (parquetreport.go,
// parquetwriter.go); the verify report (verifyreport.go); and the rows of
// a finished report with a given status (runreport.go).
//
// A report is precious: every file it writes goes through
// pipeline/durable (a journal created, persisted and moved; a sidecar or
// a Parquet report written beside its final path and committed). The
// rejects file is pipeline/rejects' job.
//
// It imports pipeline/mark, pipeline/durable and readers (the input of
// several files whose rows a report names by file, and the quoting of
// values in messages), and Arrow for the Parquet report.
package report
