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
// actually left in any window a little longer than a second (see NewPacer),
// which absorbs stalls and scheduling jitter.
//
// When the server throttles anyway (another client shares the quota, or
// --rate is above it), the pacer learns the pace the server takes: a
// throttle answered to a request sent at the current pace lowers the pace,
// for every worker, and the ring's ceiling with it: to how many of the
// requests that left in the second before it the server took, less the
// margin, when the server took far less than the pace; by 1% when it took
// about all (a bunch, or another client's share); never below a twentieth
// of the rate less the margin. Throttles of requests that left before that,
// or within a second after it (the server's window still held the faster
// requests), say nothing new and change nothing. After a quiet second the
// pace climbs back by a twentieth of the rate less the margin every half
// second up to the pace learned, then by 1% of it per second above, so that
// a quota that was raised is found again and one that was not is rarely
// tripped.
type Pacer struct {
	rate   float64 // the requested rate
	margin float64
	top    float64 // the pace when not throttled: the rate less the margin
	floor  float64 // the slowest pace: a twentieth of top
	lim    *rate.Limiter

	mu     sync.Mutex // held while waiting for the window, to keep departures ordered
	ring   []time.Time
	pos    int
	window time.Duration

	amu       sync.Mutex
	current   float64   // the pace in force
	learned   float64   // the pace the server took when it last throttled (top before)
	lowered   time.Time // when a throttle last lowered the pace
	lastRaise time.Time
	departed  []time.Time // a ring of the latest departures
	depPos    int
	refused   []time.Time // a ring of the departures of the latest throttled requests
	refPos    int
	hold      time.Time // no request leaves before this (NotBefore, Retry-After)

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultMargin is the share of the rate the pacer leaves unused by default.
const DefaultMargin = 0.008

// maxMargin bounds the margin: at 0.5 the pacer would use half the rate.
const maxMargin = 0.5

// NewPacer returns a pacer for r requests per second (0 < r <= 10,000)
// that leaves margin (in [0, 0.5), e.g. 0.008) of it unused. The
// caller checks both (CheckRate, CheckMargin).
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
	window := time.Duration(float64(time.Second) / (1 - margin))
	eff := r * (1 - margin)
	p := &Pacer{
		rate:    r,
		margin:  margin,
		lim:     rate.NewLimiter(rate.Limit(eff), 1),
		current: eff,
		learned: eff,
		top:     eff,
		floor:   eff / 20,
		window:  window,
		now:     time.Now,
		sleep:   sleepCtx,
	}
	if n := ceiling(r); n >= 1 {
		p.ring = make([]time.Time, n)
		p.departed = make([]time.Time, 2*n)
		p.refused = make([]time.Time, 2*n)
	}
	return p
}

// ceiling is the most requests a pacer for rate r lets leave in any
// sliding window of its length.
func ceiling(r float64) int { return int(r) }

// pace returns the pace currently in force, in requests per second.
func (p *Pacer) pace() float64 {
	p.amu.Lock()
	defer p.amu.Unlock()
	return p.current
}

// wait blocks until the token bucket lets a request go, or ctx is done. It
// spaces requests evenly; admit then enforces the hard ceiling. No request
// goes while the pacer holds them (holdUntil).
func (p *Pacer) wait(ctx context.Context) error {
	for {
		p.amu.Lock()
		d := p.hold.Sub(p.now())
		p.amu.Unlock()
		if d <= 0 {
			break
		}
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
	}
	p.recover()
	return p.lim.Wait(ctx)
}

// holdUntil keeps every request from leaving before t: the server asked to
// wait (Retry-After), or an earlier run's requests still count in its
// window. A later hold replaces an earlier one only when it ends later.
func (p *Pacer) holdUntil(t time.Time) {
	p.amu.Lock()
	defer p.amu.Unlock()
	if t.After(p.hold) {
		p.hold = t
	}
}

// holdFor holds every request for d from now (see holdUntil).
func (p *Pacer) holdFor(d time.Duration) { p.holdUntil(p.now().Add(d)) }

