package pipeline

import (
	"markimport/pipeline/report"
	"sync"
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
