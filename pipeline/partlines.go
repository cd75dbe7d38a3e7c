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
	counts   map[report.Status]int64
	codes    map[int]int64
	rows     int64 // lines in buf
	requests int64 // requests reported planned (a dry run's), not yet counted
}

// newPartLines returns a buffer formatting for lw.
func newPartLines(lw linesWriter) *partLines {
	return &partLines{lw: lw, counts: map[report.Status]int64{}, codes: map[int]int64{}}
}

// reset empties pl for the next partition, keeping its memory.
func (pl *partLines) reset() {
	pl.buf = pl.buf[:0]
	clear(pl.counts)
	clear(pl.codes)
	pl.rows, pl.requests = 0, 0
}

// items appends the lines of every row of items of user from, with status
// and nothing else (no code, no message).
func (pl *partLines) items(from string, items []mark.Item, status report.Status) {
	pl.buf = pl.lw.AppendItemLines(pl.buf, from, items, status)
	var n int64
	for i := range items {
		n += int64(len(items[i].Rows))
	}
	pl.counts[status] += n
	pl.rows += n
}

// rejected appends the lines of rows beyond the conversation limit,
// except those done already (a resumed run's; done may be nil).
func (pl *partLines) rejected(rej []plan.Rejected, done mark.Rows) {
	var n int64
	for i := range rej {
		rj := &rej[i]
		if done != nil && done.Has(rj.Row) {
			continue
		}
		pl.buf = pl.lw.AppendLines(pl.buf, report.Line{From: rj.From, Type: rj.Conv.TypeName(), Peer: rj.Conv.Peer, Status: report.StatusRejected,
			Code: mark.CodeTooManyConversations, Message: rejectedMessage}, []int64{rj.Row})
		n++
	}
	if n > 0 {
		pl.counts[report.StatusRejected] += n
		pl.codes[mark.CodeTooManyConversations] += n
		pl.rows += n
	}
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
	for s, n := range pl.counts {
		l.statuses.Add(string(s), n)
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