// admit blocks until fewer than the ceiling of requests left in the last
// window, then counts one more departure and returns its time. It is
// called as late as possible, once the request has its connection and is
// about to be written, so that what the ring counts is what the server
// sees; that includes requests the HTTP transport itself re-sends on a
// fresh connection. The ceiling is the rate's, or lower while the server
// throttles (see throttled); a hold (holdUntil) keeps the request too.
func (p *Pacer) admit(ctx context.Context) (time.Time, error) {
	if p.ring == nil {
		return p.now(), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A hold set while this request waited for its connection holds it too.
	p.amu.Lock()
	hold := p.hold.Sub(p.now())
	p.amu.Unlock()
	if hold > 0 {
		if err := p.sleep(ctx, hold); err != nil {
			return time.Time{}, err
		}
	}
	k := p.ceilingNow()
	// The k-th latest departure: while it is less than a window old, k
	// requests are already in the window.
	if kth := p.ring[(p.pos-k+len(p.ring))%len(p.ring)]; !kth.IsZero() {
		if d := kth.Add(p.window).Sub(p.now()); d > 0 {
			if err := p.sleep(ctx, d); err != nil {
				return time.Time{}, err
			}
		}
	}
	t := p.now()
	p.ring[p.pos] = t
	p.pos = (p.pos + 1) % len(p.ring)
	p.amu.Lock()
	p.departed[p.depPos] = t
	p.depPos = (p.depPos + 1) % len(p.departed)
	p.amu.Unlock()
	return t, nil
}

// ceilingNow is how many departures the current pace lets into a window:
// the rate's ceiling, or the pace's share of it while throttled.
func (p *Pacer) ceilingNow() int {
	p.amu.Lock()
	cur := p.current
	p.amu.Unlock()
	return min(len(p.ring), max(1, int(cur/(1-p.margin)+1e-9)))
}

// Window is the length of the sliding window in which at most the rate's
// ceiling of requests leave.
func (p *Pacer) Window() time.Duration { return p.window }

// throttled tells the pacer the server answered "too many requests" to a
// request that left at sent. When that request left at the pace in force,
// at least a second after the pace was last lowered, the pace falls: to how
// many of the requests that left in the second before it the server took,
// less the margin, when that is less than nine tenths of the pace (the
// rate is above the server's); by 1% otherwise; never below the floor.
// Earlier requests met the server's window still full of the faster ones;
// the pace already answered them.
//
// What the server took is counted from the departures of the second
// before the throttled request, less those it throttled: requests still
// in flight count as taken, which they are when they left before the first
// request the server refused.
//
// It reports whether the pacer has slowed down for this throttle (now or
// before): when it has not, because the pace is at its floor, the server
// refuses even the slowest pace, and the try counts against the item's
// attempts.
func (p *Pacer) throttled(sent time.Time) bool {
	p.amu.Lock()
	defer p.amu.Unlock()
	if p.refused != nil {
		p.refused[p.refPos] = sent
		p.refPos = (p.refPos + 1) % len(p.refused)
	}
	if !p.lowered.IsZero() && sent.Before(p.lowered.Add(time.Second)) {
		return true
	}
	if p.current <= p.floor {
		return false
	}
	took := inSecondBefore(p.departed, sent) - inSecondBefore(p.refused, sent)
	// Far over the server's pace (it took less than nine tenths of it):
	// fall to what it took at once. Near it, a throttle is a bunch that
	// arrived together, or another client's share: 1% less.
	next := p.current * 0.99
	if t := float64(took) * (1 - p.margin); t < p.current*0.9 {
		next = t
	}
	p.current = max(next, p.floor)
	p.learned = p.current
	p.lowered = p.now()
	p.lim.SetLimit(rate.Limit(p.current))
	return true
}

// recover raises a lowered pace once a second has passed since it was
// lowered: by a twentieth of the rate less the margin every half second up
// to the pace learned at the last throttle, then by 1% of that per second
// (half a percent every half second) up to the top.
func (p *Pacer) recover() {
	p.amu.Lock()
	defer p.amu.Unlock()
	if p.current >= p.top {
		return
	}
	now := p.now()
	if now.Sub(p.lowered) < time.Second || now.Sub(p.lastRaise) < 500*time.Millisecond {
		return
	}
	p.lastRaise = now
	if p.current < p.learned {
		p.current = min(p.learned, p.current+p.top/20)
	} else {
		p.current = min(p.top, p.current+p.learned/200)
	}
	p.lim.SetLimit(rate.Limit(p.current))
}

// inSecondBefore counts the times in (t-1s, t), zero times aside.
func inSecondBefore(ts []time.Time, t time.Time) int {
	n := 0
	for _, x := range ts {
		if d := t.Sub(x); !x.IsZero() && d > 0 && d < time.Second {
			n++
		}
	}
	return n
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
