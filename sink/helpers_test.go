package sink

// Helpers shared by the tests of this package: a scripted test server, the
// client and requests it is driven with, a fake clock, and the count of
// departures in a window.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"markimport/pipeline/mark"
)

// scripted is a test server whose answers a function decides, recording
// every request body.
type scripted struct {
	mu     sync.Mutex
	bodies []markContactBody
	answer func(n int, req markContactBody, w http.ResponseWriter)
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req markContactBody
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &req)
	s.mu.Lock()
	s.bodies = append(s.bodies, req)
	n := len(s.bodies)
	s.mu.Unlock()
	s.answer(n, req, w)
}

// sent returns a copy of the request bodies received so far.
func (s *scripted) sent() []markContactBody {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]markContactBody(nil), s.bodies...)
}

// ResultItem and Response are answers as the tests write them. The client
// reads answers member by member (answer.go), never into these.
type ResultItem struct {
	OptType     int         `json:"OptType"`
	ContactItem wireContact `json:"ContactItem"`
	ResultCode  int         `json:"ResultCode"`
	ResultInfo  string      `json:"ResultInfo"`
}

type Response struct {
	ActionStatus string       `json:"ActionStatus"`
	ErrorCode    int          `json:"ErrorCode"`
	ErrorInfo    string       `json:"ErrorInfo"`
	ErrorDisplay string       `json:"ErrorDisplay"`
	ResultItem   []ResultItem `json:"ResultItem"`
}

func okItems(req markContactBody, code func(wireContact) int) Response {
	resp := Response{ActionStatus: "OK"}
	// Reverse order: results must be matched by conversation.
	for i := len(req.MarkItem) - 1; i >= 0; i-- {
		m := req.MarkItem[i]
		resp.ResultItem = append(resp.ResultItem, ResultItem{OptType: m.OptType, ContactItem: m.ContactItem, ResultCode: code(m.ContactItem)})
	}
	return resp
}

func newTestClient(t *testing.T, h http.Handler, maxAttempts int) (*Client, *mark.Counters) {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	sig, _ := NewStaticSig("test-usersig-value")
	ctr := &mark.Counters{}
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 1000,
		MaxAttempts: maxAttempts, backoff: backoffPolicy{Base: time.Millisecond, Cap: 5 * time.Millisecond}, Counters: ctr})
	if err != nil {
		t.Fatal(err)
	}
	return c, ctr
}

func testRequest(peers ...string) *mark.Request {
	req := &mark.Request{Seq: 1, From: "u"}
	for _, p := range peers {
		req.Items = append(req.Items, mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: p}, Set: 1, Opt: mark.OptStandard, Rows: []int64{1}})
	}
	return req
}

func sendOne(t *testing.T, c *Client, req *mark.Request) ([]mark.Outcome, error) {
	t.Helper()
	ch := make(chan *mark.Request, 1)
	ch <- req
	close(ch)
	var out []mark.Outcome
	err := c.Send(context.Background(), ch, func(_ *mark.Request, o []mark.Outcome) { out = o })
	return out, err
}

// fakeClock drives the pacer's ring without real time: sleeping moves it
// on at once. now and sleep may be called from many goroutines (a pacer
// shared by the client's workers); a test moves t by hand only while no
// other goroutine uses the clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

// sendAll sends reqs through c and returns every outcome by request and the
// error of Send.
func sendAll(t *testing.T, c *Client, ctx context.Context, reqs []*mark.Request) (map[int64][]mark.Outcome, error) {
	t.Helper()
	ch := make(chan *mark.Request)
	go func() {
		defer close(ch)
		for _, r := range reqs {
			select {
			case ch <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	out := map[int64][]mark.Outcome{}
	err := c.Send(ctx, ch, func(r *mark.Request, o []mark.Outcome) {
		mu.Lock()
		out[r.Seq] = o
		mu.Unlock()
	})
	return out, err
}

func manyRequests(n int) []*mark.Request {
	var reqs []*mark.Request
	for i := range n {
		r := testRequest("a", "b")
		r.Seq = int64(i + 1)
		reqs = append(reqs, r)
	}
	return reqs
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// readClient returns a read client of url with fast retries.
func readClient(t *testing.T, url string, rate float64, maxAttempts int) (*ReadClient, *mark.Counters) {
	t.Helper()
	sig, err := NewStaticSig("test-usersig")
	if err != nil {
		t.Fatal(err)
	}
	ctr := &mark.Counters{}
	rc, err := NewReadClient(Config{Endpoint: url, SDKAppID: 1400000001, Admin: "admin", Credentials: sig, Rate: rate, BitOrder: mark.BitZeroLast,
		MaxAttempts: maxAttempts, backoff: backoffPolicy{Base: time.Millisecond, Cap: 10 * time.Millisecond}, Counters: ctr})
	if err != nil {
		t.Fatal(err)
	}
	return rc, ctr
}

// A lying server: each handler answers a mark_contact request with one of
// the shapes an answer must not be believed in. The client must report no
// item ok, retry, then fail the items with the protocol error's code and a
// message saying what was wrong.

// entry renders one ResultItem entry for a conversation of the request.
func entry(ci wireContact, opt int, resultCode string) string {
	b, _ := json.Marshal(ci)
	s := fmt.Sprintf(`{"OptType":%d,"ContactItem":%s`, opt, b)
	if resultCode != "" {
		s += `,"ResultCode":` + resultCode
	}
	return s + `,"ResultInfo":""}`
}
