package sink

import (
	"context"
	"encoding/json"
	"markimport/sink/fakeim"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientDeparturesKeepTheCeiling checks the client's own departures,
// not what an emulator in the same process counts (which stalls with the
// machine): every request that reaches the server was admitted by the
// pacer, and the admitted times never put more than the rate into a
// window of the pacer's length. To exercise the ceiling and not only the
// token bucket, the pacer's clock is the test's: it moves only when the
// ceiling makes a request wait, so that the token bucket's spacing, in
// real time, is invisible to it and every request comes to the ceiling in
// a crowd, as after a stall; a client that skipped the pacer's ceiling
// would send them all in one instant.
func TestClientDeparturesKeepTheCeiling(t *testing.T) {
	const rate = 100
	var served atomic.Int64
	s := &scripted{answer: func(_ int, req markContactBody, w http.ResponseWriter) {
		served.Add(1)
		json.NewEncoder(w).Encode(okItems(req, func(wireContact) int { return 0 }))
	}}
	hs := httptest.NewServer(s)
	defer hs.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var mu sync.Mutex
	var departures []time.Time
	sig, _ := NewStaticSig("test-usersig-value")
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: rate, Concurrency: 3 * rate, HTTPClient: hc,
		OnDeparture: func(t time.Time) {
			mu.Lock()
			departures = append(departures, t)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Unix(1700000000, 0)}
	c.pacer.now, c.pacer.sleep = clk.now, clk.sleep
	out, err := sendAll(t, c, context.Background(), manyRequests(3*rate))
	if err != nil {
		t.Fatal(err)
	}
	for seq, o := range out {
		if o[0].Code != 0 || !o[0].Sent {
			t.Fatalf("request %d: %+v", seq, o[0])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if int64(len(departures)) != served.Load() {
		t.Fatalf("%d requests reached the server, %d were admitted by the pacer", served.Load(), len(departures))
	}
	slices.SortFunc(departures, func(a, b time.Time) int { return a.Compare(b) })
	if got := fakeim.MaxInWindow(departures, c.pacer.Window()); got > rate {
		t.Errorf("%d departures within %v at rate %d", got, c.pacer.Window(), rate)
	}
	if d := departures[len(departures)-1].Sub(departures[0]); d < 2*c.pacer.Window() {
		t.Errorf("%d departures over %v of the pacer's clock: the ceiling never held a crowd, the test proves nothing", len(departures), d)
	}
}

// TestAdmittedOnTheWrite: on the client's own transport a request is
// admitted by the pacer on its first write, not when its connection is
// handed over: net/http writes in another goroutine, and what happens in
// between (here a hook the test adds after the client's own, on a busy
// machine the scheduler) must not stand between the count and the bytes.
func TestAdmittedOnTheWrite(t *testing.T) {
	s := &scripted{answer: func(_ int, req markContactBody, w http.ResponseWriter) {
		json.NewEncoder(w).Encode(okItems(req, func(wireContact) int { return 0 }))
	}}
	hs := httptest.NewServer(s)
	defer hs.Close()
	var departures atomic.Int32
	sig, _ := NewStaticSig("test-usersig-value")
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 100, Concurrency: 1,
		OnDeparture: func(time.Time) { departures.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	var atHandOver []int32
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { atHandOver = append(atHandOver, departures.Load()) },
	})
	out, err := sendAll(t, c, ctx, manyRequests(3))
	if err != nil || len(out) != 3 {
		t.Fatalf("%v %v", err, out)
	}
	for i, n := range atHandOver {
		if n != int32(i) {
			t.Errorf("request %d was admitted before its first write (%d departures when its connection was handed over)", i+1, n)
		}
	}
	if n := departures.Load(); n != 3 || len(s.sent()) != 3 {
		t.Errorf("%d departures for %d requests served", n, len(s.sent()))
	}
}
