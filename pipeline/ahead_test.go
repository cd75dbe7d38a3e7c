package pipeline

import (
	"context"
	"testing"
	"time"
)

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

	// Full: the next acquire waits for a release, or ends with its context.
	a = newAheadLimit(200, 20, nil)
	ctx := context.Background()
	if err := a.acquire(ctx, 15); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- a.acquire(ctx, 10) }()
	select {
	case err := <-got:
		t.Fatalf("acquired beyond the limit: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	a.release(15)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { got <- a.acquire(cctx, 15) }()
	cancel()
	if err := <-got; err != context.Canceled {
		t.Fatalf("a cancelled acquire: %v", err)
	}
	// A weight above the limit is taken once nothing else is held.
	a.release(10)
	if err := a.acquire(ctx, 30); err != nil {
		t.Fatal(err)
	}
}
