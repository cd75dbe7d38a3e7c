package sink

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

func TestClassifyCode(t *testing.T) {
	want := map[class][]int{
		classOK:         {0},
		classThrottled:  {60007, 60011, 60018, 60019},
		classTransient:  {50004, 50005, 60008, 60013, 60014, 70169, 70500},
		classSigExpired: {70001},
		classFatal: {50003, 60002, 60006, 60009, 60010, 60012, 60016, 60017, 60020, 60021, 60025, 60026,
			70003, 70009, 70013, 70014, 70016, 70020, 70050, 70051, 51006, 51013},
		classItemFailed: {50001, 50002, 51007, 51008, 51012, 70107, 70402, 12345, 99999},
	}
	for class, codes := range want {
		for _, code := range codes {
			if got := classifyCode(code); got != class {
				t.Errorf("ClassifyCode(%d) = %v, want %v", code, got, class)
			}
		}
	}
	for code, c := range codeClass {
		if c == classFatal && hint(code) == "" {
			t.Errorf("fatal code %d has no hint for the user", code)
		}
	}
}

func TestClassifyTransport(t *testing.T) {
	timeout := &netTimeout{}
	tests := []struct {
		name   string
		status int
		err    error
		want   class
	}{
		{"timeout", 0, timeout, classTransient},
		{"reset", 0, errors.New("read: connection reset by peer"), classTransient},
		{"eof", 0, io.ErrUnexpectedEOF, classTransient},
		{"502", 502, nil, classTransient},
		{"503", 503, nil, classTransient},
		{"429", 429, nil, classThrottled},
		{"404", 404, nil, classFatal},
		{"403", 403, nil, classFatal},
	}
	for _, tt := range tests {
		if got, _ := classifyTransport(tt.status, tt.err); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

type netTimeout struct{}

func (netTimeout) Error() string   { return "i/o timeout" }
func (netTimeout) Timeout() bool   { return true }
func (netTimeout) Temporary() bool { return true }

var _ net.Error = netTimeout{}

func TestItemLevelRetrySendsOnlyFailedItems(t *testing.T) {
	s := &scripted{answer: func(n int, req markContactBody, w http.ResponseWriter) {
		json.NewEncoder(w).Encode(okItems(req, func(ci wireContact) int {
			switch {
			case ci.ToAccount == "b" && n == 1:
				return 50004
			case ci.ToAccount == "c":
				return 51007 // not retryable
			}
			return 0
		}))
	}}
	c, ctr := newTestClient(t, s, 6)
	out, err := sendOne(t, c, testRequest("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if b := s.sent(); len(b) != 2 || len(b[1].MarkItem) != 1 || b[1].MarkItem[0].ContactItem.ToAccount != "b" {
		t.Fatalf("retry did not carry only item b: %+v", b)
	}
	want := []mark.Outcome{{Sent: true, Code: 0, Attempts: 1}, {Sent: true, Code: 0, Attempts: 2}, {Sent: true, Code: 51007, Message: "API error 51007", Attempts: 1}}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("item %d: %+v, want %+v", i, out[i], want[i])
		}
	}
	if ctr.Retries.Load() != 1 {
		t.Errorf("retries %d, want 1", ctr.Retries.Load())
	}
}

func TestTransientFailuresUpToMaxAttempts(t *testing.T) {
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter)
		code   int
	}{
		{"top-level 50004", func(w http.ResponseWriter) {
			json.NewEncoder(w).Encode(Response{ActionStatus: "FAIL", ErrorCode: 50004, ErrorInfo: "busy"})
		}, 50004},
		{"HTTP 502", func(w http.ResponseWriter) { w.WriteHeader(502) }, codeTransport},
		{"200 not JSON", func(w http.ResponseWriter) { io.WriteString(w, "<html>gateway</html>") }, codeTransport},
		{"connection dropped", func(w http.ResponseWriter) { panic(http.ErrAbortHandler) }, codeTransport},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{answer: func(_ int, _ markContactBody, w http.ResponseWriter) { tc.answer(w) }}
			c, _ := newTestClient(t, s, 4)
			// The API answered earlier in the run: these are failures of a
			// live endpoint (one that never answers stops the run; see
			// TestSilentEndpointStops).
			c.reach.answered.Store(true)
			out, err := sendOne(t, c, testRequest("a", "b"))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.sent()); n != 4 {
				t.Fatalf("%d attempts, want 4", n)
			}
			for _, o := range out {
				if !o.Sent || o.Code != tc.code || o.Attempts != 4 || !strings.Contains(o.Message, "gave up after 4 attempts") {
					t.Errorf("outcome %+v, want failed with %d after 4 attempts", o, tc.code)
				}
				if strings.Contains(o.Message, "test-usersig-value") {
					t.Errorf("usersig in message %q", o.Message)
				}
			}
		})
	}
}

