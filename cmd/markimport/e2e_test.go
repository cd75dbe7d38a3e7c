package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"markimport/pipeline/mark"
	"markimport/sink/fakeim"
	"markimport/sink/usersig"
)

// testRow is one generated input row and what must become of it.
type testRow struct {
	fields []string // from_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type
	// invalid rows carry the text the report message must contain.
	invalid string
}

// genRows makes a shuffled input exercising the planner: many users, repeated
// conversations whose rows merge, a user with 1,001 conversations, and one row
// of each invalid kind.
func genRows(seed uint64, n int) []testRow {
	r := rand.New(rand.NewPCG(seed, 99))
	var rows []testRow
	add := func(f ...string) { rows = append(rows, testRow{fields: f}) }
	for i := range n {
		u := "user" + strconv.Itoa(r.IntN(max(1, n/8)))
		p := strconv.Itoa(r.IntN(12))
		switch i % 5 {
		case 0:
			add(u, "", "peer"+p, "", fmt.Sprintf("[%d, %d]", r.IntN(64), r.IntN(64)), "", "", "")
		case 1:
			b := r.IntN(64)
			add(u, "c2c", "peer"+p, "", "", strconv.Itoa(b), "", "")
		case 2:
			add(u, "GROUP", "", "grp"+p, strconv.Itoa(r.IntN(32)), "", "c, \"q\"\n"+strconv.Itoa(i), "3")
		case 3:
			add(u, "2", "", "grp"+p, "", "", "  spaced  ", "")
		case 4:
			add(u, "1", "peer"+p, "", "", "", "", "2") // clears the custom mark
		}
	}
	// A user with 1,001 conversations: the last one is rejected, twice.
	for i := range 1001 {
		add("heavy", "", "h"+strconv.Itoa(i), "", "5", "", "", "")
	}
	add("heavy", "", "h1000", "", "6", "", "", "")
	add("heavy", "", "h3", "", "", "5", "", "") // an accepted conversation: merges
	bad := []testRow{
		{[]string{"", "", "p", "", "1", "", "", ""}, "from_account: empty"},
		{[]string{"b", "7", "p", "", "1", "", "", ""}, `type: "7"`},
		{[]string{"b", "", "", "", "1", "", "", ""}, "both empty"},
		{[]string{"b", "", "p", "g", "1", "", "", ""}, "both set"},
		{[]string{"b", "1", "", "g", "1", "", "", ""}, "to_account: empty"},
		{[]string{"b", "2", "p", "", "1", "", "", ""}, "to_group_id: empty"},
		{[]string{"b", "", "p", "", "[64]", "", "", ""}, "set_mark: bit 64 is outside 0..63"},
		{[]string{"b", "", "p", "", "", "x", "", ""}, `clear_mark: "x" is not a bit number`},
		{[]string{"b", "", "p", "", "3", "3", "", ""}, "bit 3 is both set and cleared"},
		{[]string{"b", "", "p", "", "", "", strings.Repeat("字", 86), ""}, "custom_mark: 258 bytes"},
		{[]string{"b", "", "p", "", "", "", "\xff", ""}, "not valid UTF-8"},
		{[]string{"b", "", "p", "", "", "", "", ""}, "changes nothing"},
		{[]string{"b", "", "p", "", "1", "", "x", "1"}, "opt_type: 1"},
		{[]string{"b", "", "p", "", "1", "", "", "2"}, "opt_type: 2"},
		{[]string{"b", "", "p", "", "", "", "x", "3"}, "opt_type: 3"},
		{[]string{"b", "", "p", "", "1", "", "", "0"}, `opt_type: "0"`},
	}
	rows = append(rows, bad...)
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}

// newInput writes n generated rows (seed: genRows's) as in.csv in a new
// temporary folder, and returns the folder, the file and the rows.
func newInput(t *testing.T, seed uint64, n int) (dir, in string, rows []testRow) {
	t.Helper()
	dir = t.TempDir()
	rows = genRows(seed, n)
	in = filepath.Join(dir, "in.csv")
	writeCSV(t, in, rows)
	return dir, in, rows
}

