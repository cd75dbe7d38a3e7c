package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"markimport/pipeline/mark"
)

// lies are answers to a request, keyed by what is wrong with them; want is
// a substring of every item's message.
var lies = []struct {
	name   string
	answer func(req markContactBody) string
	want   string
}{
	{"ResultCode missing", func(req markContactBody) string {
		var es []string
		for _, m := range req.MarkItem {
			es = append(es, entry(m.ContactItem, m.OptType, ""))
		}
		return `{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[` + strings.Join(es, ",") + `]}`
	}, "ResultCode is missing"},
	{"ResultCode null", func(req markContactBody) string {
		var es []string
		for _, m := range req.MarkItem {
			es = append(es, entry(m.ContactItem, m.OptType, "null"))
		}
		return `{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[` + strings.Join(es, ",") + `]}`
	}, "ResultCode is null, not an integer"},
	{`ResultCode "0"`, func(req markContactBody) string {
		var es []string
		for _, m := range req.MarkItem {
			es = append(es, entry(m.ContactItem, m.OptType, `"0"`))
		}
		return `{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[` + strings.Join(es, ",") + `]}`
	}, `ResultCode is a string ("0"), not an integer`},
	{"51007 then 0", func(req markContactBody) string {
		var es []string
		for _, m := range req.MarkItem {
			es = append(es, entry(m.ContactItem, m.OptType, "51007"), entry(m.ContactItem, m.OptType, "0"))
		}
		return `{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[` + strings.Join(es, ",") + `]}`
	}, "the answer holds 2 entries for c2c"},
	{"an entry nobody asked for", func(req markContactBody) string {
		es := []string{entry(wireContact{Type: 1, ToAccount: "stranger"}, 1, "51007")}
		for _, m := range req.MarkItem {
			es = append(es, entry(m.ContactItem, m.OptType, "0"))
		}
		return `{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[` + strings.Join(es, ",") + `]}`
	}, `ResultItem[0] names c2c "stranger", which the request did not carry`},
	{`ActionStatus "ok"`, func(req markContactBody) string {
		var es []string
		for _, m := range req.MarkItem {
			es = append(es, entry(m.ContactItem, m.OptType, "0"))
		}
		return `{"ActionStatus":"ok","ErrorCode":0,"ResultItem":[` + strings.Join(es, ",") + `]}`
	}, `ActionStatus "ok" is neither "OK" nor "FAIL"`},
	{"no ResultItem", func(markContactBody) string {
		return `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`
	}, "ResultItem is missing"},
	{"a 17 MiB answer", func(req markContactBody) string {
		var es []string
		for _, m := range req.MarkItem {
			es = append(es, entry(m.ContactItem, m.OptType, "0"))
		}
		return `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"` + strings.Repeat(" ", 17<<20) + `","ResultItem":[` + strings.Join(es, ",") + `]}`
	}, "bytes, over the 16 MiB markimport reads"},
}

// TestLyingServerWrites: against each lie, no item is ok: each is failed
// with the protocol error's code after its attempts, and its message says
// what was wrong.
func TestLyingServerWrites(t *testing.T) {
	for _, lie := range lies {
		t.Run(lie.name, func(t *testing.T) {
			s := &scripted{answer: func(_ int, req markContactBody, w http.ResponseWriter) {
				io.WriteString(w, lie.answer(req))
			}}
			c, _ := newTestClient(t, s, 3)
			out, err := sendOne(t, c, testRequest("a", "b"))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.sent()); n != 3 {
				t.Errorf("%d requests, want 3 attempts", n)
			}
			for i, o := range out {
				if !o.Sent || o.Code != codeProtocol || !strings.Contains(o.Message, "gave up after 3 attempts: protocol error") || !strings.Contains(o.Message, lie.want) {
					t.Errorf("item %d: %+v; want failed %d with %q", i, o, codeProtocol, lie.want)
				}
			}
		})
	}
}

