package sink

import (
	"context"
	"markimport/sink/fakeim"
	"slices"
	"testing"
	"time"
)

func TestPacerCeilingHoldsThroughStalls(t *testing.T) {
	for _, r := range []float64{200, 50, 1000} {
		p := NewPacer(r, DefaultMargin)
		c := &fakeClock{t: time.Unix(1700000000, 0)}
		p.now, p.sleep = c.now, c.sleep
		var ts []time.Time
		for i := range 5000 {
			// Mostly evenly spaced at the full rate, with stalls after which
			// everything that waited arrives at once.
			if i%500 == 499 {
				c.t = c.t.Add(300 * time.Millisecond)
			} else {
				c.t = c.t.Add(time.Duration(float64(time.Second) / r / 2))
			}
			if _, err := p.admit(context.Background()); err != nil {
				t.Fatal(err)
			}
			ts = append(ts, c.t)
		}
		// The server's rule, measured independently of the pacer's own
		// window: at most r in any one second, and indeed in any window of
		// 1/(1-margin) s, which is the headroom.
		if got := fakeim.MaxInWindow(ts, time.Second); got > int(r) {
			t.Errorf("rate %g: %d departures in one second", r, got)
		}
		margin := DefaultMargin
		if w := time.Duration(float64(time.Second) / (1 - margin)); fakeim.MaxInWindow(ts, w) > int(r) {
			t.Errorf("rate %g: %d departures in %v, want at most %d", r, fakeim.MaxInWindow(ts, w), w, int(r))
		}
	}
}

// TestPacerThrottledSlowsAndRecovers: a throttle lowers the pace to what
// the server took of the requests of the second before, less the margin,
// when that is far below the pace (by 1% when it is not), the ceiling with
// it; throttles of requests sent before that, or within the next second,
// change nothing; a quiet pace climbs back to the pace learned, then
// slowly to the top.
func TestPacerThrottledSlowsAndRecovers(t *testing.T) {
	p := NewPacer(200, DefaultMargin)
	c := &fakeClock{t: time.Unix(1700000000, 0)}
	p.now, p.sleep = c.now, c.sleep
	full := p.pace()
	for range 150 { // 150 requests left in the second before
		c.t = c.t.Add(5 * time.Millisecond)
		p.admit(context.Background())
	}
	c.t = c.t.Add(5 * time.Millisecond)
	sent := c.t
	if !p.throttled(sent) {
		t.Fatal("a throttle at full pace did not slow the pacer")
	}
	want := 150 * (1 - DefaultMargin)
	if got := p.pace(); got != want {
		t.Fatalf("pace after a throttle %g, want %g (150 taken, less the margin)", got, want)
	}
	for _, again := range []time.Time{sent.Add(-time.Second), sent, sent.Add(999 * time.Millisecond)} {
		c.t = again
		if !p.throttled(again) || p.pace() != want {
			t.Fatalf("a throttle of a request sent at %v lowered the pace again: %g", again.Sub(sent), p.pace())
		}
	}
	// The ceiling follows the pace: 150 in a window, not 200.
	c.t = sent.Add(time.Second)
	start := c.t
	var ts []time.Time
	for range 400 {
		tm, _ := p.admit(context.Background())
		ts = append(ts, tm)
	}
	if got := fakeim.MaxInWindow(ts, p.Window()); got != 150 {
		t.Errorf("%d departures in a window after the pace fell to %g, want 150", got, want)
	}
	// Quiet: back to the top, by small steps above the pace learned.
	c.t = start.Add(10 * time.Second)
	raises := 0
	for p.pace() < full && raises < 1000 {
		c.t = c.t.Add(500 * time.Millisecond)
		before := p.pace()
		p.recover()
		if step := p.pace() - before; step > want/200+1e-9 {
			t.Fatalf("a step of %g above the pace learned, want at most %g", step, want/200)
		}
		raises++
	}
	if got := p.pace(); got != full {
		t.Fatalf("rate did not recover: %g, want %g", got, full)
	}

	// A server that took about all the pace (a bunch that arrived
	// together, or another client's share): the pace falls by 1%. Those
	// it refused are not counted as taken.
	for _, tc := range []struct{ left, refused int }{{190, 0}, {200, 0}, {200, 30}} {
		p = NewPacer(200, DefaultMargin)
		c = &fakeClock{t: time.Unix(1700000000, 0)}
		p.now, p.sleep = c.now, c.sleep
		for i := range tc.left {
			c.t = c.t.Add(4 * time.Millisecond)
			tm, _ := p.admit(context.Background())
			if i < tc.refused {
				p.refused[p.refPos] = tm
				p.refPos++
			}
		}
		c.t = c.t.Add(time.Millisecond)
		p.throttled(c.t)
		want := full * 0.99
		if tc.refused > 0 {
			want = float64(tc.left-tc.refused) * (1 - DefaultMargin)
		}
		if got := p.pace(); got != want {
			t.Errorf("pace %g after a throttle with %d left and %d refused, want %g", got, tc.left, tc.refused, want)
		}
	}
}

