package pipeline

import (
	"fmt"
	"sync"

	"markimport/pipeline/mark"
	"markimport/pipeline/rejects"
	"markimport/pipeline/report"
)

// lockedReport serialises writes from concurrent workers and counts statuses.
type lockedReport struct {
	mu      sync.Mutex
	w       report.Writer
	rejects *rejects.Rows
	// statuses counts the rows written by status (the run's counters,
	// which the progress observer reads too).
	statuses *mark.Tally
	codes    map[int]int64
	err      error
	dirty    bool
	// failed, when set, is called (with mu held) with the first error of
	// the report: the run stops sending at once.
	failed func(error)
}

// fail keeps the first error of the report; l.mu is held.
func (l *lockedReport) fail(err error) {
	if err == nil || l.err != nil {
		return
	}
	l.err = err
	if l.failed != nil {
		l.failed(err)
	}
}

// ReportError says that the report could not be written or made durable
// (a full disk, an I/O error, a file system remounted read-only). A result
// that cannot be recorded would be lost to the report and to --resume, so
// the run stops at once: no request leaves after it (those on the wire
// finish), reading and planning stop, and the journal keeps what was made
// durable for --resume once the disk is fixed.
type ReportError struct{ Err error }

func (e *ReportError) Error() string {
	return fmt.Sprintf("the report could not be written: %v", e.Err)
}

func (e *ReportError) Unwrap() error { return e.Err }

// reportFailed stops the run on the report's first error: what the run
// does next is undone by a cancelled context, synchronously, before the
// writer that failed returns (so that no request can leave in between).
func (r *run) reportFailed(err error) {
	r.reportMu.Lock()
	r.reportErr = err
	cancel := r.cancelRun
	r.reportMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// reportFailure is the report's error, if it failed.
func (r *run) reportFailure() *ReportError {
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	if r.reportErr == nil {
		return nil
	}
	return &ReportError{Err: r.reportErr}
}

func (l *lockedReport) write(line report.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeRowsLocked(line, []int64{line.Row})
}

// writeRowsLocked writes line once for each of rows; l.mu is held.
func (l *lockedReport) writeRowsLocked(line report.Line, rows []int64) {
	l.statuses.Add(string(line.Status), int64(len(rows)))
	if line.Code != 0 {
		l.codes[line.Code] += int64(len(rows))
	}
	for _, row := range rows {
		line.Row = row
		l.rejects.Add(&line)
		if l.err == nil {
			l.fail(l.w.Write(line))
			l.dirty = true
		}
	}
}

func (l *lockedReport) sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil && l.dirty {
		l.fail(l.w.Sync())
		l.dirty = false
	}
	return l.err
}

// linesWriter is a report.Writer that takes lines formatted ahead, many
// at a time (report.CSV): the formatting needs no lock.
type linesWriter interface {
	AppendItemLines(dst []byte, from string, items []mark.Item, l report.Line) []byte
	WriteLines(b []byte) error
}

// writeItemsAs writes the lines of every row of items of user from, with
// status and nothing else (no code, no message), as writeItems does, and
// returns buf for reuse. With a linesWriter the lines are formatted into
// buf before the lock is taken, so that the planners format at once and
// the lock is held only to count them and copy them out.
func (l *lockedReport) writeItemsAs(buf []byte, ctr *mark.Counters, from string, items []mark.Item, status report.Status) []byte {
	lw, ok := l.w.(linesWriter)
	if !ok {
		req := mark.Request{From: from, Items: items}
		writeItems(l, ctr, &req, nil, status)
		return buf
	}
	buf = lw.AppendItemLines(buf[:0], from, items, report.Line{Status: status})
	var n int64
	for i := range items {
		n += int64(len(items[i].Rows))
	}
	l.mu.Lock()
	l.statuses.Add(string(status), n)
	if l.rejects != nil {
		for i := range items {
			line := report.Line{From: from, Type: items[i].Conv.TypeName(), Peer: items[i].Conv.Peer, Status: status}
			for _, row := range items[i].Rows {
				line.Row = row
				l.rejects.Add(&line)
			}
		}
	}
	if l.err == nil && len(buf) > 0 {
		l.fail(lw.WriteLines(buf))
		l.dirty = true
	}
	l.mu.Unlock()
	ctr.RowsDone.Add(n)
	return buf
}