func TestThrottledSlowsThePace(t *testing.T) {
	s := &scripted{answer: func(n int, req markContactBody, w http.ResponseWriter) {
		if n <= 2 {
			json.NewEncoder(w).Encode(Response{ActionStatus: "FAIL", ErrorCode: 60007, ErrorInfo: "too many"})
			return
		}
		json.NewEncoder(w).Encode(okItems(req, func(wireContact) int { return 0 }))
	}}
	c, ctr := newTestClient(t, s, 6)
	before := c.pacer.pace()
	out, err := sendOne(t, c, testRequest("a"))
	if err != nil || out[0].Code != 0 || out[0].Attempts != 3 {
		t.Fatalf("outcome %+v err %v", out, err)
	}
	if after := c.pacer.pace(); after >= before {
		t.Errorf("pace %g after throttling, was %g", after, before)
	}
	if ctr.Throttled.Total() != 2 {
		t.Errorf("throttled %d, want 2", ctr.Throttled.Total())
	}
}

func TestFatalStopsAndMissingResultRetries(t *testing.T) {
	s := &scripted{answer: func(n int, req markContactBody, w http.ResponseWriter) {
		json.NewEncoder(w).Encode(Response{ActionStatus: "FAIL", ErrorCode: 70009, ErrorInfo: "sig check failed"})
	}}
	c, _ := newTestClient(t, s, 6)
	out, err := sendOne(t, c, testRequest("a"))
	var fe *mark.FatalError
	if !errors.As(err, &fe) || fe.Code != 70009 || fe.Hint == "" {
		t.Fatalf("err %v, want fatal 70009 with a hint", err)
	}
	if n := len(s.sent()); n != 1 || out[0].Code != 70009 {
		t.Fatalf("%d requests, outcome %+v", n, out)
	}

	// An answer that omits an item: that item is retried alone.
	s2 := &scripted{answer: func(n int, req markContactBody, w http.ResponseWriter) {
		resp := okItems(req, func(wireContact) int { return 0 })
		if n == 1 {
			resp.ResultItem = resp.ResultItem[:1]
		}
		json.NewEncoder(w).Encode(resp)
	}}
	c2, _ := newTestClient(t, s2, 6)
	out, err = sendOne(t, c2, testRequest("a", "b"))
	if b := s2.sent(); err != nil || out[0].Code != 0 || out[1].Code != 0 || len(b) != 2 || len(b[1].MarkItem) != 1 {
		t.Fatalf("outcomes %+v, %d requests", out, len(b))
	}
	// The results come in another order than the items: the omitted one is
	// found by its ContactItem, not by position.
	omitted := okItems(s2.sent()[0], func(wireContact) int { return 0 }).ResultItem[1].ContactItem
	if b := s2.sent(); b[1].MarkItem[0].ContactItem != omitted || out[0].Attempts+out[1].Attempts != 3 {
		t.Fatalf("retried %+v, want the omitted %+v; attempts %d and %d", b[1].MarkItem[0].ContactItem, omitted, out[0].Attempts, out[1].Attempts)
	}
}

