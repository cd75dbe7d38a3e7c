package sink

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
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
// token bucket, connections stall for 1.5 s in the middle of the run, so
// that a crowd of requests gets its connections at the same moment; a
// client that skipped the pacer's ceiling would send them in one burst.
func TestClientDeparturesKeepTheCeiling(t *testing.T) {
	const rate = 100
	var served atomic.Int64
	s := &scripted{answer: func(_ int, req MarkContactRequest, w http.ResponseWriter) {
		served.Add(1)
		json.NewEncoder(w).Encode(okItems(req, func(ContactItem) int { return 0 }))
	}}
	hs := httptest.NewServer(s)
	defer hs.Close()
	var gate sync.RWMutex // held by the test while connections stall
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		gate.RLock()
		gate.RUnlock()
		return dialer.DialContext(ctx, network, a)
	}}}
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
	go func() {
		for served.Load() < rate/2 {
			time.Sleep(time.Millisecond)
		}
		gate.Lock()
		time.Sleep(1500 * time.Millisecond)
		gate.Unlock()
	}()
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
	if got := maxInWindow(departures, c.Pacer().Window()); got > rate {
		t.Errorf("%d departures within %v at rate %d", got, c.Pacer().Window(), rate)
	}
}
