package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
)

// Gate decides, user by user, right before a user's requests are sent,
// whether each of its items may go (the backup's read-back, run --backup).
// Admit is called from several goroutines, each with one user's planned
// items, and returns one verdict per item; it returns a *mark.FatalError
// when the run must stop, ctx.Err() when interrupted, or another error
// when nothing more may be sent (a backup that cannot be written).
type Gate interface {
	Admit(ctx context.Context, from string, items []mark.Item) ([]mark.Verdict, error)
}

// DefaultGateWorkers is how many users the gate admits at once: enough
// reads in flight that a server answering in 250 ms still keeps the
// writes at 200/s with one request per user, few enough that a user is
// read shortly before it is sent.
const DefaultGateWorkers = 64

// gateStage runs the gate between the planner and the sender: emit hands
// it each user's requests; workers admit them and hand the requests whose
// items may go to the sender, and report the rows of held items.
type gateStage struct {
	r    *run
	in   chan []mark.Request
	g    errgroup.Group
	stop context.CancelFunc // stops sending: the gate failed
	err  atomic.Pointer[error]
}

// startGate starts the gate's workers; stop cancels sending.
func (r *run) startGate(stop context.CancelFunc) *gateStage {
	n := r.opts.GateWorkers
	if n <= 0 {
		n = DefaultGateWorkers
	}
	gs := &gateStage{r: r, in: make(chan []mark.Request), stop: stop}
	for range n {
		gs.g.Go(func() error {
			for reqs := range gs.in {
				gs.admit(reqs)
			}
			return nil
		})
	}
	return gs
}

// error is the gate's error, if it stopped the run.
func (gs *gateStage) error() error {
	if p := gs.err.Load(); p != nil {
		return *p
	}
	return nil
}

// admit puts one user's requests through the gate.
func (gs *gateStage) admit(reqs []mark.Request) {
	r := gs.r
	from := reqs[0].From
	if r.stopped.Err() != nil {
		r.unsent(reqs)
		return
	}
	var items []mark.Item
	for i := range reqs {
		items = append(items, reqs[i].Items...)
	}
	verdicts, err := r.opts.Gate.Admit(r.stopped, from, items)
	if err != nil {
		if r.stopped.Err() == nil {
			// The gate stops the run: nothing more is sent.
			why := "not sent: " + err.Error()
			var fe *mark.FatalError
			if errors.As(err, &fe) {
				why = fmt.Sprintf("not sent: the run stopped on API error %d", fe.Code)
			}
			if gs.err.CompareAndSwap(nil, &err) {
				r.why.Store(&why)
			}
			gs.stop()
		}
		r.unsent(reqs)
		return
	}
	kept := items[:0:0]
	for i := range items {
		v := verdicts[i]
		if v.Hold == mark.Send {
			kept = append(kept, items[i])
			continue
		}
		req := mark.Request{From: from, Items: items[i : i+1]}
		writeItems(r.rep, r.ctr, &req, []mark.Outcome{{Code: v.Code, Message: v.Message}}, "")
	}
	if len(kept) < len(items) {
		// What is held back takes no room: the rest is packed again.
		packed := plan.Pack(nil, from, kept)
		for i := range packed {
			packed[i].Seq = reqs[i].Seq
		}
		reqs = packed
	}
	for i := range reqs {
		select {
		case r.ch <- &reqs[i]:
		case <-r.stopped.Done():
			r.unsent(reqs[i:])
			return
		}
	}
}

// unsent reports the rows of requests that will not be sent, with why
// sending stopped.
func (r *run) unsent(reqs []mark.Request) {
	why := "not sent: the run was interrupted"
	if p := r.why.Load(); p != nil {
		why = *p
	}
	for i := range reqs {
		writeItems(r.rep, r.ctr, &reqs[i], nil, report.StatusUnsent, why)
	}
}
