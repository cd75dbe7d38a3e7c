package sink

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacer spaces requests so that the server never counts more than the rate
// in any one-second window, whatever the number of workers.
//
// Pacing exactly at the rate is not enough: a goroutine that wakes late, a
// GC pause or a slow dial makes some requests leave together, and a window
// that catches such a bunch sees more than the rate. So the pacer does two
// things. A token bucket (burst 1) spaces departures evenly a little below
// the rate. And a ring of the last departures enforces a hard ceiling on what
// actually left in any window a little longer than a second (see NewPacer), which
// absorbs stalls and scheduling jitter. When the server throttles
// anyway, Throttled halves the pace for every worker and it recovers step by
// step, in the spirit of rclone's pacer.
type Pacer struct {
	rate float64 // the requested rate
	top  float64 // the pace when not throttled
	lim  *rate.Limiter

	mu     sync.Mutex // held while waiting for the window, to keep departures ordered
	ring   []time.Time
	pos    int
	window time.Duration

	amu          sync.Mutex
	current      float64
	lastThrottle time.Time
	lastRaise    time.Time

	// notBefore holds every request until then (see Config.NotBefore).
	notBefore time.Time

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultMargin is the share of the rate the pacer leaves unused by default.
const DefaultMargin = 0.008

// NewPacer returns a pacer for r requests per second (r > 0) that leaves
// margin (e.g. 0.008) of it unused.
//
// The server allows r calls in a second and refuses the next, so the ring
// lets the full r (rounded down) leave in any sliding window; the margin
// goes into the window's length instead: at most r requests in any
// 1/(1-margin) seconds. The server records arrivals whose delays jitter
// against the departures; a request left early in the window and one left
// late can only count in the same second if the first was delayed by
// margin/(1-margin) seconds more than the second: 8 ms at the default,
// while 99.2% of the quota is used. A jittery network wants a larger margin.
func NewPacer(r, margin float64) *Pacer {
	margin = min(max(margin, 0), 0.5)
	window := time.Duration(float64(time.Second) / (1 - margin))
	eff := r * (1 - margin)
	p := &Pacer{
		rate:    r,
		lim:     rate.NewLimiter(rate.Limit(eff), 1),
		current: eff,
		top:     eff,
		window:  window,
		now:     time.Now,
		sleep:   sleepCtx,
	}
	if n := Ceiling(r); n >= 1 {
		p.ring = make([]time.Time, n)
	}
	return p
}

// Ceiling is the most requests a pacer for rate r lets leave in any
// sliding second.
func Ceiling(r float64) int { return int(r) }

// Rate returns the pace currently in force, in requests per second.
func (p *Pacer) Rate() float64 {
	p.amu.Lock()
	defer p.amu.Unlock()
	return p.current
}

// Wait blocks until the token bucket lets a request go, or ctx is done. It
// spaces requests evenly; Admit then enforces the hard ceiling.
func (p *Pacer) Wait(ctx context.Context) error {
	if !p.notBefore.IsZero() {
		if d := p.notBefore.Sub(p.now()); d > 0 {
			if err := p.sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	p.recover()
	return p.lim.Wait(ctx)
}

// Admit blocks until fewer than the ceiling of requests left in the last
// second, then counts one more departure and returns its time. It is
// called as late as possible, once the request has its connection and is
// about to be written, so that what the ring counts is what the server
// sees; that includes requests the HTTP transport itself re-sends on a
// fresh connection.
func (p *Pacer) Admit(ctx context.Context) (time.Time, error) {
	if p.ring == nil {
		return p.now(), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if oldest := p.ring[p.pos]; !oldest.IsZero() {
		if d := oldest.Add(p.window).Sub(p.now()); d > 0 {
			if err := p.sleep(ctx, d); err != nil {
				return time.Time{}, err
			}
		}
	}
	t := p.now()
	p.ring[p.pos] = t
	p.pos = (p.pos + 1) % len(p.ring)
	return t, nil
}

// Window is the length of the sliding window in which at most Ceiling
// requests leave.
func (p *Pacer) Window() time.Duration { return p.window }

// Throttled tells the pacer the server answered "too many requests": every
// worker's pace drops by a tenth (down to a twentieth of the rate). At this
// API's fixed quota a throttle means "a little over", not "far over": a
// gentle step and a quick recovery keep the quota used.
func (p *Pacer) Throttled() {
	p.amu.Lock()
	defer p.amu.Unlock()
	now := p.now()
	// One throttle episode halves once: answers of requests that were already
	// in flight do not halve again.
	if now.Sub(p.lastThrottle) < 500*time.Millisecond {
		return
	}
	p.lastThrottle = now
	p.current = max(p.current*0.9, p.rate/20)
	p.lim.SetLimit(rate.Limit(p.current))
}

// recover raises a throttled pace by 5% of the rate every half second once
// a second has passed without throttling.
func (p *Pacer) recover() {
	p.amu.Lock()
	defer p.amu.Unlock()
	top := p.top
	if p.current >= top {
		return
	}
	now := p.now()
	if now.Sub(p.lastThrottle) < time.Second || now.Sub(p.lastRaise) < 500*time.Millisecond {
		return
	}
	p.lastRaise = now
	p.current = min(top, p.current+top/20)
	p.lim.SetLimit(rate.Limit(p.current))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
