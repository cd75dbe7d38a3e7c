package fakeim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

func TestRateLimitBurst(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0)) // every request arrives at the same instant
	f := newFixture(t, fakeim.Config{Now: clk.Now})

	codes := make([]int, 201)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			var r fakeim.MarkContactResponse
			f.call(fakeim.MarkContact, markBody(fmt.Sprintf("user%d", i), setBits(c2c("a"), 1)), &r)
			codes[i] = r.ErrorCode
		})
	}
	wg.Wait()
	throttled := 0
	for _, c := range codes {
		switch c {
		case 0:
		case 60007:
			throttled++
		default:
			t.Fatalf("unexpected code %d", c)
		}
	}
	if throttled != 1 {
		t.Fatalf("%d requests throttled, want 1", throttled)
	}
	// The throttled request was not applied.
	if n := f.srv.Users(); n != 200 {
		t.Fatalf("%d users changed, want 200", n)
	}
	st := f.srv.Stats()
	mc := st.APIs[fakeim.MarkContact]
	if mc.Requests != 201 || mc.Accepted != 200 || mc.Throttled != 1 || st.Throttled != 1 ||
		st.MaxPerSecond != 201 || st.ErrorCodes[60007] != 1 || st.MalformedRequests != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Each API has its own limit.
	var r fakeim.GetContactGroupResponse
	f.call(fakeim.GetContactGroup, `{"From_Account":"user0","StartIndex":0}`, &r)
	if r.ErrorCode != 0 {
		t.Fatalf("get_contact_group throttled by mark_contact's traffic: %+v", r)
	}
	// A second later the window has moved on.
	clk.Add(time.Second)
	var m fakeim.MarkContactResponse
	f.call(fakeim.MarkContact, markBody("late", setBits(c2c("a"), 1)), &m)
	if m.ErrorCode != 0 {
		t.Fatalf("after a second: %+v", m)
	}
}

func TestRateLimitSlidingWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := newClock(t0)
	f := newFixture(t, fakeim.Config{RateLimit: 3, Now: clk.Now})
	steps := []struct {
		at   time.Duration
		code int
	}{
		{0, 0}, {0, 0}, {0, 0},
		{500 * time.Millisecond, 60007},
		{999 * time.Millisecond, 60007},
		// Exactly one second after the first three they have left the window.
		{time.Second, 0}, {time.Second, 0}, {time.Second, 0},
		{time.Second, 60007},
		{1500 * time.Millisecond, 60007},
		{2 * time.Second, 0},
	}
	for i, s := range steps {
		clk.Set(t0.Add(s.at))
		var r fakeim.Status
		f.call(fakeim.SearchContactGroup, `{"From_Account":"u","ContactItem":[{"Type":1,"To_Account":"a"}]}`, &r)
		if r.ErrorCode != s.code {
			t.Fatalf("step %d at %v: ErrorCode %d, want %d", i, s.at, r.ErrorCode, s.code)
		}
	}
	// The busiest seconds, e.g. (0.5s, 1.5s], saw six arrivals, throttled
	// ones included: 0.999s, four at 1s, and 1.5s.
	st := f.srv.Stats().APIs[fakeim.SearchContactGroup]
	if st.MaxPerSecond != 6 || st.Throttled != 4 || st.Accepted != 7 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRateLimitDisabled(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0))
	f := newFixture(t, fakeim.Config{RateLimit: -1, Now: clk.Now})
	for i := range 300 {
		var r fakeim.Status
		f.call(fakeim.MarkContact, markBody("u", setBits(c2c(fmt.Sprintf("p%d", i)), 1)), &r)
		if r.ErrorCode != 0 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if st := f.srv.Stats(); st.MaxPerSecond != 300 || st.Throttled != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// stampedServer serves srv through its Listener, which stamps requests with
// the time their bytes arrived, with handler wrapped around it.
func stampedServer(t *testing.T, srv *fakeim.Server, handler http.Handler) *fixture {
	t.Helper()
	ts := httptest.NewUnstartedServer(handler)
	ts.Listener = srv.Listener(ts.Listener)
	ts.Start()
	t.Cleanup(ts.Close)
	f := newFixture(t, fakeim.Config{})
	f.srv, f.ts = srv, ts
	return f
}

// TestArrivalsCountedWhenTheyCame: the limit is judged on when requests
// reached the machine, not when their handlers ran. With a limit of one a
// second, a request whose handler is held until after a second request,
// arriving 1.2 s later, was handled, is accepted: it arrived alone in its
// second. An emulator stamping the handler's time would refuse it, as a
// busy machine made fake-server refuse clients that kept the limit. The
// 1.2 s are a shift of the receive stamps, not a wait.
func TestArrivalsCountedWhenTheyCame(t *testing.T) {
	srv := fakeim.New(fakeim.Config{RateLimit: 1})
	reached, release := make(chan struct{}), make(chan struct{})
	f := stampedServer(t, srv, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Held") != "" {
			close(reached)
			<-release
		}
		srv.ServeHTTP(w, r)
	}))
	held := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, f.ts.URL+"/v4/recentcontact/mark_contact?"+f.query.Encode(),
			strings.NewReader(markBody("held", setBits(c2c("a"), 1))))
		req.Header.Set("X-Held", "1")
		resp, err := f.ts.Client().Do(req)
		if err != nil {
			held <- -1
			return
		}
		defer resp.Body.Close()
		var r fakeim.MarkContactResponse
		json.NewDecoder(resp.Body).Decode(&r)
		held <- r.ErrorCode
	}()
	<-reached
	srv.ShiftStamps(1200 * time.Millisecond) // the second request arrives more than a second later
	if r := f.mark(markBody("later", setBits(c2c("a"), 1))); r.ErrorCode != 0 {
		t.Fatalf("the later request: %+v", r)
	}
	close(release)
	if code := <-held; code != 0 {
		t.Fatalf("the request held in its handler: ErrorCode %d, want 0 (it arrived alone in its second)", code)
	}
}

// TestTooFastIsStillRefused: counting arrivals when they came does not make
// the emulator lax. A client that sends a thousand requests at once gets
// more than 200 into some second, and every arrival beyond 200 in that
// second is refused: no second holds more than 200 accepted ones.
func TestTooFastIsStillRefused(t *testing.T) {
	srv := fakeim.New(fakeim.Config{})
	f := stampedServer(t, srv, srv)
	var wg sync.WaitGroup
	var n atomic.Int32
	for range 50 {
		wg.Go(func() {
			for i := n.Add(1); i <= 1000; i = n.Add(1) {
				var r fakeim.Status
				f.call(fakeim.MarkContact, markBody(fmt.Sprintf("u%d", i), setBits(c2c("a"), 1)), &r)
				if r.ErrorCode != 0 && r.ErrorCode != 60007 {
					t.Errorf("ErrorCode %d", r.ErrorCode)
				}
			}
		})
	}
	wg.Wait()
	st := srv.Stats().APIs[fakeim.MarkContact]
	if st.MaxPerSecond <= 200 {
		t.Fatalf("the client never put more than 200 requests into a second (peak %d): the test proves nothing", st.MaxPerSecond)
	}
	if excess := int64(st.MaxPerSecond - 200); st.Throttled < excess {
		t.Errorf("a second saw %d arrivals and only %d were refused: more than 200 accepted", st.MaxPerSecond, st.Throttled)
	}
}