// writeCSV writes rows under a header spelled the way exports spell it.
func writeCSV(t *testing.T, path string, rows []testRow) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.Write([]string{"From_Account", "Type", "To-Account", "to group id", "SetMark", "clear_mark", "CUSTOM_MARK", "opt_type", "ignored"})
	for _, r := range rows {
		w.Write(append(r.fields, "extra"))
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expectation is what an import of rows must leave: the emulator's state
// (applying every valid row in file order, as the API would one by one) and
// each row's status.
type expectation struct {
	state    map[string]map[fakeim.Conversation]fakeim.Mark
	status   map[int64]string
	message  map[int64]string
	requests int
}

func expect(rows []testRow) expectation {
	e := expectation{state: map[string]map[fakeim.Conversation]fakeim.Mark{}, status: map[int64]string{}, message: map[int64]string{}}
	order := map[string][]fakeim.Conversation{}
	for i, r := range rows {
		row := int64(i + 1)
		if r.invalid != "" {
			e.status[row], e.message[row] = "invalid", r.invalid
			continue
		}
		f := r.fields
		from, c := conversationOf(r)
		st := e.state[from]
		if st == nil {
			st = map[fakeim.Conversation]fakeim.Mark{}
			e.state[from] = st
		}
		m, known := st[c]
		if !known && len(st) >= 1000 {
			e.status[row] = "rejected"
			continue
		}
		if !known {
			order[from] = append(order[from], c)
		}
		e.status[row] = "ok"
		for _, b := range bitsOf(f[5]) {
			m.Standard &^= 1 << b
		}
		for _, b := range bitsOf(f[4]) {
			m.Standard |= 1 << b
		}
		if f[6] != "" || f[7] == "2" || f[7] == "3" {
			m.Custom, m.CustomSet = f[6], true
		}
		st[c] = m
	}
	for _, cs := range order {
		e.requests += (len(cs) + 99) / 100
	}
	return e
}

// conversationOf is the user and conversation of a valid row.
func conversationOf(r testRow) (string, fakeim.Conversation) {
	f := r.fields
	c := fakeim.Conversation{Type: fakeim.C2C, Peer: strings.TrimSpace(f[2])}
	if strings.TrimSpace(f[3]) != "" {
		c = fakeim.Conversation{Type: fakeim.Group, Peer: strings.TrimSpace(f[3])}
	}
	return strings.TrimSpace(f[0]), c
}

func bitsOf(s string) []int {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	var out []int
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' || r == ' ' }) {
		n, err := strconv.Atoi(p)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

// reportLine is one parsed report line.
type reportLine struct {
	from, typ, peer, status, message string
	code, attempts                   int
}

func readReport(t *testing.T, path string) map[int64]reportLine {
	t.Helper()
	out := map[int64]reportLine{}
	for row, r := range readRows(t, path, "row,from_account,type,peer,status,code,message,attempts") {
		code, _ := strconv.Atoi(r[5])
		att, _ := strconv.Atoi(r[7])
		out[row] = reportLine{r[1], r[2], r[3], r[4], r[6], code, att}
	}
	return out
}

// readCSVFile reads a whole CSV file, whose header must be header when
// given.
func readCSVFile(t *testing.T, path, header string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s is empty", path)
	}
	if got := strings.Join(recs[0], ","); header != "" && got != header {
		t.Fatalf("%s: header %s, want %s", path, got, header)
	}
	return recs
}

// readRows reads a report file with the given header and returns its
// records by row, failing on a row reported twice.
func readRows(t *testing.T, path, header string) map[int64][]string {
	t.Helper()
	recs := readCSVFile(t, path, header)
	out := map[int64][]string{}
	for _, r := range recs[1:] {
		row, _ := strconv.ParseInt(r[0], 10, 64)
		if _, dup := out[row]; dup {
			t.Fatalf("row %d reported twice", row)
		}
		out[row] = r
	}
	return out
}

const (
	testAppID = 1400000001
	testAdmin = "admin"
	testKey   = "0123456789abcdef0123456789abcdef-TEST-SECRET-KEY"
)

// emulators are those the running test started: runCLI compares what
// they received with the departures the client recorded.
var emulators []*fakeim.Server

// arrivals is how many requests the test's emulators have received.
func arrivals() int64 {
	var n int64
	for _, srv := range emulators {
		for _, a := range srv.Stats().APIs {
			n += a.Requests
		}
	}
	return n
}

// startEmulator serves a strict emulator on loopback.
func startEmulator(t *testing.T, cfg fakeim.Config) (*fakeim.Server, string) {
	t.Helper()
	if cfg.SDKAppID == 0 {
		cfg.SDKAppID = testAppID
	}
	if cfg.Admins == nil {
		cfg.Admins = []string{testAdmin}
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = testKey
	}
	srv := fakeim.New(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	emulators = append(emulators, srv)
	t.Cleanup(func() { emulators = slices.DeleteFunc(emulators, func(s *fakeim.Server) bool { return s == srv }) })
	return srv, hs.URL
}

// runCLI runs the command line in-process and returns exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLIContext(t, context.Background(), args...)
}

// apiLimit is the API's documented limit: 200 calls in any one second,
// for mark_contact and for search_contact_group apart.
const apiLimit = 200

// runCLIContext is runCLI under ctx (cancelled: an interrupt). It also
// checks the pacing of the run by the client's own departures, recorded
// as the pacer admitted them (not by what an emulator sharing the
// process counts, which stalls with a busy machine): every request that
// reached the test's emulators was admitted, and no second holds more
// than the documented 200 requests, or the --rate (--read-rate) the test
// gave when it gave one. The bound is the server's rule, written here,
// never a figure of the code under test.
func runCLIContext(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	return runCLIHooked(t, ctx, hooks{}, args...)
}

// runCLIHooked is runCLIContext with the backup written through
// h.backupFS (the departures are runCLIContext's own).
func runCLIHooked(t *testing.T, ctx context.Context, h hooks, args ...string) (int, string, string) {
	t.Helper()
	var mu sync.Mutex
	var deps, reads []time.Time
	h.departure = func(tm time.Time) {
		mu.Lock()
		deps = append(deps, tm)
		mu.Unlock()
	}
	h.readDeparture = func(tm time.Time) {
		mu.Lock()
		reads = append(reads, tm)
		mu.Unlock()
	}
	before := arrivals()
	var out, errb bytes.Buffer
	code := runWithHooks(ctx, args, &out, &errb, h)
	mu.Lock()
	defer mu.Unlock()
	if got := arrivals() - before; int64(len(deps)+len(reads)) < got {
		t.Errorf("%d requests reached the emulator, the pacers admitted %d", got, len(deps)+len(reads))
	}
	limit, readLimit := apiLimit, apiLimit
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--rate":
			limit = givenRate(t, args[i+1])
		case "--read-rate":
			readLimit = givenRate(t, args[i+1])
		}
	}
	for _, d := range []struct {
		what  string
		ts    []time.Time
		limit int
	}{{"requests", deps, limit}, {"backup reads", reads, readLimit}} {
		slices.SortFunc(d.ts, func(a, b time.Time) int { return a.Compare(b) })
		if n := maxInWindow(d.ts, time.Second); n > d.limit {
			t.Errorf("%d %s left within one second; at most %d may", n, d.what, d.limit)
		}
	}
	return code, out.String(), errb.String()
}

