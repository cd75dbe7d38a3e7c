package pipeline

import (
	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
)

// Report lines formatted ahead, a partition at a time: the planner that
// plans a partition formats the lines of its users into the partition's
// buffer, outside the report's lock, and emit writes the buffer in one
// piece when the partition's turn comes. Both cores format, the report is
// written in the order a single planner would write it, and the lock is
// taken once a partition instead of once a user.

// partLines is the report lines of one partition's users, formatted and
// counted, waiting for emit.
type partLines struct {
	lw       linesWriter
	buf      []byte
	counts   []statusCount // rows in buf by status, a status once
	codes    map[int]int64
	rows     int64 // lines in buf
	requests int64 // requests reported planned (a dry run's), not yet counted

	// A user's rows beyond the limit as items of one row each (rejRows
	// holds the rows), so that their lines are formatted as a user's
	// items are: the outcome once, not once a row.
	rejItems []mark.Item
	rejRows  []int64
}

// newPartLines returns a buffer formatting for lw.
func newPartLines(lw linesWriter) *partLines {
	return &partLines{lw: lw, codes: map[int]int64{}}
}

// statusCount is how many lines of a partLines have the status.
type statusCount struct {
	status report.Status
	n      int64
}

// count adds n lines of status: a partition's lines have a few statuses,
// and a user's a call, so a search of a short list beats a map.
func (pl *partLines) count(status report.Status, n int64) {
	for i := range pl.counts {
		if pl.counts[i].status == status {
			pl.counts[i].n += n
			return
		}
	}
	pl.counts = append(pl.counts, statusCount{status, n})
}

// reset empties pl for the next partition, keeping its memory.
func (pl *partLines) reset() {
	pl.buf = pl.buf[:0]
	pl.counts = pl.counts[:0]
	clear(pl.codes)
	pl.rows, pl.requests = 0, 0
}

// items appends the lines of every row of items of user from, with status
// and nothing else (no code, no message).
func (pl *partLines) items(from string, items []mark.Item, status report.Status) {
	pl.buf = pl.lw.AppendItemLines(pl.buf, from, items, report.Line{Status: status})
	var n int64
	for i := range items {
		n += int64(len(items[i].Rows))
	}
	pl.count(status, n)
	pl.rows += n
}

// rejected appends the lines of rows beyond the conversation limit,
// except those done already (a resumed run's; done may be nil).
func (pl *partLines) rejected(rej []plan.Rejected, done mark.Rows) {
	rows, items := pl.rejRows[:0], pl.rejItems[:0]
	for i := range rej {
		if done != nil && done.Has(rej[i].Row) {
			continue
		}
		k := len(rows)
		rows = append(rows, rej[i].Row)
		items = append(items, mark.Item{Conv: rej[i].Conv, Rows: rows[k : k+1 : k+1]})
	}
	if len(rows) == 0 {
		return
	}
	// The rows of one call are one user's (PlanUser's).
	pl.buf = pl.lw.AppendItemLines(pl.buf, rej[0].From, items,
		report.Line{Status: report.StatusRejected, Code: mark.CodeTooManyConversations, Message: rejectedMessage})
	n := int64(len(rows))
	pl.count(report.StatusRejected, n)
	pl.codes[mark.CodeTooManyConversations] += n
	pl.rows += n
	clear(items) // they point at the user's peers
	pl.rejRows, pl.rejItems = rows, items
}

// batchable returns the report's linesWriter when lines can be formatted
// ahead into partLines: a report.CSV, with no rejects file (which takes
// each line as a report.Line).
func (l *lockedReport) batchable() (linesWriter, bool) {
	lw, ok := l.w.(linesWriter)
	return lw, ok && l.rejects == nil
}

// writePart writes and counts the lines of pl, and counts them done.
func (l *lockedReport) writePart(ctr *mark.Counters, pl *partLines) {
	if pl.rows == 0 {
		return
	}
	l.mu.Lock()
	for _, c := range pl.counts {
		l.statuses.Add(string(c.status), c.n)
	}
	for c, n := range pl.codes {
		l.codes[c] += n
	}
	if l.err == nil && len(pl.buf) > 0 {
		l.fail(pl.lw.WriteLines(pl.buf))
		l.dirty = true
	}
	l.mu.Unlock()
	ctr.RowsDone.Add(pl.rows)
}

// reportDry reports, in the planner, a user's plan in a dry run without a
// gate, as emit would: a user outside the sample skipped, rows beyond the
// limit rejected, the others valid. Nothing is left for emit.
func (r *run) reportDry(pl *partLines, reqs []mark.Request, rej []plan.Rejected) ([]mark.Request, []plan.Rejected) {
	if len(reqs) > 0 && !r.opts.Sample.Keeps(reqs[0].From) {
		r.leftOut.Add(1)
		for i := range reqs {
			pl.items(reqs[i].From, reqs[i].Items, report.StatusSkipped)
		}
		reqs = nil
	}
	pl.rejected(rej, r.opts.Done)
	for i := range reqs {
		pl.items(reqs[i].From, reqs[i].Items, report.StatusValid)
	}
	pl.requests += int64(len(reqs))
	return nil, nil
}

// flushPart writes a partition's lines, in emit's goroutine, and counts
// the requests they reported planned.
func (r *run) flushPart(pl *partLines) {
	r.rep.writePart(r.ctr, pl)
	if pl.requests > 0 {
		r.seq += pl.requests
		r.sum.RequestsPlanned += pl.requests
		r.ctr.RequestsPlanned.Add(pl.requests)
	}
}
