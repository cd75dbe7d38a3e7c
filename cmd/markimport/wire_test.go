package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// What the command does with answers it must not believe, endpoints that
// send elsewhere or never answer, and numbers out of range.

// lyingServer serves srv, the honest emulator, except that lie may rewrite
// the body of each 200 answer of an API before it leaves: the change was
// applied, and the answer lies about it.
func lyingServer(t *testing.T, srv *fakeim.Server, api fakeim.API, lie func([]byte) []byte) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK && strings.HasSuffix(r.URL.Path, "/"+string(api)) {
			body = lie(body)
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(hs.Close)
	emulators = append(emulators, srv)
	t.Cleanup(func() { emulators = emulators[:len(emulators)-1] })
	return hs.URL
}

func honestEmulator() *fakeim.Server {
	return fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey})
}

// TestLyingWritesAreNeverOK: a server whose mark_contact answers carry
// "ResultCode": null (the change applied, the answer incomplete) gets no
// row ok: every row is failed with -2 and a message saying what was
// wrong, the exit code is 1, and with --state nothing is recorded as
// confirmed, so that the next run against an honest server sends every
// row again.
func TestLyingWritesAreNeverOK(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,to_account,set_mark,custom_mark\nalice,bob,1,x\nalice,carol,2,\ndave,erin,,y\n"), 0o644)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	srv := honestEmulator()
	url := lyingServer(t, srv, fakeim.MarkContact, func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(`"ResultCode":0`), []byte(`"ResultCode":null`))
	})
	report, state := filepath.Join(dir, "r.csv"), filepath.Join(dir, "state")
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--state", state, "--max-attempts", "2"}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	rep := readReport(t, report)
	if len(rep) != 3 {
		t.Fatalf("%d report lines, want 3", len(rep))
	}
	for row, l := range rep {
		if l.status != "failed" || l.code != -2 || !strings.Contains(l.message, "gave up after 2 attempts: protocol error") ||
			!strings.Contains(l.message, "ResultCode is null, not an integer") {
			t.Errorf("row %d: %+v, want failed -2 saying ResultCode is null", row, l)
		}
	}
	// The next night, the server honest: every row is sent again, none is
	// taken as confirmed by the lying run.
	_, honest := startEmulator(t, fakeim.Config{})
	report2 := filepath.Join(dir, "r2.csv")
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report2, "--state", state}, connArgs(honest)...)...); code != exitOK {
		t.Fatalf("honest run: exit %d\n%s", code, stderr)
	}
	for row, l := range readReport(t, report2) {
		if l.status != "ok" || l.attempts != 1 {
			t.Errorf("honest run, row %d: %+v, want sent and ok", row, l)
		}
	}
}

// TestLyingReadsChangeNothing: a server whose read answers leave out the
// StandardMark of a conversation the user marked is not believed: --mode
// insert with --backup writes nothing for that user (its rows unsent with
// -2, its marks untouched, no restore row made up), and verify reports the
// rows unread; both exit 1.
func TestLyingReadsChangeNothing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,to_account,set_mark,custom_mark\nalice,bob,1,x\nalice,carol,2,\n"), 0o644)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	srv := honestEmulator()
	bob := fakeim.Conversation{Type: fakeim.C2C, Peer: "bob"}
	mine := fakeim.Mark{Standard: 1 << 40, Custom: "mine", CustomSet: true}
	srv.SetMark("alice", bob, mine)
	url := lyingServer(t, srv, fakeim.SearchContactGroup, func(b []byte) []byte {
		var a map[string]any
		json.Unmarshal(b, &a)
		for _, e := range a["ContactResultItem"].([]any) {
			delete(e.(map[string]any), "StandardMark")
		}
		out, _ := json.Marshal(a)
		return out
	})
	report, bk := filepath.Join(dir, "r.csv"), filepath.Join(dir, "backup.csv")
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--mode", "insert", "--backup", bk, "--max-attempts", "2"}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for row, l := range readReport(t, report) {
		if l.status != "unsent" || l.code != -2 || !strings.Contains(l.message, `StandardMark is missing`) {
			t.Errorf("row %d: %+v, want unsent -2 saying StandardMark is missing", row, l)
		}
	}
	if m, _ := srv.Lookup("alice", bob); m != mine {
		t.Errorf("alice/bob holds %+v, want the user's own %+v", m, mine)
	}
	if n := srv.Stats().APIs[fakeim.MarkContact].Requests; n != 0 {
		t.Errorf("%d mark_contact requests after reads that could not be believed", n)
	}
	if b, err := os.ReadFile(bk); err == nil && strings.Count(string(b), "\n") > 1 {
		t.Errorf("the backup holds rows made from a lying read:\n%s", b)
	}

	vreport := filepath.Join(dir, "v.csv")
	code, _, stderr = verifyCLI(t, t.Context(), append([]string{"--input", in, "--report", vreport, "--max-attempts", "2"}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("verify: exit %d, want 1\n%s", code, stderr)
	}
	for row, l := range readVerifyReport(t, vreport) {
		if l.status != "unread" || !strings.Contains(l.message, "StandardMark is missing") {
			t.Errorf("verify row %d: %+v, want unread saying StandardMark is missing", row, l)
		}
	}
}