// givenRate is the most requests a second may hold at a --rate the test
// gave: the whole requests of it, one at least. A value the command must
// refuse (not a number, not above 0, above the documented 10,000) sends
// nothing at all.
func givenRate(t *testing.T, v string) int {
	t.Helper()
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || !(r > 0) || r > 10000 {
		return 0
	}
	return max(1, int(r))
}

// maxInWindow is the most times within any sliding window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func checkImport(t *testing.T, srv *fakeim.Server, rows []testRow, reportPath string) {
	t.Helper()
	e := expect(rows)
	rep := readReport(t, reportPath)
	if len(rep) != len(rows) {
		t.Fatalf("report has %d rows, input %d", len(rep), len(rows))
	}
	for row, want := range e.status {
		got := rep[row]
		if got.status != want {
			t.Errorf("row %d: status %s (%d %s), want %s", row, got.status, got.code, got.message, want)
			continue
		}
		switch want {
		case "invalid":
			if got.code != 50002 || !strings.Contains(got.message, e.message[row]) {
				t.Errorf("row %d: invalid with %d %q, want 50002 and %q", row, got.code, got.message, e.message[row])
			}
		case "rejected":
			if got.code != 51008 {
				t.Errorf("row %d: rejected with code %d, want 51008", row, got.code)
			}
		case "ok":
			if got.code != 0 || got.attempts < 1 {
				t.Errorf("row %d: ok with code %d attempts %d", row, got.code, got.attempts)
			}
		}
	}
	checkState(t, srv, e)
}

