package fakeim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

const (
	testAppID = 1400000000
	testAdmin = "admin"
)

// fixture is an emulator behind a real HTTP server, and a minimal client.
type fixture struct {
	t     *testing.T
	srv   *fakeim.Server
	ts    *httptest.Server
	query url.Values
}

func newFixture(t *testing.T, cfg fakeim.Config) *fixture {
	t.Helper()
	srv := fakeim.New(cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &fixture{t: t, srv: srv, ts: ts, query: url.Values{
		"sdkappid":    {strconv.Itoa(testAppID)},
		"identifier":  {testAdmin},
		"usersig":     {"any-usersig"},
		"random":      {"4294967295"},
		"contenttype": {"json"},
	}}
}

// withQuery returns a copy of the default query with changes; an empty
// value deletes the parameter.
func (f *fixture) withQuery(kv ...string) url.Values {
	q := url.Values{}
	for k, v := range f.query {
		q[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

// post sends one request and returns the HTTP status and body.
func (f *fixture) post(api fakeim.API, q url.Values, body string) (int, []byte, error) {
	resp, err := f.ts.Client().Post(f.ts.URL+"/v4/recentcontact/"+string(api)+"?"+q.Encode(),
		"application/json", bytes.NewBufferString(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// call posts with the default query and decodes a 200 answer into out.
func (f *fixture) call(api fakeim.API, body string, out any) {
	f.t.Helper()
	f.callQ(api, f.query, body, out)
}

func (f *fixture) callQ(api fakeim.API, q url.Values, body string, out any) {
	f.t.Helper()
	status, raw, err := f.post(api, q, body)
	if err != nil {
		f.t.Fatalf("%s: %v", api, err)
	}
	if status != http.StatusOK {
		f.t.Fatalf("%s: HTTP %d: %s", api, status, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		f.t.Fatalf("%s: decode %s: %v", api, raw, err)
	}
}

func (f *fixture) mark(body string) fakeim.MarkContactResponse {
	f.t.Helper()
	var r fakeim.MarkContactResponse
	f.call(fakeim.MarkContact, body, &r)
	return r
}

// markOK sends items for user and fails the test unless every item applied.
func (f *fixture) markOK(user string, items ...fakeim.MarkItem) {
	f.t.Helper()
	r := f.mark(markBody(user, items...))
	if r.ErrorCode != 0 || len(r.ResultItem) != len(items) {
		f.t.Fatalf("mark_contact: %+v", r)
	}
	for _, it := range r.ResultItem {
		if it.ResultCode != 0 {
			f.t.Fatalf("mark_contact item: %+v", it)
		}
	}
}

func markBody(user string, items ...fakeim.MarkItem) string {
	b, err := json.Marshal(fakeim.MarkContactRequest{FromAccount: user, MarkItem: items})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func str(s string) *string { return &s }

func c2c(peer string) fakeim.ContactItem { return fakeim.ContactItem{Type: 1, ToAccount: peer} }

func group(id string) fakeim.ContactItem { return fakeim.ContactItem{Type: 2, ToGroupID: id} }

func setBits(ci fakeim.ContactItem, bits ...int64) fakeim.MarkItem {
	return fakeim.MarkItem{OptType: 1, ContactItem: ci, SetMark: bits}
}

func custom(ci fakeim.ContactItem, mark string) fakeim.MarkItem {
	return fakeim.MarkItem{OptType: 2, ContactItem: ci, CustomMark: &mark}
}

// byConversation indexes results by their ContactItem, the only correct way
// to read them.
func byConversation(t *testing.T, items []fakeim.ResultItem) map[fakeim.ContactItem]fakeim.ResultItem {
	t.Helper()
	m := make(map[fakeim.ContactItem]fakeim.ResultItem, len(items))
	for _, it := range items {
		if _, dup := m[it.ContactItem]; dup {
			t.Fatalf("two results for %+v", it.ContactItem)
		}
		m[it.ContactItem] = it
	}
	return m
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var keep = fakeim.Conversation{Type: fakeim.C2C, Peer: "keep"}

// seeded returns a fixture whose user0 already has one marked conversation,
// so that "nothing changed" is a meaningful check.
func seeded(t *testing.T, cfg fakeim.Config) *fixture {
	f := newFixture(t, cfg)
	f.srv.SetMark("user0", keep, fakeim.Mark{Standard: 1, Custom: "x", CustomSet: true})
	return f
}