// TestPacerFloor: a server that takes nothing brings the pace to its
// floor at once; below it the pace cannot go, so a throttle there counts
// as an attempt (Throttled reports false) once the second after the fall
// has passed.
func TestPacerFloor(t *testing.T) {
	p := NewPacer(200, DefaultMargin)
	c := &fakeClock{t: time.Unix(1700000000, 0)}
	p.now = c.now
	if !p.throttled(c.t) || p.pace() != p.floor {
		t.Fatalf("pace %g after a throttle with nothing taken, want the floor %g", p.pace(), p.floor)
	}
	c.t = c.t.Add(500 * time.Millisecond)
	if !p.throttled(c.t) {
		t.Error("a throttle within the second after the fall counted as an attempt")
	}
	c.t = c.t.Add(time.Second)
	if p.throttled(c.t) {
		t.Error("a throttle at the floor, a second after the fall, did not count as an attempt")
	}
}

// TestPacerHold: no request leaves before a hold ends; a shorter hold does
// not cut a longer one.
func TestPacerHold(t *testing.T) {
	p := NewPacer(200, DefaultMargin)
	c := &fakeClock{t: time.Unix(1700000000, 0)}
	p.now, p.sleep = c.now, c.sleep
	start := c.t
	p.holdUntil(start.Add(3 * time.Second))
	p.holdUntil(start.Add(time.Second))
	if err := p.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.t.Sub(start); got != 3*time.Second {
		t.Errorf("Wait returned after %v, want the 3 s hold", got)
	}
	// A request already past Wait, waiting for its connection, is held
	// at Admit.
	p.holdUntil(c.t.Add(2 * time.Second))
	if tm, err := p.admit(context.Background()); err != nil || tm.Sub(start) != 5*time.Second {
		t.Errorf("Admit let a request go at %v, want after the hold at 5 s", tm.Sub(start))
	}
}

// TestPacerRealRate: 64 workers through one pacer at 200/s for 1.5 s, on
// the real clock, never get more than the ceiling into a window, counted
// on the departure times the pacer hands out. (How close to the rate they
// get is a figure of make bench, not an assertion: it depends on the
// machine's load.)
func TestPacerRealRate(t *testing.T) {
	p := NewPacer(200, DefaultMargin)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	times := make(chan time.Time, 1000)
	done := make(chan struct{})
	for range 64 {
		go func() {
			for p.wait(ctx) == nil {
				tm, err := p.admit(ctx)
				if err != nil {
					break
				}
				times <- tm
			}
			done <- struct{}{}
		}()
	}
	for range 64 {
		<-done
	}
	close(times)
	var ts []time.Time
	for tm := range times {
		ts = append(ts, tm)
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	if got := fakeim.MaxInWindow(ts, p.Window()); got > 200 {
		t.Errorf("%d requests in %v at 200/s", got, p.Window())
	}
	if len(ts) == 0 {
		t.Fatal("no request left in 1.5 s")
	}
}