// checkState checks that the emulator holds exactly the expected state and
// saw no malformed request.
func checkState(t *testing.T, srv *fakeim.Server, e expectation) {
	t.Helper()
	snap := srv.Snapshot()
	if len(snap) != len(e.state) {
		t.Errorf("emulator has %d users, want %d", len(snap), len(e.state))
	}
	for u, convs := range e.state {
		got := snap[u]
		if len(got) != len(convs) {
			t.Errorf("user %q: %d conversations on the server, want %d", u, len(got), len(convs))
		}
		for c, m := range convs {
			if got[c] != m {
				t.Errorf("user %q %v: server has %+v, want %+v", u, c, got[c], m)
			}
		}
	}
	st := srv.Stats()
	if st.MalformedRequests+st.MalformedItems > 0 {
		t.Errorf("the emulator saw malformed requests: %s", st)
	}
}

func TestRunImportsExactly(t *testing.T) {
	dir, in, rows := newInput(t, 1, 1500)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, summary := filepath.Join(dir, "report.csv"), filepath.Join(dir, "summary.json")
	code, stdout, stderr := runCLI(t, "run", "--input", in, "--report", report, "--summary", summary,
		"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1 (invalid rows)\n%s\n%s", code, stdout, stderr)
	}
	checkImport(t, srv, rows, report)
	e := expect(rows)
	if got := srv.Stats().APIs[fakeim.MarkContact].Accepted; int(got) != e.requests {
		t.Errorf("%d requests sent, lower bound %d", got, e.requests)
	}
	var sum map[string]any
	b, _ := os.ReadFile(summary)
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("summary: %v", err)
	}
	if int(sum["requests_planned"].(float64)) != e.requests || int(sum["exit_code"].(float64)) != 1 {
		t.Errorf("summary %s", b)
	}
	for _, out := range []string{stdout, stderr, string(b)} {
		if strings.Contains(out, testKey) {
			t.Errorf("the secret key leaked: %s", out)
		}
	}
}

func TestValidateSendsNothing(t *testing.T) {
	dir, in, rows := newInput(t, 2, 300)
	report := filepath.Join(dir, "report.csv")
	code, stdout, _ := runCLI(t, "validate", "--input", in, "--report", report, "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1", code)
	}
	e := expect(rows)
	rep := readReport(t, report)
	if len(rep) != len(rows) {
		t.Fatalf("report has %d rows, want %d", len(rep), len(rows))
	}
	for row, want := range e.status {
		if want == "ok" {
			want = "valid"
		}
		if rep[row].status != want {
			t.Errorf("row %d: %s, want %s", row, rep[row].status, want)
		}
	}
	if !strings.Contains(stdout, fmt.Sprintf("requests       %d planned", e.requests)) {
		t.Errorf("plan does not show %d requests:\n%s", e.requests, stdout)
	}
}

