// Package report writes what markimport has to say about every input row:
// the per-row report (CSV, or Parquet made from a CSV journal), its files
// on disk and their life from a fresh run through a crash to --resume
// (Files, Journal), what proves them when they are read back (a journal's
// checkpoints, a finished report's size and checksum), the verify report, and the rejects file that gives
// back, in the input's own format, every row that did not end ok. Every
// output is written beside its final path and renamed into place. Arrow
// lives here and in readers only.
package report
