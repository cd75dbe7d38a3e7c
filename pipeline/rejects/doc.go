// Package rejects writes the rejects file of a run: every input row that
// did not end ok, given back in the input's own format with all its
// columns unchanged, plus the row's status, code and message, so that the
// user can fix the rows and run the file again (markimport ignores the
// added columns, and a rejects file run again gives a rejects file of the
// same shape).
//
// Rows collects the outcomes as the run reports them (24 bytes a row,
// each message kept once); once the run ends, WriteCSV or WriteParquet
// reads the input again, picks the collected rows out of it and writes them, as CSV or as
// Parquet, through a durable.Destination: the file appears whole or not
// at all. Check says before a run whether the files of a multi-file input
// make one rejects file.
//
// It imports pipeline/report (the statuses and lines it collects),
// pipeline/durable (where the file is written) and readers (the input read
// again), and Arrow for Parquet.
package rejects
