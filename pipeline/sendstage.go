package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
)

// send runs the sending pass. The producer plans and hands requests to
// the sender (through the gate, when there is one); once sending stops on
// a fatal answer it goes on planning, only to report the rest unsent. An
// interrupt (parent done, or the report failing: ctx done) stops it too.
func (r *run) send(parent, ctx context.Context, produce func(context.Context) error) error {
	sendCtx, cancelSend := context.WithCancel(ctx)
	defer cancelSend()
	r.stopped = sendCtx
	if r.opts.Halt != nil {
		go r.haltOn(sendCtx, cancelSend)
	}
	r.ch = make(chan *mark.Request)
	if r.opts.Gate != nil {
		r.gate = r.startGate(cancelSend)
	}
	var prodErr error
	var g errgroup.Group
	g.Go(func() error {
		defer close(r.ch)
		prodErr = produce(ctx)
		if r.gate != nil {
			close(r.gate.in)
			r.gate.g.Wait()
		}
		return nil
	})
	sendStart := time.Now()
	sendErr := r.sendStopped(parent, r.opts.Sender.Send(sendCtx, r.ch, r.answered))
	cancelSend()
	g.Wait()
	r.sum.SendSeconds = time.Since(sendStart).Seconds()
	if sendErr != nil {
		return sendErr
	}
	if prodErr == nil && r.sum.Rows == 0 {
		prodErr = r.noRows()
	}
	if prodErr != nil && parent.Err() != nil {
		r.stop.interrupted()
	}
	return prodErr
}

// answered takes the outcomes of a request the sender is done with: its
// rows are reported, the items the API confirmed recorded in the state.
func (r *run) answered(req *mark.Request, out []mark.Outcome) {
	if r.gate != nil {
		r.gate.answered(req)
	}
	writeItems(r.rep, r.ctr, req, out, "")
	if r.opts.State != nil {
		for i := range out {
			if out[i].Sent && out[i].Code == 0 {
				r.opts.State.Confirmed(req.From, &req.Items[i])
			}
		}
	}
	r.ctr.RequestsDone.Add(1)
	ok, failed := countItems(out)
	r.opts.Timeline.Items(time.Now(), ok, failed)
	// A request counts as sent when it left at least once, and so does
	// each of its items.
	var items int64
	for i := range out {
		if out[i].Attempts > 0 {
			items++
		}
	}
	if items > 0 {
		atomic.AddInt64(&r.sum.RequestsSent, 1)
		r.ctr.ItemsSent.Add(items)
	}
}

// haltOn cancels the sending once Options.Halt is done, or returns when
// the sending ends first. The halt's error is the run's stop cause before
// the sending is cancelled, as a failed gate's is: the producer reports
// rows unsent as soon as the sending is cancelled, and each must say why.
// A fatal answer the sender was already stopping on replaces it
// (stopCause).
func (r *run) haltOn(sendCtx context.Context, cancelSend context.CancelFunc) {
	select {
	case <-r.opts.Halt.Done():
		if err := r.opts.Halt.Err(); err != nil && sendCtx.Err() == nil {
			r.stop.halted(err)
		}
		cancelSend()
	case <-sendCtx.Done():
	}
}

// haltedBy is h's error once h holds, else nil (also for no h).
func haltedBy(h Halt) Stop {
	if h == nil {
		return nil
	}
	select {
	case <-h.Done():
		return h.Err()
	default:
		return nil
	}
}

// sendStopped settles why the sending ended, given what the sender
// returned, and returns the error that stopped it (nil when it ran to
// its end). A gate that failed, else Options.Halt, stopped the sending:
// it is why, unless the sender stopped on a fatal answer of its own or
// the run was interrupted.
func (r *run) sendStopped(parent context.Context, sendErr error) error {
	r.stop.closeHalts()
	var fe *mark.FatalError
	if !errors.As(sendErr, &fe) && parent.Err() == nil {
		var gerr error
		if r.gate != nil {
			gerr = r.gate.error()
		}
		if gerr != nil {
			sendErr = gerr
		} else if herr := haltedBy(r.opts.Halt); herr != nil {
			sendErr = herr
		}
	}
	switch {
	case sendErr == nil:
	case errors.As(sendErr, &fe):
		r.stop.setError(sendErr)
	case parent.Err() != nil:
		r.stop.interrupted()
	default:
		r.stop.setError(sendErr)
	}
	r.stop.settle()
	return sendErr
}

// countItems counts a request's outcomes the API confirmed (ok) and those
// that failed for good; items not confirmed before a stop are neither.
func countItems(out []mark.Outcome) (ok, failed int) {
	for i := range out {
		switch {
		case !out[i].Sent:
		case out[i].Code == 0:
			ok++
		default:
			failed++
		}
	}
	return ok, failed
}