func TestWireFormOfItems(t *testing.T) {
	it := mark.Item{Conv: mark.Conversation{Type: mark.Group, Peer: "g"}, Set: 1<<0 | 1<<63, Clear: 1 << 5, Custom: "", Opt: mark.OptBoth}
	b, _ := json.Marshal(markItem(&it))
	if want := `{"OptType":3,"ContactItem":{"Type":2,"ToGroupId":"g"},"SetMark":[0,63],"ClearMark":[5],"CustomMark":""}`; string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
	it = mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Custom: "x", Opt: mark.OptCustom}
	b, _ = json.Marshal(markItem(&it))
	if want := `{"OptType":2,"ContactItem":{"Type":1,"To_Account":"p"},"CustomMark":"x"}`; string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestRedaction(t *testing.T) {
	RegisterSecret("s3cr3t-key-value")
	got := Redact(`Post "https://h/v4/x?sdkappid=1&usersig=abc.def&random=3": dial tcp: s3cr3t-key-value`)
	if strings.Contains(got, "abc.def") || strings.Contains(got, "s3cr3t") {
		t.Fatalf("not redacted: %s", got)
	}
	// A transport error carries the URL: it must not reach a message.
	c, _ := newTestClient(t, http.NotFoundHandler(), 1)
	c.base.Host = "127.0.0.1:1" // nothing listens there
	out, _ := sendOne(t, c, testRequest("a"))
	if strings.Contains(out[0].Message, "test-usersig-value") || strings.Contains(out[0].Message, "usersig=") {
		t.Fatalf("URL in message: %s", out[0].Message)
	}
	// The message still says what went wrong.
	if out[0].Code != codeTransport || !strings.Contains(out[0].Message, "connection refused") {
		t.Fatalf("outcome %+v, want a transport failure saying the connection was refused", out[0])
	}
}

func TestEndpoints(t *testing.T) {
	for _, ok := range []string{"https://console.tim.qq.com", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:80"} {
		if _, err := checkEndpoint(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://console.tim.qq.com", "http://10.0.0.1", "ftp://x", "https://h/?usersig=1", "nohost"} {
		if _, err := checkEndpoint(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if u, err := RegionEndpoint("Singapore"); err != nil || u != "https://adminapisgp.im.qcloud.com" {
		t.Errorf("singapore: %s %v", u, err)
	}
	if _, err := RegionEndpoint("mars"); err == nil || !strings.Contains(err.Error(), "frankfurt") {
		t.Errorf("unknown region message: %v", err)
	}
}

// TestClassify: the one classification of an attempt at the level of the
// request, pure, case by case: transport failures, HTTP statuses, redirects,
// bodies that are not answers or break the API's shape, and the checked
// head's code.
func TestClassify(t *testing.T) {
	ok := &answerHead{}
	code := func(c int, info string) *answerHead { return &answerHead{code: c, info: info} }
	tests := []struct {
		name   string
		status int
		err    error
		head   *answerHead
		class  class
		code   int
		msg    string // a substring of the message
	}{
		{"ok", 200, nil, ok, classOK, 0, ""},
		{"throttled", 200, nil, code(60007, "too many"), classThrottled, 60007, "too many"},
		{"transient", 200, nil, code(70500, "busy"), classTransient, 70500, "busy"},
		{"sig expired", 200, nil, code(70001, ""), classSigExpired, 70001, "API error 70001"},
		{"fatal", 200, nil, code(70009, "bad sig"), classFatal, 70009, "bad sig"},
		{"item failed", 200, nil, code(50001, "no such user"), classItemFailed, 50001, "no such user"},
		{"an unknown code", 200, nil, code(99999, "?"), classItemFailed, 99999, "?"},
		{"HTTP 502", 502, nil, nil, classTransient, codeTransport, "HTTP 502"},
		{"HTTP 429", 429, nil, nil, classThrottled, codeTransport, "429"},
		{"HTTP 404", 404, nil, nil, classFatal, codeTransport, "404"},
		{"HTTP 307", 307, &redirectError{status: 307, location: "http://elsewhere/x (query not shown)"}, nil, classFatal, codeTransport, "HTTP 307 Temporary Redirect to http://elsewhere/x"},
		{"timeout", 0, netTimeout{}, nil, classTransient, codeTransport, "timeout"},
		{"not JSON", 200, errNotJSON, nil, classTransient, codeTransport, "not a JSON answer"},
		{"protocol error", 200, protocolf("ResultCode is missing"), nil, classTransient, codeProtocol, "protocol error: ResultCode is missing"},
		{"cancelled", 0, context.Canceled, nil, classTransient, codeTransport, "cancelled"},
	}
	for _, tt := range tests {
		class, c, msg := classify(tt.status, tt.err, tt.head)
		if class != tt.class || c != tt.code || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: %v %d %q, want %v %d %q", tt.name, class, c, msg, tt.class, tt.code, tt.msg)
		}
	}
}