// TestLyingServerOneItem: a lie about one item leaves the others'
// results believed, and only that item is sent again.
func TestLyingServerOneItem(t *testing.T) {
	s := &scripted{answer: func(n int, req markContactBody, w http.ResponseWriter) {
		var es []string
		for _, m := range req.MarkItem {
			code := "0"
			if m.ContactItem.ToAccount == "b" && n == 1 {
				code = "null"
			}
			es = append(es, entry(m.ContactItem, m.OptType, code))
		}
		io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[`+strings.Join(es, ",")+`]}`)
	}}
	c, _ := newTestClient(t, s, 3)
	out, err := sendOne(t, c, testRequest("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if b := s.sent(); len(b) != 2 || len(b[1].MarkItem) != 1 || b[1].MarkItem[0].ContactItem.ToAccount != "b" {
		t.Fatalf("the retry did not carry b alone: %+v", b)
	}
	for i, o := range out {
		if !o.Sent || o.Code != 0 {
			t.Errorf("item %d: %+v, want ok", i, o)
		}
	}
}

// readLies are answers to a read of c2c "p" and group "g", where the user
// holds marks on p.
var readLies = []struct {
	name   string
	answer string
	want   string
}{
	{"StandardMark missing", `{"ActionStatus":"OK","ErrorCode":0,"ContactResultItem":[{"Type":1,"To_Account":"p","CustomMark":"x"}]}`, `the entry for c2c "p": StandardMark is missing`},
	{"StandardMark null", `{"ActionStatus":"OK","ErrorCode":0,"ContactResultItem":[{"Type":1,"To_Account":"p","StandardMark":null}]}`, "StandardMark is null"},
	{"two entries that disagree", `{"ActionStatus":"OK","ErrorCode":0,"ContactResultItem":[{"Type":1,"To_Account":"p","StandardMark":"1"},{"Type":1,"To_Account":"p","StandardMark":"0"}]}`, `more than one entry for c2c "p"`},
	{"a nested ContactItem", `{"ActionStatus":"OK","ErrorCode":0,"ContactResultItem":[{"ContactItem":{"Type":1,"To_Account":"p"},"StandardMark":"1"}]}`, "nested ContactItem"},
	{"a wrong Type", `{"ActionStatus":"OK","ErrorCode":0,"ContactResultItem":[{"Type":2,"ToGroupId":"p","StandardMark":"1"}]}`, `names group "p", which the request did not ask for`},
	{"no ContactResultItem", `{"ActionStatus":"OK","ErrorCode":0}`, "ContactResultItem is missing"},
}

// TestLyingServerReads: a read answer that is not whole and unambiguous is
// not an answer: the read is retried, then fails with the protocol error,
// and no conversation is reported held or not held.
func TestLyingServerReads(t *testing.T) {
	for _, lie := range readLies {
		t.Run(lie.name, func(t *testing.T) {
			var n atomic.Int32
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				io.WriteString(w, lie.answer)
			}))
			defer hs.Close()
			rc, _ := readClient(t, hs.URL, 1000, 3)
			got, err := rc.Search(context.Background(), "u", []mark.Conversation{{Type: mark.C2C, Peer: "p"}, {Type: mark.Group, Peer: "g"}})
			var re *mark.ReadError
			if !errors.As(err, &re) || re.Code != codeProtocol || !strings.Contains(re.Message, "gave up after 3 attempts: protocol error") || !strings.Contains(re.Message, lie.want) {
				t.Fatalf("Search: %v, %v; want a read error %d with %q", got, err, codeProtocol, lie.want)
			}
			if got != nil {
				t.Errorf("marks %v beside the error", got)
			}
			if n.Load() != 3 {
				t.Errorf("%d reads, want 3 attempts", n.Load())
			}
		})
	}
}

// TestRedirectsAreNotFollowed: an endpoint that redirects, to plain http
// on another host included, stops the run: the other host receives
// nothing, the message names the Location without its query, and no
// usersig is printed.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[]}`)
	}))
	defer other.Close()
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var asked atomic.Int32
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				http.Redirect(w, r, other.URL+r.URL.Path+"?"+r.URL.RawQuery, status)
			}))
			defer hs.Close()
			sig, _ := NewStaticSig("test-usersig-value")
			c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 1000, Margin: DefaultMargin,
				backoff: backoffPolicy{Base: time.Millisecond, Cap: 5 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := sendAll(t, c, context.Background(), manyRequests(20))
			var fe *mark.FatalError
			if !errors.As(err, &fe) {
				t.Fatalf("Send: %v, want a fatal error", err)
			}
			host := strings.TrimPrefix(other.URL, "http://")
			if msg := fe.Error(); !strings.Contains(msg, fmt.Sprintf("HTTP %d", status)) || !strings.Contains(msg, host+pathMarkContact+" (query not shown)") ||
				strings.Contains(msg, "usersig=") || strings.Contains(msg, "test-usersig-value") {
				t.Errorf("message %q: want the status and the Location without its query", msg)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Fatalf("the host redirected to received %d requests", n)
			}
			if n := asked.Load(); n > int32(c.cfg.Concurrency) {
				t.Errorf("%d requests after a redirect, want those in flight at most", n)
			}
			for seq, o := range out {
				for _, x := range o {
					if x.Code == 0 && x.Sent {
						t.Fatalf("request %d: %+v ok on a redirect", seq, x)
					}
				}
			}
		})
	}
}

