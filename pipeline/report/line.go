package report

import (
	"strconv"

	"markimport/pipeline/mark"
	"markimport/readers"
)

// Status is the fate of one input row.
type Status string

// The statuses a report line can have: the status column of the report.
const (
	StatusOK       Status = "ok"
	StatusValid    Status = "valid" // dry run: the row would be sent
	StatusFailed   Status = "failed"
	StatusInvalid  Status = "invalid"
	StatusRejected Status = "rejected"
	StatusUnsent   Status = "unsent"
	// StatusUnchanged: the incremental state (--state) holds this item as
	// the API last confirmed it, so it was not sent again.
	StatusUnchanged Status = "unchanged"
	// StatusExists: insert-only mode (--mode insert) found marks on the
	// server for this conversation, so the item was not sent.
	StatusExists Status = "exists"
	// StatusSkipped: the row's user is not in the sample of users the
	// run was given (--sample), so the item was not sent.
	StatusSkipped Status = "skipped"
	// The statuses of validate --online, which reads every planned
	// conversation and sends nothing. StatusWouldChange: the import would
	// change the conversation (the message shows its marks before and
	// after). StatusAlready: the server already holds what the row asks
	// for. StatusUnread: its marks could not be read.
	StatusWouldChange Status = "would-change"
	StatusAlready     Status = "already"
	StatusUnread      Status = "unread"
)

// Statuses lists every status in report order.
var Statuses = []Status{StatusOK, StatusUnchanged, StatusExists, StatusSkipped, StatusValid, StatusWouldChange, StatusAlready, StatusFailed, StatusInvalid, StatusRejected, StatusUnsent, StatusUnread}

// Settled reports whether a row with this status needs nothing more: it
// ended ok, valid, would-change or already (a dry run), unchanged, exists
// or skipped. Every other status is a row to fix or to send again.
func (s Status) Settled() bool {
	switch s {
	case StatusOK, StatusValid, StatusWouldChange, StatusAlready, StatusUnchanged, StatusExists, StatusSkipped:
		return true
	}
	return false
}

// Line is one line of the report: the outcome of one input row.
type Line struct {
	Row      int64
	From     string
	Type     string
	Peer     string
	Status   Status
	Code     int
	Message  string
	Attempts int
}

// reportHeader is the report's column list.
var reportHeader = []string{"row", "from_account", "type", "peer", "status", "code", "message", "attempts"}

// multiReportHeader is the report's column list when the input has several
// files: the file of each row first, and row counts within that file.
var multiReportHeader = append([]string{"file"}, reportHeader...)

// multi returns in when it has several files (its reports name the file of
// each row), else nil.
func multi(in *readers.Input) *readers.Input {
	if in != nil && in.Multi() {
		return in
	}
	return nil
}

// headerOf is the report's header for the input in (nil: one file).
func headerOf(in *readers.Input) []string {
	if multi(in) != nil {
		return multiReportHeader
	}
	return reportHeader
}

// fileRow fills the file and row columns of rec for row and returns the
// rest of rec: with in (several files) the file's name and the row within
// it, else the row alone.
func fileRow(rec []string, in *readers.Input, row int64) []string {
	if in == nil {
		rec[0] = strconv.FormatInt(row, 10)
		return rec[1:]
	}
	name, local := in.FileRow(row)
	rec[0], rec[1] = name, strconv.FormatInt(local, 10)
	return rec[2:]
}

// Writer receives report lines as outcomes arrive. Implementations need
// not be safe for concurrent use: Run serialises calls.
type Writer interface {
	Write(Line) error
	// Sync makes what was written so far durable (flush and fsync).
	Sync() error
	Close() error
}

// Discard is a Writer that keeps nothing: a report nobody asked for.
type Discard struct{}

// Write keeps nothing.
func (Discard) Write(Line) error { return nil }

// Sync does nothing.
func (Discard) Sync() error { return nil }

// Close does nothing.
func (Discard) Close() error { return nil }

// AppendItemLines formats nothing: with it and WriteLines, Discard takes
// lines as CSV does, a partition's at once, so that a run without a report
// counts its rows by the partition, not by the row.
func (Discard) AppendItemLines(dst []byte, _ string, _ []mark.Item, _ Line) []byte { return dst }

// WriteLines keeps nothing.
func (Discard) WriteLines([]byte) error { return nil }

func knownStatus(s string) bool {
	for _, st := range Statuses {
		if s == string(st) {
			return true
		}
	}
	return false
}