// TestRunWithFaultsEndsExact: each fault alone and all together, at
// realistic rates: every row ends ok and the server holds exactly what the
// file asks.
func TestRunWithFaultsEndsExact(t *testing.T) {
	cases := []struct {
		name  string
		cfg   fakeim.Config
		fault fakeim.Fault
	}{
		{"transient errors", fakeim.Config{TransientRate: 0.05}, fakeim.FaultTransient},
		{"item transient errors", fakeim.Config{ItemTransientRate: 0.05}, fakeim.FaultItemTransient},
		{"HTTP 502", fakeim.Config{HTTP502Rate: 0.03}, fakeim.FaultHTTP502},
		{"lost responses", fakeim.Config{LostResponseRate: 0.03}, fakeim.FaultLostResponse},
		{"latency with jitter", fakeim.Config{Latency: 20 * time.Millisecond, LatencyJitter: 80 * time.Millisecond}, ""},
		{"all together", fakeim.Config{TransientRate: 0.05, ItemTransientRate: 0.03, HTTP502Rate: 0.01, LostResponseRate: 0.01,
			Latency: 5 * time.Millisecond, LatencyJitter: 20 * time.Millisecond}, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, uint64(30+i), 1200)
			tc.cfg.Seed = int64(5 + i)
			srv, url := startEmulator(t, tc.cfg)
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			report := filepath.Join(dir, "report.csv")
			code, stdout, stderr := runCLI(t, "run", "--input", in, "--report", report,
				"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--max-attempts", "10")
			if code != exitSomeNotOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			checkImport(t, srv, rows, report)
			f := srv.Stats().Faults
			if tc.fault != "" && f[tc.fault] == 0 {
				t.Errorf("the fault %s was not injected: %v", tc.fault, f)
			}
			if tc.name == "all together" && (f[fakeim.FaultTransient] == 0 || f[fakeim.FaultItemTransient] == 0) {
				t.Errorf("faults were not all injected: %v", f)
			}
		})
	}
}

func TestFatalStopsTheRun(t *testing.T) {
	dir, in, rows := newInput(t, 4, 3000)
	cases := []struct {
		name string
		cfg  fakeim.Config
		key  string
		code int
	}{
		{"wrong key", fakeim.Config{}, "another-key-entirely-0000000000", 70009},
		{"not an admin", fakeim.Config{Admins: []string{"someone-else"}}, testKey, 50003},
		{"no standard marks", fakeim.Config{NoStandardMarks: true}, testKey, 51013},
		{"wrong sdkappid", fakeim.Config{SDKAppID: testAppID + 1}, testKey, 70020},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := startEmulator(t, tc.cfg)
			t.Setenv("MARKIMPORT_SECRET_KEY", tc.key)
			report := filepath.Join(dir, tc.name+".csv")
			code, _, stderr := runCLI(t, "run", "--input", in, "--report", report,
				"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet")
			if code != exitFatal {
				t.Fatalf("exit %d, want 3\n%s", code, stderr)
			}
			if !strings.Contains(stderr, strconv.Itoa(tc.code)) {
				t.Errorf("message does not name %d:\n%s", tc.code, stderr)
			}
			rep := readReport(t, report)
			if len(rep) != len(rows) {
				t.Fatalf("report has %d rows, want %d", len(rep), len(rows))
			}
			// Invalid and rejected rows say so; every row that would have
			// been sent is unsent, or failed with the fatal code.
			e := expect(rows)
			unsent := 0
			for row, l := range rep {
				switch want := e.status[row]; {
				case want == "invalid" && (l.status != "invalid" || l.code != mark.CodeInvalid),
					want == "rejected" && (l.status != "rejected" || l.code != mark.CodeTooManyConversations),
					want == "ok" && l.status != "unsent" && (l.status != "failed" || l.code != tc.code):
					t.Fatalf("row %d: %s %d (%s), want it %s", row, l.status, l.code, l.message, map[string]string{
						"invalid": "invalid 50002", "rejected": "rejected 51008", "ok": fmt.Sprintf("unsent or failed %d", tc.code)}[want])
				}
				if l.status == "unsent" {
					unsent++
				}
			}
			if unsent == 0 {
				t.Errorf("no row unsent")
			}
			if users := srv.Snapshot(); len(users) != 0 {
				t.Errorf("the emulator holds marks of %d users after %d", len(users), tc.code)
			}
			// Requests already in flight may finish, but there is no flood.
			if n := srv.Stats().APIs[fakeim.MarkContact].Requests; n > 250 {
				t.Errorf("%d requests sent after a fatal answer", n)
			}
			if strings.Contains(stderr, tc.key) {
				t.Errorf("secret leaked")
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"missing column", write("nocol.csv", "user,to_account\nu,p\n"), "from_account"},
		{"empty file", write("empty.csv", ""), "empty"},
		{"header only", write("header.csv", "from_account,to_account,set_mark\n"), "no data rows"},
		{"no such file", filepath.Join(dir, "absent.csv"), "absent.csv"},
		{"csv renamed parquet", write("renamed.parquet", "from_account,to_account\nu,p\n"), "renamed.parquet"},
		{"empty parquet", write("empty.parquet", ""), "empty.parquet"},
		{"truncated parquet", truncated(t, dir), "truncated.parquet"},
		{"parquet set_mark as list<double>", "../../testdata/parquet/arrow_bad_set_mark_double.parquet", "set_mark"},
		{"parquet account as double", "../../testdata/parquet/xitongsys_bad_double_account.parquet", "from_account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "validate", "--input", tc.path, "--quiet")
			if code != exitUsage || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, filepath.Base(tc.path)) {
				t.Fatalf("exit %d, stderr %q; want 2 naming the file and %q", code, stderr, tc.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Fatalf("a stack trace: %s", stderr)
			}
		})
	}
}

