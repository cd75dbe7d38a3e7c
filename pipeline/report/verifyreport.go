package report

import (
	"markimport/pipeline/durable"

	"fmt"

	"markimport/readers"
)

// VerifyStatus is the verdict on one input row.
type VerifyStatus string

// The statuses of a verify report.
const (
	// VerifyMatch: the server holds what the row's item asked for.
	VerifyMatch VerifyStatus = "match"
	// VerifyMismatch: a compared bit or the custom mark differs.
	VerifyMismatch VerifyStatus = "mismatch"
	// VerifyMissing: the server has no marks for the conversation at all.
	VerifyMissing VerifyStatus = "missing"
	// VerifyNotChecked: the row is invalid, or rejected by the per-user
	// conversation limit, so the import never sent it; or its user is
	// not in the sample checked (--sample).
	VerifyNotChecked VerifyStatus = "not-checked"
	// VerifyUnread: the marks could not be read back (the read failed after
	// its retries, or the verify stopped before reading them).
	VerifyUnread VerifyStatus = "unread"
)

// VerifyStatuses lists every verify status in report order.
var VerifyStatuses = []VerifyStatus{VerifyMatch, VerifyMismatch, VerifyMissing, VerifyNotChecked, VerifyUnread}

// VerifyLine is one line of the verify report: the verdict on one input row.
type VerifyLine struct {
	Row    int64
	From   string
	Type   string
	Peer   string
	Status VerifyStatus
	// Expected is what the row's item asks for, e.g. `set=0,33 clear=2
	// custom="vip"`; empty for not-checked rows.
	Expected string
	// Actual is what the server holds: `standard=` and the 64-bit standard
	// mark in binary notation (bit 0 last), then `custom=` and the quoted
	// custom mark; empty when the conversation is missing or unread.
	Actual string
	// Message says why a row is not a match. For a mismatch it names the
	// differing bits and shows the expected bit pattern ('1' set, '0'
	// cleared, '.' not compared; bit 0 last) next to the server's 64 bits.
	Message string
}

// verifyHeader is the verify report's column list.
var verifyHeader = []string{"row", "from_account", "type", "peer", "status", "expected", "actual", "message"}

// verifyMultiHeader is the verify report's column list when the input has
// several files.
var verifyMultiHeader = append([]string{"file"}, verifyHeader...)

// VerifyWriter receives verify report lines. Implementations need not
// be safe for concurrent use: Verify serialises calls.
type VerifyWriter interface {
	Write(VerifyLine) error
	Close() error
}

// CSVVerify writes the verify report as CSV, beside its path until Close
// renames it into place (Abort drops it).
type CSVVerify struct {
	*csvFile
	file durable.Output
	in   *readers.Input // an input of several files, or nil
}

// CreateCSVVerify starts a verify report that will be path, for the input
// in (nil: one file), and writes its header.
func CreateCSVVerify(path string, in *readers.Input) (*CSVVerify, error) {
	f, err := durable.Disk(nil).Create(path)
	if err != nil {
		return nil, fmt.Errorf("create verify report: %w", err)
	}
	header := verifyHeader
	if multi(in) != nil {
		header = verifyMultiHeader
	}
	r := &CSVVerify{csvFile: newCSVFile(f, nil, len(header)), file: f, in: multi(in)}
	if err := r.w.Write(header); err != nil {
		f.Abort()
		return nil, fmt.Errorf("write verify report %s: %w", path, err)
	}
	return r, nil
}

// Abort drops the report: the path is left as it was.
func (r *CSVVerify) Abort() { r.file.Abort() }

// Write appends one line.
func (r *CSVVerify) Write(l VerifyLine) error {
	return r.write(func(rec []string) {
		rec = fileRow(rec, r.in, l.Row)
		rec[0], rec[1], rec[2], rec[3] = l.From, l.Type, l.Peer, string(l.Status)
		rec[4], rec[5], rec[6] = l.Expected, l.Actual, l.Message
	})
}

// Close flushes the report and renames it into place.
func (r *CSVVerify) Close() error {
	if err := r.flush(); err != nil {
		r.file.Abort()
		return err
	}
	return r.file.Commit()
}
