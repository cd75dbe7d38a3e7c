// Package page makes the sign-off page of a run: one self-contained HTML
// file that a person who will never open the report reads to decide
// whether a migration worked and what is left to do.
//
// The page is made from two files the run wrote, so that it can be made
// again later without running anything: the summary (its JSON, which
// carries the command line, the version and the sending timeline) and the
// finished report, read once as a stream. The summary is believed only
// whole and in range, and the report's counts by status must equal the
// summary's: a page never shows numbers from two different runs.
//
// Whatever the run's size, the page is bounded: counts by status, by code
// (at most 100 codes, the rest together) and by file (at most 200 files),
// at most 10 sample rows per code, each
// value cut to 200 bytes, and a timeline of at most 600 points. Reading
// the report keeps those and nothing else, so a report of a hundred
// million rows is read in constant memory.
//
// It needs nothing to be read: no script, no network (CSS inline, charts
// inline SVG drawn by github.com/go-analyze/charts), and prints as it
// shows (print styles). Every value from the report is escaped by
// html/template, so a row holding markup shows as text.
//
// What codes mean is not this package's to say: the caller gives Explain
// (the API adapter's table). It imports pipeline/report (the statuses and
// the Parquet report), pipeline/timeline and readers (a value quoted in a
// message, a Parquet report told by its name).
package page
