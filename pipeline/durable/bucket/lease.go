package bucket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A Lease is what a run holds on an object location while it writes
// there (a state's prefix, a report), in the place of the local disk's
// lock file: an object naming its owner and when it expires, taken with a
// conditional put, renewed while the run goes on, deleted at its end. A
// second run finds it and is refused, saying whose it is and until when;
// a run killed without deleting it holds it until it expires. It is read
// before it is put, so that a store that ignores conditional puts (COS)
// refuses a second run too; there, two runs starting in the same instant
// may both take it, and one job at a time is the schedule's to keep.
type Lease struct {
	ctx   context.Context
	store Store
	obj   Object
	body  leaseBody
	ttl   time.Duration

	stop chan struct{}
	done sync.WaitGroup
	mu   sync.Mutex
	err  error // of the last renewal
}

// leaseBody is the lease object.
type leaseBody struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// heldError is a lease another run holds.
type heldError struct {
	Object  Object
	Owner   string
	Expires time.Time
}

func (e *heldError) Error() string {
	return fmt.Sprintf("another markimport run holds %s (%s) until %s: wait for it to finish; if it was killed, its lease expires then (or delete the object once you know it is gone)",
		e.Object, e.Owner, e.Expires.UTC().Format(time.RFC3339))
}

// TakeLease takes the lease o for owner, for ttl from now, renewed every
// ttl/3 until Release. A lease that expired is taken over; one that is
// not expired is a *heldError; an object at o that is not a lease is
// refused.
func TakeLease(ctx context.Context, store Store, o Object, owner string, ttl time.Duration) (*Lease, error) {
	l := &Lease{ctx: ctx, store: store, obj: o, ttl: ttl, body: leaseBody{Owner: owner}, stop: make(chan struct{})}
	for range 3 {
		// Looked at first: a store that ignores the condition of the put
		// below would let it replace a lease held.
		held, found, err := l.read()
		if err != nil {
			return nil, err
		}
		if found && time.Now().Before(held.Expires) {
			return nil, &heldError{o, held.Owner, held.Expires}
		}
		if found {
			// Expired: its run is gone.
			if err := store.Delete(ctx, o); err != nil && !isNotExist(err) {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
		}
		err = l.put(true)
		if isExist(err) {
			continue // taken meanwhile: look again
		}
		if err != nil {
			return nil, err
		}
		l.done.Add(1)
		go l.renew()
		return l, nil
	}
	return nil, fmt.Errorf("%s: the lease keeps changing hands; is another run starting?", o)
}

// put writes the lease with a new expiry.
func (l *Lease) put(ifAbsent bool) error {
	l.body.Expires = time.Now().Add(l.ttl).UTC()
	b, err := json.Marshal(l.body)
	if err != nil {
		return err
	}
	if err := l.store.Put(l.ctx, l.obj, b, ifAbsent); err != nil {
		if isExist(err) {
			return err
		}
		return fmt.Errorf("take the lease %s: %w", l.obj, err)
	}
	return nil
}

// read reads the lease there, if there is one.
func (l *Lease) read() (held leaseBody, found bool, err error) {
	b, err := l.store.Get(l.ctx, l.obj)
	if isNotExist(err) {
		return held, false, nil
	}
	if err != nil {
		return held, false, fmt.Errorf("%s: %w", l.obj, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&held); err != nil || held.Owner == "" || held.Expires.IsZero() {
		return held, false, fmt.Errorf("%s exists and is not a markimport lease: move it away, or write elsewhere", l.obj)
	}
	return held, true, nil
}

// renew extends the lease every ttl/3 until Release.
func (l *Lease) renew() {
	defer l.done.Done()
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.ctx.Done():
			return
		case <-t.C:
			err := l.put(false)
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
		}
	}
}

// Err is the error of the last renewal, if it failed.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Release stops renewing and deletes the lease.
func (l *Lease) Release() error {
	close(l.stop)
	l.done.Wait()
	err := l.store.Delete(context.WithoutCancel(l.ctx), l.obj)
	if isNotExist(err) {
		return nil
	}
	return errors.Join(err)
}
