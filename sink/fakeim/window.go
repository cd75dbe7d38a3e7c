package fakeim

import (
	"slices"
	"sync"
	"time"
)

// window enforces one API's calls-per-second limit the way the service
// states it: a request is refused when limit requests were already accepted
// in the second before it (the sliding window (t-1s, t] of its arrival
// time t). Refused requests do not count. It also measures the most
// arrivals, refused ones included, that any sliding second saw, which is
// how tests prove that a client never exceeded the limit.
//
// Arrival times are when the request reached the machine (see
// Server.Listener), so they come to arrive in the order the handlers run,
// which is not quite the order of arrival. A request that arrived before
// requests already accepted is judged as the service would have judged it
// first: it is accepted only if no sliding second that holds it, the
// later requests' included, would then hold more than limit.
type window struct {
	mu    sync.Mutex
	limit int // 0: unlimited

	// accepted holds the acceptance times of the last two seconds, sorted.
	accepted []time.Time
	// arrivals holds the arrival times of the last two seconds, sorted.
	arrivals     []time.Time
	latest       time.Time
	maxPerSecond int
}

func newWindow(limit int) *window {
	return &window{limit: max(limit, 0)}
}

// arrive records a request arriving at t and reports whether it is
// accepted.
func (w *window) arrive(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.After(w.latest) {
		w.latest = t
	}
	keep := w.latest.Add(-2 * time.Second)
	w.arrivals = dropBefore(w.arrivals, keep)
	w.accepted = dropBefore(w.accepted, keep)

	i := insert(&w.arrivals, t)
	// Every second that ends at t or at a later arrival within a second of
	// it now holds t.
	for j := i; j < len(w.arrivals) && w.arrivals[j].Sub(t) < time.Second; j++ {
		w.maxPerSecond = max(w.maxPerSecond, inSecondBefore(w.arrivals, w.arrivals[j]))
	}

	if w.limit == 0 {
		return true
	}
	if inSecondBefore(w.accepted, t) >= w.limit {
		return false
	}
	// Accepted requests that arrived after t, within a second of it: each
	// one's second would hold t too.
	k, _ := slices.BinarySearchFunc(w.accepted, t, func(a, b time.Time) int {
		if a.After(b) {
			return 1
		}
		return -1
	})
	for j := k; j < len(w.accepted) && w.accepted[j].Sub(t) < time.Second; j++ {
		if inSecondBefore(w.accepted, w.accepted[j]) >= w.limit {
			return false
		}
	}
	insert(&w.accepted, t)
	return true
}

// inSecondBefore counts the sorted times in (t-1s, t].
func inSecondBefore(ts []time.Time, t time.Time) int {
	hi, _ := slices.BinarySearchFunc(ts, t, func(a, b time.Time) int {
		if a.After(b) {
			return 1
		}
		return -1
	})
	from := t.Add(-time.Second)
	lo, _ := slices.BinarySearchFunc(ts, from, func(a, b time.Time) int {
		if a.After(b) {
			return 1
		}
		return -1
	})
	return hi - lo
}

// insert puts t into the sorted ts after any equal time, and returns its
// index.
func insert(ts *[]time.Time, t time.Time) int {
	i, _ := slices.BinarySearchFunc(*ts, t, func(a, b time.Time) int {
		if a.After(b) {
			return 1
		}
		return -1
	})
	*ts = slices.Insert(*ts, i, t)
	return i
}

// dropBefore removes the times before t from the sorted ts.
func dropBefore(ts []time.Time, t time.Time) []time.Time {
	n := 0
	for n < len(ts) && ts[n].Before(t) {
		n++
	}
	if n == 0 {
		return ts
	}
	return append(ts[:0], ts[n:]...)
}

// peak returns the most arrivals seen in any sliding second.
func (w *window) peak() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxPerSecond
}

// MaxInWindow returns the most of the sorted times ts that any sliding
// window [t, t+w) holds: what a client's own record of its departures says
// of the rule the service enforces, for tests that check it.
func MaxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
