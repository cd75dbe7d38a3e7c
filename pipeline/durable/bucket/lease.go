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
//
// Each renewal reads the object first and puts it only if it is still
// this run's: its owner, which names one run only (the process, host and
// start, and a random part). Another run's lease put between that read
// and that put is replaced; that run finds its lease taken at its own
// next renewal, so one of the two stops. A lease can be lost: renewals
// failed until the expiry last written passed (another run may have taken it since),
// or a renewal found the object gone, another run's, or not a lease at
// all. Once lost it is never written or deleted again, and Lost says what
// happened; the run must stop writing where the lease was.
type Lease struct {
	ctx   context.Context
	store Store
	obj   Object
	owner string
	ttl   time.Duration
	clock clock

	stop   chan struct{}
	done   sync.WaitGroup
	lostCh chan struct{} // closed when lost

	mu       sync.Mutex
	expires  time.Time // the latest expiry written and known to be there
	lastErr  error     // of the last renewal that failed, nil after one succeeded
	lost     *LostError
	released bool
}

// clock is the time a lease goes by: the system's, or a test's.
type clock interface {
	Now() time.Time
	// Ticker ticks every d until stop.
	Ticker(d time.Duration) (c <-chan time.Time, stop func())
}

// systemClock is the system's time.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Ticker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// leaseBody is the lease object.
type leaseBody struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// LostError is a lease the run no longer holds: what it writes there may
// meet another run's writes.
type LostError struct {
	Object Object
	// Why: "expired" (not renewed in time), "deleted" (the object is
	// gone), "replaced" (the object is not a lease), or "taken" (the
	// object is another run's lease: Owner, until Expires).
	Why     string
	Owner   string
	Expires time.Time
	// Since is when the lease was found lost; Last is the expiry this
	// run last wrote; Err is the last renewal's error, if one failed.
	Since, Last time.Time
	Err         error
}

func (e *LostError) Error() string {
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	var what string
	switch e.Why {
	case "taken":
		what = fmt.Sprintf("%s is now held by %s until %s (found at %s)", e.Object, e.Owner, at(e.Expires), at(e.Since))
	case "deleted":
		what = fmt.Sprintf("%s was deleted by someone else (found at %s)", e.Object, at(e.Since))
	case "replaced":
		what = fmt.Sprintf("%s was replaced by an object that is not a markimport lease (found at %s)", e.Object, at(e.Since))
	default:
		what = fmt.Sprintf("%s expired at %s without being renewed", e.Object, at(e.Last))
		if e.Err != nil {
			what += fmt.Sprintf(" (the last renewal failed: %v)", e.Err)
		}
	}
	return "lost the lease: " + what + "; another run may be writing the same outputs, so this run sends no more and publishes none of them there nor commits any state: " +
		"make sure one run at a time writes them (check the other run, and the store's reachability), then run again"
}

// Stopped names a lost lease in a run's summary: "lease". It makes the
// error a Stop of the pipeline, which stops the sending.
func (e *LostError) Stopped() string { return "lease" }

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
// ttl/3 until Release. owner must name this run and no other: a lease is
// judged the run's by its owner. A lease that expired is taken over; one that is
// not expired is a *heldError; an object at o that is not a lease is
// refused.
func TakeLease(ctx context.Context, store Store, o Object, owner string, ttl time.Duration) (*Lease, error) {
	return takeLease(ctx, store, o, owner, ttl, systemClock{})
}

// takeLease is TakeLease on the clock c.
func takeLease(ctx context.Context, store Store, o Object, owner string, ttl time.Duration, c clock) (*Lease, error) {
	l := &Lease{ctx: ctx, store: store, obj: o, owner: owner, ttl: ttl, clock: c, stop: make(chan struct{}), lostCh: make(chan struct{})}
	for range 3 {
		// Looked at first: a store that ignores the condition of the put
		// below would let it replace a lease held.
		held, found, err := l.read(ctx)
		if err != nil {
			return nil, err
		}
		if found && c.Now().Before(held.Expires) {
			return nil, &heldError{o, held.Owner, held.Expires}
		}
		if found {
			// Expired: its run is gone.
			if err := store.Delete(ctx, o); err != nil && !isNotExist(err) {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
		}
		exp, err := l.put(true)
		if isExist(err) {
			continue // taken meanwhile: look again
		}
		if err != nil {
			return nil, err
		}
		l.expires = exp
		ticks, stop := c.Ticker(ttl / 3)
		l.done.Add(1)
		go l.renew(ticks, stop)
		return l, nil
	}
	return nil, fmt.Errorf("%s: the lease keeps changing hands; is another run starting?", o)
}

// put writes the lease with a new expiry, and returns the expiry.
func (l *Lease) put(ifAbsent bool) (time.Time, error) {
	body := leaseBody{Owner: l.owner, Expires: l.clock.Now().Add(l.ttl).UTC()}
	b, err := json.Marshal(body)
	if err != nil {
		return body.Expires, err
	}
	if err := l.store.Put(l.ctx, l.obj, b, ifAbsent); err != nil {
		if isExist(err) {
			return body.Expires, err
		}
		return body.Expires, fmt.Errorf("write the lease %s: %w", l.obj, err)
	}
	return body.Expires, nil
}

// errNotLease is an object where a lease should be that is not one.
var errNotLease = errors.New("not a markimport lease")

// read reads the lease there, if there is one; an object there that is
// not a lease is an error wrapping errNotLease.
func (l *Lease) read(ctx context.Context) (held leaseBody, found bool, err error) {
	b, err := l.store.Get(ctx, l.obj)
	if isNotExist(err) {
		return held, false, nil
	}
	if err != nil {
		return held, false, fmt.Errorf("%s: %w", l.obj, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&held); err != nil || held.Owner == "" || held.Expires.IsZero() {
		return held, false, fmt.Errorf("%s exists and is %w: move it away, or write elsewhere", l.obj, errNotLease)
	}
	return held, true, nil
}

// renew extends the lease at each tick until Release, or until it is
// lost.
func (l *Lease) renew(ticks <-chan time.Time, stop func()) {
	defer l.done.Done()
	defer stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.ctx.Done():
			return
		case <-l.lostCh:
			return
		case <-ticks:
			l.renewOnce()
		}
	}
}

