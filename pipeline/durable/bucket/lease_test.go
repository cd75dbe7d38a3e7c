package bucket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLease: a lease held is refused naming its owner; an expired one is
// taken over; a released one is gone; an object that is not a lease is
// never taken over.
func TestLease(t *testing.T) {
	ctx := context.Background()
	for _, cos := range []bool{false, true} {
		st := newMemStore()
		st.cos = cos
		o := Object{"b", "state/LEASE.json"}
		a, err := TakeLease(ctx, st, o, "run a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, err = TakeLease(ctx, st, o, "run b", time.Minute)
		var he *heldError
		if !errors.As(err, &he) || he.Owner != "run a" || !strings.Contains(err.Error(), "run a") {
			t.Fatalf("a second run: %v", err)
		}
		if err := a.Release(); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.Exists(ctx, o); ok {
			t.Fatal("the lease outlived its release")
		}
		// A killed run's lease, expired.
		b, _ := json.Marshal(leaseBody{Owner: "run k", Expires: time.Now().Add(-time.Second)})
		st.Put(ctx, o, b, false)
		c, err := TakeLease(ctx, st, o, "run c", time.Minute)
		if err != nil {
			t.Fatalf("an expired lease: %v", err)
		}
		c.Release()
		st.Put(ctx, o, []byte("something else"), false)
		if _, err := TakeLease(ctx, st, o, "run d", time.Minute); err == nil || !strings.Contains(err.Error(), "not a markimport lease") {
			t.Fatalf("an object that is no lease: %v", err)
		}
	}
}

// testClock is a clock the test moves; its ticker ticks when the test
// sends on ticks (nil: never).
type testClock struct {
	mu    sync.Mutex
	now   time.Time
	ticks chan time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Ticker(time.Duration) (<-chan time.Time, func()) { return c.ticks, func() {} }

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// faultStore is a memStore whose reads and puts fail while failing is
// set; with landing, a put that fails is written first.
type faultStore struct {
	*memStore
	failing, landing atomic.Bool
	afterPut         func() // called once a put landed, before it returns
	afterGet         func() // called once a read is made, before it returns
}

var errStore = errors.New("connection reset")

func (f *faultStore) Get(ctx context.Context, o Object) ([]byte, error) {
	if f.failing.Load() {
		return nil, errStore
	}
	b, err := f.memStore.Get(ctx, o)
	if f.afterGet != nil {
		f.afterGet()
	}
	return b, err
}

func (f *faultStore) Put(ctx context.Context, o Object, data []byte, ifAbsent bool) error {
	if f.landing.Load() {
		f.memStore.Put(ctx, o, data, ifAbsent)
		return errStore
	}
	if f.failing.Load() {
		return errStore
	}
	err := f.memStore.Put(ctx, o, data, ifAbsent)
	if err == nil && f.afterPut != nil {
		f.afterPut()
	}
	return err
}

// callsAfter are the store's calls from the n-th on.
func (m *memStore) callsAfter(n int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls[n:])
}

func (m *memStore) ncalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// takeRunA takes the lease o for "run a", for 30 s on the clock c.
func takeRunA(t *testing.T, st Store, o Object, c clock) *Lease {
	t.Helper()
	l, err := takeLease(context.Background(), st, o, "run a", 30*time.Second, c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runBLease is another run's lease object ("run b"), an hour from c's
// now.
func runBLease(c clock) []byte {
	b, _ := json.Marshal(leaseBody{Owner: "run b", Expires: c.Now().Add(time.Hour)})
	return b
}

// lostOf is l's LostError; it fails the test if l is not lost.
func lostOf(t *testing.T, l *Lease) *LostError {
	t.Helper()
	var le *LostError
	if err := l.Lost(); !errors.As(err, &le) {
		t.Fatalf("the lease is not lost: %v", err)
	}
	select {
	case <-l.LostC():
	default:
		t.Fatal("Lost says lost, LostC is not closed")
	}
	return le
}

// TestLeaseExpiresUnrenewed: renewals that fail until the expiry last
// written passes lose the lease; it is then neither renewed nor deleted,
// and the error says which object, when it expired, and the last failure.
func TestLeaseExpiresUnrenewed(t *testing.T) {
	st := &faultStore{memStore: newMemStore()}
	c := newTestClock()
	o := Object{"b", "r.csv.lease"}
	l := takeRunA(t, st, o, c)
	c.advance(10 * time.Second)
	l.renewOnce()
	st.failing.Store(true)
	for range 2 {
		c.advance(10 * time.Second)
		l.renewOnce()
		if err := l.Lost(); err != nil {
			t.Fatalf("lost before the expiry it last wrote: %v", err)
		}
	}
	c.advance(10 * time.Second) // 40 s: the expiry written at 10 s
	if l.Lost() == nil {
		t.Fatal("the expiry passed without a renewal, and the lease is not lost")
	}
	le := lostOf(t, l)
	msg := le.Error()
	for _, want := range []string{o.String(), "expired at 2026-01-02T03:00:40Z", errStore.Error(), "run again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q: %s", want, msg)
		}
	}
	st.failing.Store(false)
	n := st.ncalls()
	l.renewOnce()
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if calls := st.callsAfter(n); len(calls) > 0 {
		t.Fatalf("a lost lease was written or deleted: %v", calls)
	}
}

// TestLeaseRenews: renewals extend the lease (its own object is kept,
// also when a put that failed had landed), and the renewing goroutine
// notices a lease taken at its tick.
func TestLeaseRenews(t *testing.T) {
	ctx := context.Background()
	st := &faultStore{memStore: newMemStore()}
	c := newTestClock()
	c.ticks = make(chan time.Time)
	o := Object{"b", "r.csv.lease"}
	l := takeRunA(t, st, o, c)
	defer l.Release()
	for i := range 10 {
		st.landing.Store(i%2 == 0)
		c.advance(10 * time.Second)
		l.renewOnce()
	}
	c.advance(10 * time.Second)
	st.landing.Store(false)
	l.renewOnce()
	if err := l.Lost(); err != nil {
		t.Fatalf("renewed every 10 s, some puts failing after they landed: %v", err)
	}
	other := runBLease(c)
	st.Put(ctx, o, other, false)
	c.ticks <- c.Now()
	select {
	case <-l.LostC():
	case <-time.After(time.Minute):
		t.Fatal("a lease taken is not noticed at the tick")
	}
	if le := lostOf(t, l); le.Owner != "run b" {
		t.Fatal(le)
	}
}

// TestLeaseTakenMidRenewal: another run that takes the lease between a
// renewal's read and its put (this run's lease deleted meanwhile, on a
// store that ignores conditions) has it replaced by that put, and finds
// its own taken at its next renewal: one of the two runs stops, and the
// lease is the other's.
func TestLeaseTakenMidRenewal(t *testing.T) {
	st := &faultStore{memStore: newMemStore()}
	c := newTestClock()
	o := Object{"b", "r.csv.lease"}
	a := takeRunA(t, st, o, c)
	defer a.Release()
	var b *Lease
	st.afterGet = func() {
		st.afterGet = nil
		st.Delete(context.Background(), o)
		var err error
		if b, err = takeLease(context.Background(), st, o, "run b", 30*time.Second, c); err != nil {
			t.Errorf("run b, on a lease deleted: %v", err)
		}
	}
	c.advance(10 * time.Second)
	a.renewOnce()
	if b == nil {
		t.FailNow()
	}
	defer b.Release()
	c.advance(10 * time.Second)
	b.renewOnce()
	if le := lostOf(t, b); le.Why != "taken" || le.Owner != "run a" {
		t.Fatalf("run b: %v", le)
	}
	a.renewOnce()
	if err := a.Lost(); err != nil {
		t.Fatalf("run a, whose renewal replaced run b's lease: %v", err)
	}
}

// TestLeaseHeldWhileRenewing: Held reading the lease while a renewal's put
// has landed and the renewal has not yet recorded it finds the run's own
// lease (it judged by the expiry it knew, and called it taken).
func TestLeaseHeldWhileRenewing(t *testing.T) {
	st := &faultStore{memStore: newMemStore()}
	c := newTestClock()
	l := takeRunA(t, st, Object{"b", "r.csv.lease"}, c)
	defer l.Release()
	var held error
	st.afterPut = func() { st.afterPut = nil; held = l.Held() }
	c.advance(10 * time.Second)
	l.renewOnce()
	if held != nil {
		t.Fatalf("Held during a renewal: %v", held)
	}
	if err := l.Lost(); err != nil {
		t.Fatalf("after it: %v", err)
	}
}

// TestLeaseHeldReadBeforeRenewal: Held that read the lease before a
// renewal landed, and judges it after, keeps the renewal's later expiry:
// the lease is held until then, not lost at the expiry Held read.
func TestLeaseHeldReadBeforeRenewal(t *testing.T) {
	st := &faultStore{memStore: newMemStore()}
	c := newTestClock()
	l := takeRunA(t, st, Object{"b", "r.csv.lease"}, c)
	defer l.Release()
	c.advance(10 * time.Second)
	st.afterGet = func() { st.afterGet = nil; l.renewOnce() }
	if err := l.Held(); err != nil {
		t.Fatalf("Held: %v", err)
	}
	c.advance(25 * time.Second) // past the expiry Held read, before the renewal's
	if err := l.Lost(); err != nil {
		t.Fatalf("the renewal's expiry was forgotten: %v", err)
	}
}

// TestLeaseReplaced: a lease overwritten with an object that is not a
// lease is lost at the next renewal, as "replaced", and the object is
// neither written nor deleted after, by the renewals or Release.
func TestLeaseReplaced(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	c := newTestClock()
	o := Object{"b", "r.csv.lease"}
	l := takeRunA(t, st, o, c)
	junk := []byte(`{"owner":"run b"}`)
	st.Put(ctx, o, junk, false)
	n := st.ncalls()
	c.advance(10 * time.Second)
	l.renewOnce()
	if le := lostOf(t, l); le.Why != "replaced" || !strings.Contains(le.Error(), "not a markimport lease") {
		t.Fatalf("replaced: %v", le)
	}
	l.renewOnce()
	l.Release()
	if calls := st.callsAfter(n); len(calls) > 0 {
		t.Fatalf("a lost lease was written or deleted: %v", calls)
	}
	if b, _ := st.Get(ctx, o); !bytes.Equal(b, junk) {
		t.Fatalf("the object was replaced: %s", b)
	}
}

// TestLeaseRenewalTooLate: a renewal whose read or put lands only after
// the expiry it knew is too late (another run may have taken the lease
// between): the lease is lost as expired, and not written after.
func TestLeaseRenewalTooLate(t *testing.T) {
	for _, slow := range []string{"read", "put"} {
		st := &faultStore{memStore: newMemStore()}
		c := newTestClock()
		l := takeRunA(t, st, Object{"b", "r.csv.lease"}, c)
		c.advance(10 * time.Second)
		late := func() { c.advance(25 * time.Second) } // past the expiry, 30 s after taking
		if slow == "read" {
			st.afterGet = func() { st.afterGet = nil; late() }
		} else {
			st.afterPut = func() { st.afterPut = nil; late() }
		}
		l.renewOnce()
		if le := lostOf(t, l); le.Why != "expired" {
			t.Fatalf("%s landed late: %v", slow, le)
		}
		n := st.ncalls()
		l.renewOnce()
		l.Release()
		if calls := st.callsAfter(n); len(calls) > 0 {
			t.Fatalf("%s landed late: the lost lease was written or deleted: %v", slow, calls)
		}
	}
}

// TestLeaseFoundNotOurs: run a's lease object replaced by run b's, or
// deleted, is found so by a renewal or by Held (without waiting for a
// renewal), lost at once and said why; neither that nor Release writes or
// deletes the object after, on a store that honours conditional puts or
// ignores them (COS); and a Release alone, finding run b's lease, leaves
// it.
func TestLeaseFoundNotOurs(t *testing.T) {
	ctx := context.Background()
	for _, cos := range []bool{false, true} {
		for _, deleted := range []bool{false, true} {
			for _, by := range []string{"renewal", "Held", "Release"} {
				name := fmt.Sprintf("cos %v, deleted %v, found by %s", cos, deleted, by)
				st := newMemStore()
				st.cos = cos
				c := newTestClock()
				o := Object{"b", "r.csv.lease"}
				l := takeRunA(t, st, o, c)
				if err := l.Held(); err != nil {
					t.Fatalf("%s: a lease just taken: %v", name, err)
				}
				other := runBLease(c)
				if deleted {
					st.Delete(ctx, o)
				} else {
					st.Put(ctx, o, other, false)
				}
				n := st.ncalls()
				c.advance(10 * time.Second)
				var held error
				switch by {
				case "renewal":
					l.renewOnce()
				case "Held":
					held = l.Held()
				}
				if by != "Release" {
					le := lostOf(t, l)
					if by == "Held" && held != error(le) {
						t.Fatalf("%s: Held returned %v, Lost %v", name, held, le)
					}
					switch {
					case deleted && (le.Why != "deleted" || !strings.Contains(le.Error(), "was deleted")),
						!deleted && (le.Why != "taken" || le.Owner != "run b" || !strings.Contains(le.Error(), "held by run b until 2026-01-02T04:00:00Z")):
						t.Fatalf("%s: %v", name, le)
					}
				}
				if err := l.Release(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if calls := st.callsAfter(n); len(calls) > 0 {
					t.Fatalf("%s: the object was written or deleted after: %v", name, calls)
				}
				if b, _ := st.Get(ctx, o); !deleted && !bytes.Equal(b, other) {
					t.Fatalf("%s: the other run's lease was replaced: %s", name, b)
				}
			}
		}
	}
}