// TestRedirectStopsTheRun: an endpoint that answers 307 to another host
// over plain http stops the run (exit 3): the other host receives nothing,
// and the message names the Location without its query (no usersig).
func TestRedirectStopsTheRun(t *testing.T) {
	dir, in, _ := newInput(t, 81, 300)
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer other.Close()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
	}))
	defer hs.Close()
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "r.csv")
	summary := filepath.Join(dir, "s.json")
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--summary", summary}, connArgs(hs.URL)...)...)
	if code != exitFatal {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	loc := strings.TrimPrefix(other.URL, "http://") + "/v4/recentcontact/mark_contact (query not shown)"
	if !strings.Contains(stderr, "HTTP 307 Temporary Redirect to http://"+loc) || !strings.Contains(stderr, "follows no redirect") || strings.Contains(stderr, "usersig=") {
		t.Errorf("stderr %q: want the redirect and its Location without the query", stderr)
	}
	// A redirect is no API error: no code -1 is shown as one.
	if strings.Contains(stderr, "API error") {
		t.Errorf("stderr %q calls the redirect an API error", stderr)
	}
	var sum struct {
		Stopped string `json:"stopped"`
	}
	if b, err := os.ReadFile(summary); err != nil || json.Unmarshal(b, &sum) != nil || sum.Stopped != "fatal: http" {
		t.Errorf("summary stopped %q (%v), want \"fatal: http\"", sum.Stopped, err)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the host redirected to received %d requests", n)
	}
	for row, l := range readReport(t, report) {
		if l.status == "ok" {
			t.Fatalf("row %d ok on a redirect", row)
		}
	}
}

// TestSilentEndpointEndsFast: an endpoint that accepts connections and
// never answers stops the run as unreachable (exit 3), in a few request
// timeouts: 2,000 rows at --timeout 1s end long before the 6 attempts ×
// 1 s × their requests that retrying each one would take. Every row is
// unsent, and the message names the endpoint and the timeout.
func TestSilentEndpointEndsFast(t *testing.T) {
	dir, in, rows := newInput(t, 82, 2000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, summary := filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json")
	start := time.Now()
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--summary", summary, "--timeout", "1s"},
		connArgs("http://"+ln.Addr().String())...)...)
	took := time.Since(start)
	if code != exitFatal {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	if !strings.Contains(stderr, ln.Addr().String()) || !strings.Contains(stderr, "no answer to 3 requests in a row, each given --timeout 1s") {
		t.Errorf("stderr %q: want the endpoint and the timeout", stderr)
	}
	requests := expect(rows).requests
	if limit := time.Duration(requests) * 6 * time.Second / 10; took > limit {
		t.Errorf("took %v for %d requests: want far less than retrying each (%v at a tenth)", took, requests, limit)
	}
	e := expect(rows)
	for row, l := range readReport(t, report) {
		if e.status[row] == "ok" && l.status != "unsent" {
			t.Fatalf("row %d: %+v, want unsent", row, l)
		}
	}
	var sum map[string]any
	b, _ := os.ReadFile(summary)
	json.Unmarshal(b, &sum)
	if sum["stopped"] != "fatal: unreachable" {
		t.Errorf("summary stopped %v", sum["stopped"])
	}
}

