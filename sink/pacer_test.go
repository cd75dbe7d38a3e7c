package sink

import (
	"context"
	"slices"
	"testing"
	"time"
)

// fakeClock drives the pacer's ring without real time.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

// maxInWindow is the most times within any sliding window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

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
			if _, err := p.Admit(context.Background()); err != nil {
				t.Fatal(err)
			}
			ts = append(ts, c.t)
		}
		// The server's rule, measured independently of the pacer's own
		// window: at most r in any one second, and indeed in any window of
		// 1/(1-margin) s, which is the headroom.
		if got := maxInWindow(ts, time.Second); got > int(r) {
			t.Errorf("rate %g: %d departures in one second", r, got)
		}
		margin := DefaultMargin
		if w := time.Duration(float64(time.Second) / (1 - margin)); maxInWindow(ts, w) > int(r) {
			t.Errorf("rate %g: %d departures in %v, want at most %d", r, maxInWindow(ts, w), w, int(r))
		}
	}
}

func TestPacerThrottledSlowsAndRecovers(t *testing.T) {
	p := NewPacer(200, DefaultMargin)
	c := &fakeClock{t: time.Unix(1700000000, 0)}
	p.now = c.now
	full := p.Rate()
	p.Throttled()
	p.Throttled() // the same episode: not halved twice
	if got := p.Rate(); got != full*0.9 {
		t.Fatalf("rate after throttle %g, want %g", got, full*0.9)
	}
	for range 20 {
		c.t = c.t.Add(1100 * time.Millisecond)
		p.recover()
	}
	if got := p.Rate(); got != full {
		t.Fatalf("rate did not recover: %g, want %g", got, full)
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
			for p.Wait(ctx) == nil {
				tm, err := p.Admit(ctx)
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
	if got := maxInWindow(ts, p.Window()); got > 200 {
		t.Errorf("%d requests in %v at 200/s", got, p.Window())
	}
	if len(ts) == 0 {
		t.Fatal("no request left in 1.5 s")
	}
}
