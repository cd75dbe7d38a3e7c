// Package report writes what markimport has to say about every input row,
// and reads it back when a run resumes.
//
// Its jobs, a file or two each: the lines and their statuses (line.go);
// the report's files on disk (paths.go: Files) and their life from a
// fresh run through a crash to --resume (journal.go: Journal); the CSV
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
// The files beside a report REPORT: the journal REPORT.journal.csv
// (out.parquet.journal.csv for a Parquet report, unreadable before its
// footer), appended to as results arrive and synced every second; its
// checkpoints, REPORT.journal.csv.checkpoints, one 60-byte record per sync
// (the journal's size, line count and CRC-32C so far, and the record's own
// CRC-32C); REPORT.journal.csv.new (and .new.checkpoints), a fresh run's
// journal until its input is read without an input error; and the
// sidecars REPORT.meta.json and REPORT.journal.csv.meta.json, the input's
// size and SHA-256, and in the report's the finished report's size,
// CRC-32C and lines or rows. --resume believes a journal up to its last
// checkpoint (later lines, a second's worth at most, are dropped, logged
// and sent again) and a finished report whose size and CRC-32C match its
// sidecar; it plans the whole input again (merging and the per-user limit
// as in one run) and checks each ok line against the input's row, keeping
// 4 bytes of memory per ok row.
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
