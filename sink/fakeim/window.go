package fakeim

import (
	"sync"
	"time"
)

// window enforces one API's calls-per-second limit the way the service
// states it: a request is refused when limit requests were already accepted
// in the second before it (the sliding window (now-1s, now]). Refused
// requests do not count. It also measures the most arrivals, refused ones
// included, that any sliding second saw, which is how tests prove that a
// client never exceeded the limit.
type window struct {
	mu    sync.Mutex
	clock func() time.Time

	// accepted is a ring of the last len(accepted) acceptance times; next is
	// the oldest of them once the ring is full. Nil when unlimited.
	accepted []time.Time
	next     int
	full     bool

	// arrivals holds the arrival times of the last second, oldest first.
	arrivals     []time.Time
	maxPerSecond int
}

func newWindow(limit int, clock func() time.Time) *window {
	w := &window{clock: clock}
	if limit > 0 {
		w.accepted = make([]time.Time, limit)
	}
	return w
}

// arrive records a request arriving now and reports whether it is accepted.
// The clock is read under the lock so that times enter the ring in order.
func (w *window) arrive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock()

	drop := 0
	for drop < len(w.arrivals) && now.Sub(w.arrivals[drop]) >= time.Second {
		drop++
	}
	w.arrivals = append(w.arrivals[drop:], now)
	w.maxPerSecond = max(w.maxPerSecond, len(w.arrivals))

	if w.accepted == nil {
		return true
	}
	if w.full && now.Sub(w.accepted[w.next]) < time.Second {
		return false
	}
	w.accepted[w.next] = now
	w.next++
	if w.next == len(w.accepted) {
		w.next, w.full = 0, true
	}
	return true
}

// peak returns the most arrivals seen in any sliding second.
func (w *window) peak() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxPerSecond
}
