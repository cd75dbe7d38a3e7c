package pipeline

import (
	"sync"

	"markimport/pipeline/mark"
	"markimport/pipeline/report"
)

// lockedReport serialises writes from concurrent workers and counts statuses.
type lockedReport struct {
	mu      sync.Mutex
	w       report.Writer
	rejects *report.Rejects
	counts  map[report.Status]int64
	codes   map[int]int64
	err     error
	dirty   bool
}

func (l *lockedReport) write(line report.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeRowsLocked(line, []int64{line.Row})
}

// writeRowsLocked writes line once for each of rows; l.mu is held.
func (l *lockedReport) writeRowsLocked(line report.Line, rows []int64) {
	l.counts[line.Status] += int64(len(rows))
	if line.Code != 0 {
		l.codes[line.Code] += int64(len(rows))
	}
	for _, row := range rows {
		line.Row = row
		l.rejects.Add(&line)
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

// linesWriter is a report.Writer that takes lines formatted ahead, many
// at a time (report.CSV): the formatting needs no lock.
type linesWriter interface {
	AppendLines(dst []byte, l report.Line, rows []int64) []byte
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
	buf = buf[:0]
	var n int64
	for i := range items {
		it := &items[i]
		buf = lw.AppendLines(buf, report.Line{From: from, Type: it.Conv.TypeName(), Peer: it.Conv.Peer, Status: status}, it.Rows)
		n += int64(len(it.Rows))
	}
	l.mu.Lock()
	l.counts[status] += n
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
		l.err = lw.WriteLines(buf)
		l.dirty = true
	}
	l.mu.Unlock()
	ctr.RowsDone.Add(n)
	return buf
}