// silentListener accepts connections and never answers; it counts them.
func silentListener(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			held = append(held, c) // read nothing, answer nothing
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String(), &conns
}

// TestSilentEndpointStops: a server that accepts connections and never
// answers is as fatal as one that refuses them: the run stops with the
// unreachable error after the requests in flight time out, not after every
// request's six attempts, and no item is reported sent.
func TestSilentEndpointStops(t *testing.T) {
	addr, conns := silentListener(t)
	sig, _ := NewStaticSig("test-usersig-value")
	const timeout = 300 * time.Millisecond
	c, err := New(Config{Endpoint: "http://" + addr, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 200, Margin: DefaultMargin,
		Timeout: timeout, Concurrency: 8, backoff: backoffPolicy{Base: time.Millisecond, Cap: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sendAll(t, c, context.Background(), manyRequests(200))
	var fe *mark.FatalError
	if !errors.As(err, &fe) || fe.Code != mark.CodeUnreachable {
		t.Fatalf("Send: %v, want the fatal unreachable error", err)
	}
	if msg := fe.Error(); !strings.Contains(msg, addr) || !strings.Contains(msg, "no answer to 3 requests in a row, each given --timeout 300ms") || strings.Contains(msg, "test-usersig-value") {
		t.Errorf("message %q: want the endpoint, the tries and the timeout", msg)
	}
	// Each connection carried one request that timed out: the run stopped
	// with the first wave in flight (8), where retrying would have made
	// 200 requests × 6 attempts.
	if n := conns.Load(); n > 2*8 {
		t.Errorf("%d connections before stopping, want the requests of the first wave", n)
	}
	for seq, o := range out {
		for _, x := range o {
			if x.Sent || x.Code == 0 && x.Message == "" {
				t.Fatalf("request %d: %+v, want unsent", seq, x)
			}
		}
	}
}

// TestAnswersStopAfterAnAnswer: once the API answered, timeouts are
// retried, not fatal, and a warning says that answers stopped.
func TestAnswersStopAfterAnAnswer(t *testing.T) {
	var silent atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if silent.Load() {
			io.ReadAll(r.Body) // so that net/http notices the client leave
			<-r.Context().Done()
			return
		}
		var req markContactBody
		json.NewDecoder(r.Body).Decode(&req)
		json.NewEncoder(w).Encode(okItems(req, func(wireContact) int { return 0 }))
	}))
	defer hs.Close()
	var logs bytes.Buffer
	var logMu sync.Mutex
	sig, _ := NewStaticSig("test-usersig-value")
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 1000, Margin: DefaultMargin,
		Timeout: 100 * time.Millisecond, MaxAttempts: 3, Concurrency: 2,
		backoff: backoffPolicy{Base: time.Millisecond, Cap: 2 * time.Millisecond},
		Log:     slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	c.reach.quiet = 200 * time.Millisecond
	if out, err := sendAll(t, c, context.Background(), manyRequests(2)); err != nil || out[1][0].Code != 0 {
		t.Fatalf("first requests: %v %+v", err, out)
	}
	silent.Store(true)
	out, err := sendAll(t, c, context.Background(), manyRequests(2))
	if err != nil {
		t.Fatalf("Send after answers stopped: %v, want no fatal error", err)
	}
	for seq, o := range out {
		if o[0].Code != codeTransport || !strings.Contains(o[0].Message, "gave up after 3 attempts") {
			t.Fatalf("request %d: %+v", seq, o[0])
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if got := logs.String(); !strings.Contains(got, "the API cannot be reached") || !strings.Contains(got, "no_answer_for=") {
		t.Errorf("no warning that answers stopped: %q", got)
	}
}

// TestRetryAfterHoldsEveryWorker: a 429 with Retry-After holds every
// worker that long (the next request leaves no earlier), capped at
// maxRetryAfter; a Retry-After that does not parse asks for nothing.
func TestRetryAfterHoldsEveryWorker(t *testing.T) {
	var n atomic.Int32
	s := &scripted{answer: func(k int, req markContactBody, w http.ResponseWriter) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		json.NewEncoder(w).Encode(okItems(req, func(wireContact) int { return 0 }))
	}}
	hs := httptest.NewServer(s)
	defer hs.Close()
	sig, _ := NewStaticSig("test-usersig-value")
	ctr := &mark.Counters{}
	var mu sync.Mutex
	var departures []time.Time
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 1000, Concurrency: 1, Counters: ctr,
		backoff: backoffPolicy{Base: time.Millisecond, Cap: 5 * time.Millisecond},
		OnDeparture: func(t time.Time) {
			mu.Lock()
			departures = append(departures, t)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	// The waits are on a test clock, which the departures are stamped
	// with: the second leaves a second after the first without the test
	// waiting for it.
	lc := &fakeClock{t: time.Unix(1700000000, 0)}
	c.sleep, c.pacer.now, c.pacer.sleep = lc.sleep, lc.now, lc.sleep
	out, err := sendAll(t, c, context.Background(), manyRequests(4))
	if err != nil {
		t.Fatal(err)
	}
	for seq, o := range out {
		if o[0].Code != 0 {
			t.Fatalf("request %d: %+v", seq, o[0])
		}
	}
	mu.Lock()
	if len(departures) != 5 {
		t.Errorf("%d departures for 4 requests and one retry", len(departures))
	} else if d := departures[1].Sub(departures[0]); d < time.Second {
		t.Errorf("the next request left %v after a Retry-After of 1 s", d)
	}
	mu.Unlock()
	if ctr.Throttled.Total() != 1 {
		t.Errorf("throttled %d, want 1", ctr.Throttled.Total())
	}

	// The retry loop holds the pacer, which every worker waits at, not
	// only the request that was answered: the pacer's own sleeps (on a test
	// clock) show the hold, beside the retrying request's backoff.
	c, err = New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Unix(1700000000, 0)}
	var held []time.Duration
	c.pacer.now = clk.now
	c.pacer.sleep = func(ctx context.Context, d time.Duration) error {
		held = append(held, d)
		return clk.sleep(ctx, d)
	}
	c.sleep = func(context.Context, time.Duration) error { return nil }
	tries := 0
	c.retry(context.Background(), nil, func() attempt {
		tries++
		if tries == 1 {
			return attempt{class: classThrottled, status: 429, code: codeTransport, msg: "HTTP 429", sent: clk.now(), retryAfter: 5 * time.Second}
		}
		return attempt{class: classOK, status: 200, sent: clk.now()}
	})
	if len(held) != 1 || held[0] != 5*time.Second {
		t.Errorf("the pacer held requests %v after a Retry-After of 5 s, want 5 s", held)
	}

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"2": 2 * time.Second, "0": 0, "3600": maxRetryAfter, "-1": 0, "1.5": 0, "soon": 0, "": 0,
		now.Add(10 * time.Second).Format(http.TimeFormat): 10 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		now.Add(time.Hour).Format(http.TimeFormat):        maxRetryAfter,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}

// TestOversizedAnswerSaysItsSize: a valid answer over the cap is refused
// with its size and the cap, whether the server gave its length or not.
func TestOversizedAnswerSaysItsSize(t *testing.T) {
	body := `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"` + strings.Repeat("x", 50<<20) + `","ResultItem":[]}`
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("Content-Length %v", withLength), func(t *testing.T) {
			s := &scripted{answer: func(_ int, _ markContactBody, w http.ResponseWriter) {
				if withLength {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				io.WriteString(w, body)
			}}
			c, _ := newTestClient(t, s, 1)
			out, err := sendOne(t, c, testRequest("a"))
			want := fmt.Sprintf("protocol error: the answer is %d bytes, over the 16 MiB markimport reads", len(body))
			if err != nil || out[0].Code != codeProtocol || !strings.Contains(out[0].Message, want) {
				t.Fatalf("%v %+v, want %q", err, out, want)
			}
		})
	}
}