// TestSigRenewal: usersigs that expire every second or two are renewed, both
// ahead of time (--sig-ttl) and when the server answers 70001, and the run
// completes exactly; neither the secret key nor any usersig is ever printed.
func TestSigRenewal(t *testing.T) {
	cases := []struct {
		name   string
		server time.Duration // the emulator refuses usersigs older than this
		ttl    string        // the lifetime markimport gives its usersigs
	}{
		{"renewed ahead of expiry", 0, "2s"},
		{"renewed on 70001", 1500 * time.Millisecond, "24h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, 5, 3000)
			srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, SigTTL: tc.server})
			var mu sync.Mutex
			sigs := map[string]bool{}
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				sigs[r.URL.Query().Get("usersig")] = true
				mu.Unlock()
				srv.ServeHTTP(w, r)
			}))
			defer hs.Close()
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			report, summary := filepath.Join(dir, "report.csv"), filepath.Join(dir, "summary.json")
			code, stdout, stderr := runCLI(t, "run", "--input", in, "--report", report, "--summary", summary, "--endpoint", hs.URL,
				"--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--progress-every", "100ms", "--sig-ttl", tc.ttl)
			if code != exitSomeNotOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			checkImport(t, srv, rows, report)
			if len(sigs) < 2 {
				t.Errorf("%d distinct usersigs over a run of several seconds, want renewals", len(sigs))
			}
			// Renewed ahead of time, the server never sees an expired one;
			// with a server stricter than the usersig, it does, and the
			// run renews on 70001.
			expired := srv.Stats().ErrorCodes[70001]
			if tc.server == 0 && expired != 0 {
				t.Errorf("%d answers 70001: usersigs were not renewed ahead of expiry", expired)
			}
			if tc.server != 0 && expired == 0 {
				t.Errorf("no 70001 from a server that expires usersigs after %v", tc.server)
			}
			for sig := range sigs {
				if err := usersig.Verify(sig, testKey, testAppID, testAdmin, time.Now().Add(-time.Minute)); err != nil {
					t.Errorf("usersig does not verify: %v", err)
				}
			}
			rep, _ := os.ReadFile(report)
			sum, _ := os.ReadFile(summary)
			for name, out := range map[string]string{"stdout": stdout, "stderr": stderr, "report": string(rep), "summary": string(sum)} {
				if strings.Contains(out, testKey) {
					t.Errorf("the secret key appears in %s", name)
				}
				for sig := range sigs {
					if strings.Contains(out, sig) {
						t.Errorf("a usersig appears in %s", name)
					}
				}
			}
		})
	}
}

// truncated writes a real Parquet fixture cut in half.
func truncated(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("../../testdata/parquet/arrow_many_row_groups.parquet")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "truncated.parquet")
	os.WriteFile(p, b[:len(b)/2], 0o644)
	return p
}