// renewOnce renews the lease if it is still this run's, and loses it if
// the expiry last written has passed.
func (l *Lease) renewOnce() {
	if l.Lost() != nil {
		return
	}
	err := l.renewed()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return
	}
	l.lastErr = err
	l.expiredLocked()
}

// renewed reads the lease and puts it with a new expiry if it is this
// run's, before its expiry. A lease gone, replaced or another's is lost,
// as is one whose put landed only after the expiry (it may have replaced
// another run's). The error is a read or a put that failed.
func (l *Lease) renewed() error {
	held, found, err := l.read(l.ctx)
	l.mu.Lock()
	lost := l.judgeReadLocked(held, found, err)
	before := l.expires
	l.mu.Unlock()
	if lost || err != nil {
		return err
	}
	exp, err := l.put(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		return err
	}
	l.expires = later(l.expires, exp)
	if !l.clock.Now().Before(before) {
		l.expires = before
		l.loseLocked("expired", leaseBody{}, errors.New("the renewal landed after the expiry"))
	}
	return nil
}

// judgeReadLocked judges what a read of the lease gave (found: there is
// one; err: the read failed) and reports whether the lease is lost: gone,
// replaced by what is not a lease, or another run's, it is lost; this
// run's, the store holds its expiry (a put that failed may have landed,
// and a renewal may be landing now: the later of the two is kept); and it
// is lost anyway once that expiry has passed. A read that failed judges
// nothing but the expiry.
func (l *Lease) judgeReadLocked(held leaseBody, found bool, err error) bool {
	switch {
	case errors.Is(err, errNotLease):
		l.loseLocked("replaced", leaseBody{}, nil)
	case err != nil:
	case !found:
		l.loseLocked("deleted", leaseBody{}, nil)
	case held.Owner != l.owner:
		l.loseLocked("taken", held, nil)
	default:
		l.expires = later(l.expires, held.Expires)
	}
	l.expiredLocked()
	return l.lost != nil
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// expiredLocked loses the lease once the expiry last written has passed.
func (l *Lease) expiredLocked() {
	if l.lost == nil && !l.clock.Now().Before(l.expires) {
		l.loseLocked("expired", leaseBody{}, l.lastErr)
	}
}

// loseLocked records that the lease is lost, and why.
func (l *Lease) loseLocked(why string, held leaseBody, err error) {
	if l.lost != nil {
		return
	}
	l.lost = &LostError{Object: l.obj, Why: why, Owner: held.Owner, Expires: held.Expires, Since: l.clock.Now().UTC(), Last: l.expires, Err: err}
	close(l.lostCh)
}

// Lost returns a *LostError once the lease is lost (a renewal found the
// object gone or another run's, or the expiry last written passed without
// a renewal), and nil while the run holds it.
func (l *Lease) Lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expiredLocked()
	if l.lost == nil {
		return nil
	}
	return l.lost
}

// Held reads the lease and returns nil if it is still this run's and not
// expired; else the *LostError, found now or before. A read that fails is returned as it is. A run calls it before
// it writes where the lease is: a renewal finds a lease taken only at its
// next tick.
func (l *Lease) Held() error {
	if err := l.Lost(); err != nil {
		return err
	}
	held, found, err := l.read(l.ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.judgeReadLocked(held, found, err) {
		return l.lost
	}
	return err
}

// LostC is closed once the lease is known lost; Lost then says why. A
// lease that expires unnoticed (renewals failing) is known lost at the
// next tick, or when Lost is called.
func (l *Lease) LostC() <-chan struct{} { return l.lostCh }

// Release stops renewing and deletes the lease, if it is still this
// run's: a lease lost, or found another's, is left as it is.
func (l *Lease) Release() error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	close(l.stop)
	l.done.Wait()
	if l.Lost() != nil {
		return nil
	}
	ctx := context.WithoutCancel(l.ctx)
	held, found, err := l.read(ctx)
	if err != nil || !found {
		return err
	}
	if held.Owner != l.owner {
		return nil
	}
	err = l.store.Delete(ctx, l.obj)
	if isNotExist(err) {
		return nil
	}
	return err
}
