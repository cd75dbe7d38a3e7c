package sink

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
)

// Send is the pipeline's sender: workers take requests from reqs and send
// each, with retries, through the one pacer. When ctx is done, or a fatal
// answer arrives, no new request is started; requests already on the wire
// finish (bounded by the request timeout) and are reported.
func (c *Client) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// In-flight HTTP requests are not cut by a stop: their answer tells
	// what the server did, which the report must say.
	wireCtx := context.WithoutCancel(ctx)
	// A worker takes a request only when fewer than queued requests wait
	// at the pacer: the others wait where they were planned, so that a
	// user read back just before its requests were handed over (--backup,
	// --mode insert) is written within a few pacer steps, not behind a
	// second's worth of requests held by idle workers.
	queue := make(chan struct{}, pacerQueue(c.pacer.pace()))
	var g errgroup.Group
	for range c.cfg.Concurrency {
		g.Go(func() error {
			for {
				select {
				case <-stopCtx.Done():
					return nil
				case queue <- struct{}{}:
				}
				var req *mark.Request
				var ok bool
				select {
				case <-stopCtx.Done():
					<-queue
					return nil
				case req, ok = <-reqs:
					if !ok {
						<-queue
						return nil
					}
				}
				out, err := c.send(stopCtx, wireCtx, req, func() { <-queue })
				done(req, out)
				if err != nil {
					stop(err)
					return nil
				}
			}
		})
	}
	g.Wait()
	if cause := context.Cause(stopCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return ctx.Err()
}

// send delivers one planned request, retrying what can be retried: the
// whole request, or only its items that the answer says to retry, in a new
// request of the same user. It returns one outcome per item and, when the
// API answered with a fatal code, a *mark.FatalError.
//
// An item's outcome is Sent only when the API answered for it (ok, or a
// code that fails it), or when it reached the API and still failed after
// the last attempt. An item not confirmed when the run stops is unsent,
// whatever answers it had before: its row is sent again by --resume.
func (c *Client) send(stopCtx, wireCtx context.Context, req *mark.Request, paced func()) ([]mark.Outcome, error) {
	released := false
	release := func() {
		if !released {
			released = true
			paced()
		}
	}
	defer release() // a request stopped before the pacer let it go
	out := make([]mark.Outcome, len(req.Items))
	pending := make([]int, len(req.Items))
	for i := range pending {
		pending[i] = i
	}
	var itemFatal *mark.FatalError
	res := c.retry(stopCtx, release, func() attempt {
		results, a := c.post(wireCtx, req.From, req.Items, pending)
		if a.left {
			for _, i := range pending {
				out[i].Attempts++
			}
		}
		if a.class != classOK {
			return a
		}
		var again attempt
		pending, again = takeResults(req, results, pending, out, &itemFatal)
		again.left, again.status, again.sent = true, a.status, a.sent
		return again
	})
	settle(out, pending, res, itemFatal)
	if res.end == fatal {
		return out, res.last.fatal
	}
	return out, nil
}

// takeResults reads the checked result of each pending item of a request
// that went through, found by its conversation, never by position: it fills
// in the outcome of each item answered for good, and returns the items
// still to retry with the attempt's class (classThrottled before
// classTransient, classOK when none is left) and last code. A fatal code
// on an item (edition, permissions) will be the same for every other item:
// the first one is kept in itemFatal, and the attempt is fatal, to stop the
// run instead of a flood.
func takeResults(req *mark.Request, results map[mark.Conversation]itemResult, pending []int, out []mark.Outcome, itemFatal **mark.FatalError) ([]int, attempt) {
	still := pending[:0]
	again := attempt{class: classOK}
	for _, i := range pending {
		it := &req.Items[i]
		r := results[it.Conv]
		code, msg := r.code, apiMessage(r.code, r.info)
		if r.problem != nil {
			code, msg = codeProtocol, r.problem.Error()
		}
		switch cl := classifyCode(code); cl {
		case classOK:
			out[i].Sent, out[i].Code, out[i].Message = true, 0, ""
		case classThrottled, classTransient:
			still = append(still, i)
			if again.class != classThrottled {
				again.class = cl
			}
			again.code, again.msg = code, msg
		case classFatal, classSigExpired:
			out[i].Sent, out[i].Code, out[i].Message = true, code, msg
			if *itemFatal == nil {
				*itemFatal = &mark.FatalError{Code: code, Info: Redact(r.info), Hint: hint(code)}
			}
		default:
			out[i].Sent, out[i].Code, out[i].Message = true, code, msg
		}
	}
	if f := *itemFatal; f != nil {
		return still, attempt{class: classFatal, fatal: f, code: f.Code, msg: apiMessage(f.Code, f.Info)}
	}
	return still, again
}

// settle fills in the outcome of each item still pending when the retry
// loop ended, by how it ended (res) and its last answer.
func settle(out []mark.Outcome, pending []int, res result, itemFatal *mark.FatalError) {
	last := res.last
	for _, i := range pending {
		o := &out[i]
		o.Code = last.code
		switch {
		case res.end == gaveUp:
			o.Sent = o.Attempts > 0
			o.Message = fmt.Sprintf("gave up after %d attempts: %s", res.tries, last.msg)
		case res.end == failed:
			o.Sent, o.Message = true, last.msg
		case res.end == stopped && last.msg == "":
			o.Code, o.Message = 0, "not sent: the run stopped"
		case res.end == stopped:
			o.Message = "not retried: the run stopped; last answer: " + last.msg
		case last.fatal != nil && last.fatal.Code == mark.CodeUnreachable:
			o.Code, o.Message = codeTransport, "not sent: "+last.fatal.Error()
		case last.fatal == itemFatal:
			o.Message = "not retried: the run stopped on API error " + strconv.Itoa(last.code)
		default: // a fatal answer to the whole request
			o.Sent, o.Message = true, last.msg
		}
	}
}

// pacerQueue is how many requests may wait at the pacer: a tenth of a
// second of them at the rate, at least 4.
func pacerQueue(rate float64) int {
	return max(4, int(rate/10))
}
