package pipeline

import (
	"context"
	"testing"
	"time"
)

// TestAheadLimitFollowsReads: the bound covers three reads at the send
// rate, within [minAhead, max].
func TestAheadLimitFollowsReads(t *testing.T) {
	var latency time.Duration
	a := newAheadLimit(200, 256, func() time.Duration { return latency })
	if got := a.limit(); got != 3*200/4+minAhead {
		t.Errorf("limit %d before a read was measured, want %d (a 250 ms guess)", got, 3*200/4+minAhead)
	}
	latency = 20 * time.Millisecond
	if got := a.limit(); got != 12+minAhead {
		t.Errorf("limit %d with 20 ms reads, want %d", got, 12+minAhead)
	}
	latency = 5 * time.Second
	if got := a.limit(); got != 256 {
		t.Errorf("limit %d with slow reads, want the bound 256", got)
	}
}

// latencyProbe is a read latency that says each time acquire asks the
// limit (it does, under the limit's lock, right before it would wait) and
// answers only when the test lets it: the test knows where acquire is
// without sleeping.
type latencyProbe struct{ asked, answer chan struct{} }

func newLatencyProbe() *latencyProbe {
	return &latencyProbe{asked: make(chan struct{}), answer: make(chan struct{})}
}

func (p *latencyProbe) latency() time.Duration {
	p.asked <- struct{}{}
	<-p.answer
	return 0 // unknown: the bound is then the limit's max
}

// recheck waits until acquire asks the limit again, and answers; it fails
// when acquire returned instead, with what it returned.
func (p *latencyProbe) recheck(t *testing.T, got <-chan error, what string) {
	t.Helper()
	select {
	case <-p.asked:
		p.answer <- struct{}{}
	case err := <-got:
		t.Fatalf("%s: acquire returned %v without waiting", what, err)
	}
}

// TestAheadLimitBlocks: with the room taken, acquire waits until a
// release or its context ends; a weight above the limit is taken once
// nothing else is held.
func TestAheadLimitBlocks(t *testing.T) {
	p := newLatencyProbe()
	a := newAheadLimit(200, 20, p.latency)
	ctx := context.Background()
	if err := a.acquire(ctx, 15); err != nil { // nothing held: no check
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- a.acquire(ctx, 10) }()
	p.recheck(t, got, "15 of 20 held, 10 more asked")
	// release takes the lock acquire holds while it checks: it runs once
	// acquire waits (or, were it not to wait, once it returned). A waiting
	// acquire is woken and checks again: 14 of 20 held, still no room.
	a.release(1)
	p.recheck(t, got, "after a release of 1")
	a.release(14) // nothing held: it takes the room without asking
	if err := <-got; err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithCancel(ctx)
	go func() { got <- a.acquire(cctx, 15) }()
	p.recheck(t, got, "10 of 20 held, 15 more asked")
	a.mu.Lock() // acquire holds the lock until it waits
	cancel()
	a.mu.Unlock()
	p.recheck(t, got, "after the cancel") // woken by the cancel
	if err := <-got; err != context.Canceled {
		t.Fatalf("a cancelled acquire: %v", err)
	}
	// A weight above the limit is taken once nothing else is held.
	a.release(10)
	if err := a.acquire(ctx, 30); err != nil {
		t.Fatal(err)
	}
}
