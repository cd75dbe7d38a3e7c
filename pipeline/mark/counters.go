package mark

import (
	"sync/atomic"
	"time"
)

// Counters are bumped by the pipeline and the sender as work progresses; a
// progress observer reads them. All fields are updated atomically.
type Counters struct {
	RowsRead        atomic.Int64
	RowsTotal       atomic.Int64 // known once reading is done
	RowsDone        atomic.Int64 // rows with a final report line
	RequestsPlanned atomic.Int64
	// PlanDone is set once every request is planned: until then,
	// RequestsPlanned is a count so far (planning runs beside sending).
	PlanDone     atomic.Bool
	RequestsDone atomic.Int64
	HTTPRequests atomic.Int64 // every request put on the wire, retries included
	// ItemsSent counts the items of the requests that left at least once.
	ItemsSent atomic.Int64
	Retries   atomic.Int64
	// Answers counts the requests that left by how their try ended: the
	// answer's code ("0", an API code, "-1" no usable answer, "-2" an
	// answer of the wrong shape), or "http_STATUS" for an HTTP status
	// other than 200.
	Answers Tally
	// Throttled counts the throttled answers by code, as Answers.
	Throttled Tally
	// Statuses counts the rows reported, by status.
	Statuses Tally
	// FirstSend and LastSend are when the first and the latest request
	// left (Unix nanoseconds): the sending pace is measured between them,
	// without the wait for the last answers.
	FirstSend atomic.Int64
	LastSend  atomic.Int64
}

// MarkSend records that a request left at t.
func (c *Counters) MarkSend(t time.Time) {
	n := t.UnixNano()
	c.FirstSend.CompareAndSwap(0, n)
	for {
		last := c.LastSend.Load()
		if n <= last || c.LastSend.CompareAndSwap(last, n) {
			return
		}
	}
}

// Pace is the requests per second between the first and the latest
// request sent: the sending rate, without the wait for the last answers.
func (c *Counters) Pace() float64 {
	first, last := c.FirstSend.Load(), c.LastSend.Load()
	n := c.HTTPRequests.Load()
	if n < 2 || last <= first {
		return 0
	}
	return float64(n-1) / (float64(last-first) / 1e9)
}
