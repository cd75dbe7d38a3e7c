package pipeline

import (
	"context"
	"math"
	"sync"
	"time"
)

// aheadLimit bounds the requests the gate has admitted (or is admitting)
// and the sender has not yet taken. The bound follows how long a read
// takes once it leaves (latency, measured by the reader, without any
// queueing, which would feed back into the bound): at the send rate,
// enough requests to cover three reads, so that the sender does not wait
// for one, and no more, so that a user is read shortly before it is sent
// (the insert mode's race window). It stays within [minAhead, max].
type aheadLimit struct {
	mu      sync.Mutex
	cond    *sync.Cond
	inUse   int64
	rate    float64              // requests per second the sender takes
	latency func() time.Duration // of one read; 0 until known
	max     int64
}

const minAhead = 16

// unknownLatency is the read latency assumed until one is measured.
const unknownLatency = 250 * time.Millisecond

func newAheadLimit(rate float64, max int64, latency func() time.Duration) *aheadLimit {
	a := &aheadLimit{rate: rate, max: max, latency: latency}
	a.cond = sync.NewCond(&a.mu)
	return a
}

// limit is the bound now.
func (a *aheadLimit) limit() int64 {
	l := unknownLatency
	if a.latency != nil {
		if m := a.latency(); m > 0 {
			l = m
		}
	}
	n := int64(math.Ceil(3*a.rate*l.Seconds())) + minAhead
	return min(max(n, minAhead), a.max)
}

// acquire takes w requests' room, waiting until there is room or ctx is
// done. A weight above the limit is taken once nothing else is held.
func (a *aheadLimit) acquire(ctx context.Context, w int64) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.inUse > 0 && a.inUse+w > a.limit() {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.cond.Wait()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	a.inUse += w
	return nil
}

// release gives back w requests' room.
func (a *aheadLimit) release(w int64) {
	a.mu.Lock()
	a.inUse -= w
	a.cond.Broadcast()
	a.mu.Unlock()
}
