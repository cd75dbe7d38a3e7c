package main

import (
	"context"
	"time"
)

// trace observes a command from outside, as net/http/httptrace observes a
// request: whoever runs a command in-process may see when each of its
// requests leaves (the tests check the pacing by the departures the
// pacers admit). Nothing in the command sets one: the shipped binary runs
// without.
type trace struct {
	// Departure sees every request to the write API (and verify's reads),
	// as its pacer lets it leave.
	Departure func(time.Time)
	// ReadDeparture sees every read --backup and --mode insert make, paced
	// apart from the writes.
	ReadDeparture func(time.Time)
}

type traceKey struct{}

// withTrace is ctx carrying t for the command run under it.
func withTrace(ctx context.Context, t *trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// traceOf is the trace ctx carries, or an empty one.
func traceOf(ctx context.Context) *trace {
	if t, ok := ctx.Value(traceKey{}).(*trace); ok && t != nil {
		return t
	}
	return &trace{}
}
