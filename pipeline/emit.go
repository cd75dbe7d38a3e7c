package pipeline

import (
	"errors"
	"fmt"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
)

// What becomes of each row once it is judged: an invalid row and a user's
// plan are reported, or handed on to the gate or the sender.

// invalid reports an invalid row (unless a resumed run already has it).
func (r *run) invalid(bad *plan.Invalid) {
	if r.onInvalid != nil {
		r.onInvalid(bad)
		return
	}
	if r.opts.Done != nil && r.opts.Done.Has(bad.Row) {
		return
	}
	r.rep.write(report.Line{Row: bad.Row, From: bad.From, Type: bad.Type, Peer: bad.Peer, Status: report.StatusInvalid, Code: mark.CodeInvalid, Message: bad.Message})
	r.ctr.RowsDone.Add(1)
}

// emit takes the plan of one user: its rejected rows are reported, its
// requests sent (or, in a dry run or once sending stopped, reported).
func (r *run) emit(reqs []mark.Request, rejected []plan.Rejected) error {
	if r.onPlan != nil {
		return r.onPlan(reqs, rejected)
	}
	if len(reqs) > 0 && !r.opts.Sample.Keeps(reqs[0].From) {
		// Outside the sample (the state's filter, when there is one,
		// left such users out already).
		r.leftOut.Add(1)
		for i := range reqs {
			writeItems(r.rep, r.ctr, &reqs[i], nil, report.StatusSkipped)
		}
		reqs = nil
	}
	if len(rejected) > 0 {
		r.rep.mu.Lock()
		var n int64
		for _, rj := range rejected {
			if r.opts.Done != nil && r.opts.Done.Has(rj.Row) {
				continue
			}
			r.rep.writeRowsLocked(report.Line{Row: rj.Row, From: rj.From, Type: rj.Conv.TypeName(), Peer: rj.Conv.Peer, Status: report.StatusRejected,
				Code: mark.CodeTooManyConversations, Message: rejectedMessage}, []int64{rj.Row})
			n++
		}
		r.rep.mu.Unlock()
		r.ctr.RowsDone.Add(n)
	}
	for i := range reqs {
		req := &reqs[i]
		r.seq++
		req.Seq = r.seq
		r.sum.RequestsPlanned++
		r.ctr.RequestsPlanned.Add(1)
		if r.opts.DryRun && r.gate == nil {
			writeItems(r.rep, r.ctr, req, nil, report.StatusValid)
		}
	}
	if r.opts.DryRun && r.gate == nil || len(reqs) == 0 {
		return nil
	}
	if !r.opts.DryRun && r.stopped.Err() == nil {
		if err := r.markInputRead(); err != nil {
			return err
		}
	}
	if r.gate != nil {
		// The gate hands the user's requests on once it admits them.
		select {
		case r.gate.in <- reqs:
		case <-r.stopped.Done():
			r.unsent(reqs)
		}
		return nil
	}
	for i := range reqs {
		select {
		case r.ch <- &reqs[i]:
			continue
		case <-r.stopped.Done():
		}
		r.unsent(reqs[i:])
		return nil
	}
	return nil
}

// seen counts a planned user and its conversations, before the state,
// the sample or a read-back leave any out: the summary's users and
// conversations are the input's. It may be called from the planners.
func (r *run) seen(reqs []mark.Request) {
	n := 0
	for i := range reqs {
		n += len(reqs[i].Items)
	}
	r.users.Add(1)
	r.convs.Add(int64(n))
}

// markInputRead calls Options.InputRead the first time.
func (r *run) markInputRead() error {
	if r.inputRead || r.opts.InputRead == nil || r.onPlan != nil {
		return nil
	}
	r.inputRead = true
	err := r.opts.InputRead()
	var we *report.WriteError
	if errors.As(err, &we) {
		// The journal could not take its name: as any report failure.
		r.rep.mu.Lock()
		r.rep.fail(err)
		r.rep.mu.Unlock()
	}
	return err
}

// rejectedMessage is the report's message for a row beyond the limit.
var rejectedMessage = fmt.Sprintf("conversation beyond the limit of %d per user", mark.MaxConversations)

// writeItems writes the report lines of every row of a request: from its
// outcomes, or all with the given status when outcomes are nil.
func writeItems(rep *lockedReport, ctr *mark.Counters, req *mark.Request, out []mark.Outcome, status report.Status, msg ...string) {
	if out == nil {
		l := report.Line{Status: status}
		if len(msg) > 0 {
			l.Message = msg[0]
		}
		writeItemsLine(rep, ctr, req, l)
		return
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for i := range req.Items {
		it := &req.Items[i]
		o := out[i]
		l := report.Line{From: req.From, Type: it.Conv.TypeName(), Peer: it.Conv.Peer, Code: o.Code, Message: o.Message, Attempts: o.Attempts}
		switch {
		case !o.Sent:
			l.Status = report.StatusUnsent
		case o.Code == 0:
			l.Status = report.StatusOK
		default:
			l.Status = report.StatusFailed
		}
		rep.writeRowsLocked(l, it.Rows)
		ctr.RowsDone.Add(int64(len(it.Rows)))
	}
}

// writeItemsLine writes the report lines of every row of a request with
// the status, code and message of l.
func writeItemsLine(rep *lockedReport, ctr *mark.Counters, req *mark.Request, l report.Line) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for i := range req.Items {
		it := &req.Items[i]
		l.From, l.Type, l.Peer = req.From, it.Conv.TypeName(), it.Conv.Peer
		rep.writeRowsLocked(l, it.Rows)
		ctr.RowsDone.Add(int64(len(it.Rows)))
	}
}

// unsent reports the rows of requests that will not be sent, with why
// sending stopped; in a preview (a dry run with a gate), the rows of
// requests that will not be read are unread.
func (r *run) unsent(reqs []mark.Request) {
	status, why := report.StatusUnsent, r.stop.rowMessage("not sent")
	if r.opts.DryRun {
		status, why = report.StatusUnread, r.stop.rowMessage("not read")
	}
	for i := range reqs {
		writeItems(r.rep, r.ctr, &reqs[i], nil, status, why)
	}
}
