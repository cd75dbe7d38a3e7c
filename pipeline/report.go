package pipeline

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// Status is the fate of one input row.
type Status string

// The statuses of SPEC §5.
const (
	StatusOK       Status = "ok"
	StatusValid    Status = "valid" // dry run: the row would be sent
	StatusFailed   Status = "failed"
	StatusInvalid  Status = "invalid"
	StatusRejected Status = "rejected"
	StatusUnsent   Status = "unsent"
)

// Statuses lists every status in report order.
var Statuses = []Status{StatusOK, StatusValid, StatusFailed, StatusInvalid, StatusRejected, StatusUnsent}

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

// ReportHeader is the report's column list.
var ReportHeader = []string{"row", "from_account", "type", "peer", "status", "code", "message", "attempts"}

// ReportWriter receives report lines as outcomes arrive. Implementations need
// not be safe for concurrent use: Run serialises calls.
type ReportWriter interface {
	Write(Line) error
	// Sync makes what was written so far durable (flush and fsync).
	Sync() error
	Close() error
}

// CSVReport writes the report as CSV, appending to a file so that what was
// written before a crash stays readable. It is safe for concurrent use, so a
// signal handler may Sync it while the run writes.
type CSVReport struct {
	mu  sync.Mutex
	f   *os.File
	buf *bufio.Writer
	w   *csv.Writer
	rec []string
}

// CreateCSVReport creates (truncating) a CSV report at path and makes its
// header durable at once: a run killed before its first lines still
// leaves a report that --resume takes.
func CreateCSVReport(path string) (*CSVReport, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}
	r := newCSVReport(f)
	r.w.Write(ReportHeader)
	if err := r.syncLocked(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	return r, nil
}

func newCSVReport(f *os.File) *CSVReport {
	buf := bufio.NewWriterSize(f, 256<<10)
	return &CSVReport{f: f, buf: buf, w: csv.NewWriter(buf), rec: make([]string, len(ReportHeader))}
}

// Write appends one line.
func (r *CSVReport) Write(l Line) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec[0] = strconv.FormatInt(l.Row, 10)
	r.rec[1] = l.From
	r.rec[2] = l.Type
	r.rec[3] = l.Peer
	r.rec[4] = string(l.Status)
	r.rec[5] = strconv.Itoa(l.Code)
	r.rec[6] = l.Message
	r.rec[7] = strconv.Itoa(l.Attempts)
	return r.w.Write(r.rec)
}

// Sync flushes buffered lines and fsyncs the file.
func (r *CSVReport) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncLocked()
}

func (r *CSVReport) syncLocked() error {
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		return err
	}
	if err := r.buf.Flush(); err != nil {
		return err
	}
	return r.f.Sync()
}

// Close syncs and closes the file.
func (r *CSVReport) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.syncLocked()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// lockedReport serialises writes from concurrent workers and counts statuses.
type lockedReport struct {
	mu      sync.Mutex
	w       ReportWriter
	rejects *Rejects
	counts  map[Status]int64
	codes   map[int]int64
	err     error
	dirty   bool
}

func (l *lockedReport) write(line Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeRowsLocked(line, []int64{line.Row})
}

// writeRowsLocked writes line once for each of rows; l.mu is held.
func (l *lockedReport) writeRowsLocked(line Line, rows []int64) {
	l.counts[line.Status] += int64(len(rows))
	if line.Code != 0 {
		l.codes[line.Code] += int64(len(rows))
	}
	for _, row := range rows {
		line.Row = row
		l.rejects.add(&line)
		if l.err == nil {
			l.err = l.w.Write(line)
			l.dirty = true
		}
	}
}

func (l *lockedReport) sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil && l.dirty {
		l.err = l.w.Sync()
		l.dirty = false
	}
	return l.err
}