// TestPacingFlagsAreBounded: numbers out of range are a usage error (exit
// 2, nothing sent) whose message names the flag and the range.
func TestPacingFlagsAreBounded(t *testing.T) {
	dir, in, _ := newInput(t, 83, 50)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	cases := []struct {
		flag, value, want string
	}{
		{"--rate", "NaN", "above 0 and at most 10000"},
		{"--rate", "Inf", "above 0 and at most 10000"},
		{"--rate", "1e9", "above 0 and at most 10000"},
		{"--rate", "10001", "above 0 and at most 10000"},
		{"--rate", "0", "above 0 and at most 10000"},
		{"--rate", "-5", "above 0 and at most 10000"},
		{"--read-rate", "NaN", "above 0 and at most 10000"},
		{"--read-rate", "1e9", "above 0 and at most 10000"},
		{"--rate-margin", "1", "from 0 up to, not including, 0.5"},
		{"--rate-margin", "0.5", "from 0 up to, not including, 0.5"},
		{"--rate-margin", "-0.01", "from 0 up to, not including, 0.5"},
		{"--rate-margin", "NaN", "from 0 up to, not including, 0.5"},
		{"--concurrency", "-1", "1 to 4096"},
		{"--concurrency", "100000", "1 to 4096"},
		{"--timeout", "0s", "1s to 10m0s"},
		{"--timeout", "500ms", "1s to 10m0s"},
		{"--timeout", "1h", "1s to 10m0s"},
		{"--max-attempts", "0", "1 to 100"},
		{"--max-attempts", "1000", "1 to 100"},
	}
	for i, tc := range cases {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			args := append([]string{"run", "--input", in, "--report", filepath.Join(dir, fmt.Sprintf("r%d.csv", i)), tc.flag, tc.value}, connArgs(url)...)
			code, _, stderr := runCLI(t, args...)
			if code != exitUsage || !strings.Contains(stderr, tc.flag+" ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q: want 2 naming %s and %q", code, stderr, tc.flag, tc.want)
			}
			if tc.flag == "--rate" || tc.flag == "--read-rate" {
				if code, _, stderr := runCLI(t, "validate", "--input", in, tc.flag, tc.value, "--quiet"); code != exitUsage || !strings.Contains(stderr, tc.want) {
					t.Errorf("validate: exit %d, stderr %q", code, stderr)
				}
			}
		})
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent with numbers out of range", n)
	}
	// In range: fractions of a request per second, and the margin 0.
	if code, _, stderr := runCLI(t, "validate", "--input", in, "--rate", "0.5", "--quiet"); code != exitSomeNotOK {
		t.Errorf("--rate 0.5: exit %d\n%s", code, stderr)
	}
	report := filepath.Join(dir, "ok.csv")
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--rate-margin", "0", "--rate", "10000", "--concurrency", "4096", "--timeout", "1s"}, connArgs(url)...)...); code != exitSomeNotOK {
		t.Errorf("numbers in range: exit %d\n%s", code, stderr)
	}
}

// manyUsers writes an input of n users with one conversation each: n
// requests.
func manyUsers(t *testing.T, n int) (dir, in string) {
	t.Helper()
	dir = t.TempDir()
	in = filepath.Join(dir, "in.csv")
	var b strings.Builder
	b.WriteString("from_account,to_account,set_mark\n")
	for i := range n {
		fmt.Fprintf(&b, "user%d,peer,%d\n", i, i%64)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, in
}

// TestRateAboveTheLimitEveryRowOK: told --rate 50 against an emulator
// that allows 20 a second, a run is throttled, slows down until the server
// stops refusing, and every row ends ok (exit 0), with one attempt per
// row: throttles the pacer answered by slowing down are retried until
// accepted, and spend no attempt. The rates are low so that even a loaded
// machine sends faster than the emulator allows; the timeout is generous
// so that a slow answer is not taken for a failure.
func TestRateAboveTheLimitEveryRowOK(t *testing.T) {
	const users = 120 // one request each: six seconds at 20/s
	dir, in := manyUsers(t, users)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: 20})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, summary := filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json")
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--summary", summary,
		"--rate", "50", "--max-attempts", "1", "--timeout", "60s"}, connArgs(url)...)...)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	rep := readReport(t, report)
	if len(rep) != users {
		t.Fatalf("%d report lines, want %d", len(rep), users)
	}
	for row, l := range rep {
		if l.status != "ok" {
			t.Fatalf("row %d: %+v", row, l)
		}
	}
	st := srv.Stats().APIs[fakeim.MarkContact]
	if st.Throttled == 0 {
		t.Fatalf("the emulator never throttled at --rate 50 against 20/s: the test proves nothing (%+v)", st)
	}
	// Each user's request was taken once; every other one was throttled.
	if st.Accepted != users || st.Requests != users+st.Throttled {
		t.Errorf("the emulator took %d requests of %d, throttling %d; want each of the %d users' taken once and only throttled ones sent again", st.Accepted, st.Requests, st.Throttled, users)
	}
	var sum map[string]any
	sb, _ := os.ReadFile(summary)
	json.Unmarshal(sb, &sum)
	if th, _ := sum["throttled"].(float64); int64(th) != st.Throttled {
		t.Errorf("the summary counts %v throttled, the emulator %d (summary %s)", sum["throttled"], st.Throttled, sb)
	}
}

// TestDefaultRateKeepsTheDocumentedLimit: at the default rate, against an
// emulator without a limit of its own, no second holds more than the
// documented 200 departures (runCLI checks them against apiLimit, a
// constant of the test), over a run several seconds long.
func TestDefaultRateKeepsTheDocumentedLimit(t *testing.T) {
	dir, in := manyUsers(t, 700)
	_, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv")}, connArgs(url)...)...); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}
