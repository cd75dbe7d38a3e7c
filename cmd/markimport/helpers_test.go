package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"markimport/pipeline/durable"
	"markimport/pipeline/preflight"
	"markimport/sink/fakeim"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
		{[]string{"b", "", "p", "", "", "x", "", ""}, `clear_mark: "x" is neither a bit number (0..63) nor a mark name (star, unread, fold, hide)`},
		{[]string{"b", "", "p", "", "3", "3", "", ""}, "bit 3 (hide) is both set and cleared"},
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
		if n := fakeim.MaxInWindow(d.ts, time.Second); n > d.limit {
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

// buildBinary is the real command as shipped (go build), built once for
// the tests of the package.
func buildBinary(t *testing.T) string {
	t.Helper()
	return buildWithTags(t, "")
}

// buildWithTestHooks is the command with the hooks only tests have
// (testhooks.go): MARKIMPORT_TEST_STATE_KILL_AFTER.
func buildWithTestHooks(t *testing.T) string {
	t.Helper()
	return buildWithTags(t, "markimport_testhooks")
}

// builds are the binaries built so far, by build tags, in one folder
// removed when the tests end (TestMain): linking the command takes
// seconds, a dozen tests run it.
var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

func buildWithTags(t *testing.T, tags string) string {
	t.Helper()
	return buildWith(t, nil, "-tags", tags)
}

// buildWith builds the command with go build's flags and the environment
// added to the test's (CGO_ENABLED=0), once for each combination.
func buildWith(t *testing.T, env []string, flags ...string) string {
	t.Helper()
	key := strings.Join(append(slices.Clone(env), flags...), " ")
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bins[key]; ok {
		return bin
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "markimport-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		// Any user may run it (startRunAs).
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.bins = dir, map[string]string{}
	}
	bin := filepath.Join(builds.dir, "markimport"+strconv.Itoa(len(builds.bins)))
	cmd := exec.Command("go", slices.Concat([]string{"build"}, flags, []string{"-o", bin, "."})...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", key, err, out)
	}
	builds.bins[key] = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if profiles.dir != "" {
		os.RemoveAll(profiles.dir)
	}
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// waitRequests waits until the emulator has taken at least n mark_contact
// requests, so that a kill or a signal comes in the middle of a run
// however fast the machine is.
func waitRequests(t *testing.T, srv *fakeim.Server, n int64) int64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := srv.Stats().APIs[fakeim.MarkContact].Requests
		if got >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator took %d requests in 30 s, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childOutput is a child process's stdout and stderr together, safe to
// read while the child writes it.
type childOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *childOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *childOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitOutput waits until the child has written want, which says that it
// reached the point of its run that prints it.
func waitOutput(t *testing.T, out *childOutput, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the child did not write %q in 30 s:\n%s", want, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startRun starts `markimport run` as a child process against url.
func startRun(t *testing.T, bin, url string, extra ...string) (*exec.Cmd, *childOutput) {
	t.Helper()
	return startRunEnv(t, bin, url, nil, extra...)
}

// startRunEnv is startRun with more environment variables.
func startRunEnv(t *testing.T, bin, url string, env []string, extra ...string) (*exec.Cmd, *childOutput) {
	t.Helper()
	args := append([]string{"run", "--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--profile", testProfile()}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "MARKIMPORT_SECRET_KEY="+testKey), env...)
	out := &childOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// exitCode is the exit code of a child that ended with err (-1: it did
// not exit by itself).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// initialState gives the emulator marks before the import: half of the
// conversations the file touches already hold random marks (some with a
// custom mark), and a few users have conversations the file never names.
// It returns every conversation's marks before the import.
func initialState(t *testing.T, srv *fakeim.Server, rows []testRow, seed uint64) map[convKey]fakeim.Mark {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	before := map[convKey]fakeim.Mark{}
	e := expect(rows)
	// In a fixed order, so that a seed gives one state.
	users := slices.Sorted(maps.Keys(e.state))
	for _, user := range users {
		convs := e.state[user]
		for _, c := range slices.SortedFunc(maps.Keys(convs), func(a, b fakeim.Conversation) int { return strings.Compare(a.String(), b.String()) }) {
			if r.IntN(2) == 0 {
				continue
			}
			m := fakeim.Mark{Standard: r.Uint64() & r.Uint64()}
			if r.IntN(2) == 0 {
				m.Custom, m.CustomSet = "before "+strconv.Itoa(r.IntN(1000))+", \"q\"", true
			}
			srv.SetMark(user, c, m)
			before[convKey{user, c}] = m
		}
		if len(convs) < 900 && r.IntN(4) == 0 {
			c := fakeim.Conversation{Type: fakeim.C2C, Peer: "untouched"}
			m := fakeim.Mark{Standard: r.Uint64(), Custom: "keep", CustomSet: true}
			srv.SetMark(user, c, m)
			before[convKey{user, c}] = m
		}
	}
	return before
}

// checkImportedOver checks the emulator after an import of rows over the
// state before: each touched conversation holds its marks before, with
// the item's bits set and cleared and its custom mark written; every other
// conversation is as it was.
func checkImportedOver(t *testing.T, srv *fakeim.Server, rows []testRow, before map[convKey]fakeim.Mark) {
	t.Helper()
	e := expect(rows)
	items := mergeRows(rows, e)
	for k, it := range items {
		m0 := before[k]
		want := fakeim.Mark{Standard: (m0.Standard &^ it.clear) | it.set, Custom: m0.Custom}
		if f := e.state[k.user][k.conv]; f.CustomSet {
			want.Custom = f.Custom
		}
		if got, _ := srv.Lookup(k.user, k.conv); got.Standard != want.Standard || got.Custom != want.Custom {
			t.Fatalf("after the import, %s %v: %016x %q, want %016x %q", k.user, k.conv, got.Standard, got.Custom, want.Standard, want.Custom)
		}
	}
	for k, m0 := range before {
		if items[k] == nil {
			if got, _ := srv.Lookup(k.user, k.conv); got != m0 {
				t.Fatalf("%s %v is not in the file and changed: %+v, was %+v", k.user, k.conv, got, m0)
			}
		}
	}
}

// checkRolledBack checks the emulator after the backup was imported: every
// conversation the import touched has the marks it had before (none for
// those it created: the API cannot delete them), and every other is as it
// was.
func checkRolledBack(t *testing.T, srv *fakeim.Server, rows []testRow, before map[convKey]fakeim.Mark) {
	t.Helper()
	items := mergeRows(rows, expect(rows))
	bad := 0
	for k := range items {
		m0 := before[k]
		got, _ := srv.Lookup(k.user, k.conv)
		if got.Standard != m0.Standard || got.Custom != m0.Custom {
			if bad++; bad <= 5 {
				t.Errorf("after the rollback, %s %v: %016x %q, want %016x %q as before the import", k.user, k.conv, got.Standard, got.Custom, m0.Standard, m0.Custom)
			}
		}
	}
	for k, m0 := range before {
		if items[k] == nil {
			if got, _ := srv.Lookup(k.user, k.conv); got != m0 {
				t.Errorf("%s %v is not in the file and changed: %+v, was %+v", k.user, k.conv, got, m0)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d conversations not restored", bad)
	}
}

// changedConversations lists the conversations an import of rows over
// before really changes: those the backup must hold a row for.
func changedConversations(rows []testRow, before map[convKey]fakeim.Mark) map[convKey]bool {
	e := expect(rows)
	out := map[convKey]bool{}
	for k, it := range mergeRows(rows, e) {
		m0, found := before[k]
		after := (m0.Standard &^ it.clear) | it.set
		f := e.state[k.user][k.conv]
		if !found || after != m0.Standard || f.CustomSet && f.Custom != m0.Custom {
			out[k] = true
		}
	}
	return out
}

// backupHeader is a backup's header.
const backupHeader = "\ufefffrom_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type"

// serveChecked serves srv on loopback, calling check with the user and
// conversations of every mark_contact request before the emulator takes
// it, and returns its URL.
func serveChecked(t *testing.T, srv *fakeim.Server, check func(from string, convs []fakeim.Conversation)) string {
	t.Helper()
	return checkedServer(t, srv, check).URL
}

// checkedServer is serveChecked's server. A test that reads what check
// recorded closes it first: Close waits for every request's handler to
// return, and a request the tool gave up on (a timeout, a retry) may
// still be in check after the run has returned.
func checkedServer(t *testing.T, srv *fakeim.Server, check func(from string, convs []fakeim.Conversation)) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(checkedHandler(srv, check))
	t.Cleanup(hs.Close)
	emulators = append(emulators, srv)
	t.Cleanup(func() { emulators = slices.DeleteFunc(emulators, func(s *fakeim.Server) bool { return s == srv }) })
	return hs
}

// checkedHandler is serveChecked's handler: srv, calling check first
// with the user and conversations of every mark_contact request.
func checkedHandler(srv *fakeim.Server, check func(from string, convs []fakeim.Conversation)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/mark_contact") {
			body, _ := io.ReadAll(r.Body)
			var req fakeim.MarkContactRequest
			if json.Unmarshal(body, &req) == nil {
				var convs []fakeim.Conversation
				for _, it := range req.MarkItem {
					c := fakeim.Conversation{Type: it.ContactItem.Type, Peer: it.ContactItem.ToAccount}
					if c.Type == fakeim.Group {
						c.Peer = it.ContactItem.ToGroupID
					}
					convs = append(convs, c)
				}
				check(req.FromAccount, convs)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		srv.ServeHTTP(w, r)
	})
}

// readSummary reads a --summary file.
func readSummary(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ghostInput writes a file of three rows, the second of a user the
// emulator does not know (so that reading its marks fails with 50001),
// and starts that emulator, alice's conversation with bob holding before.
func ghostInput(t *testing.T, before fakeim.Mark) (dir, in string, srv *fakeim.Server, url string) {
	t.Helper()
	dir = t.TempDir()
	in = filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,to_account,set_mark,custom_mark\nalice,bob,1,x\nghost,bob,2,\nalice,carol,3,\n"), 0o644)
	srv, url = startEmulator(t, fakeim.Config{Users: []string{"alice", "bob", "carol"}})
	srv.SetMark("alice", fakeim.Conversation{Type: fakeim.C2C, Peer: "bob"}, before)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	return dir, in, srv, url
}

// verifyCLI runs `markimport verify args...` in-process.
func verifyCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	return runCLIContext(t, ctx, append([]string{"verify"}, args...)...)
}

// connArgs are the connection flags of the test emulator.
func connArgs(url string) []string {
	return []string{"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--profile", testProfile()}
}

// verifyLine is one parsed verify report line.
type verifyLine struct {
	from, typ, peer, status, expected, actual, message string
}

func readVerifyReport(t *testing.T, path string) map[int64]verifyLine {
	t.Helper()
	out := map[int64]verifyLine{}
	for row, r := range readRows(t, path, "row,from_account,type,peer,status,expected,actual,message") {
		out[row] = verifyLine{r[1], r[2], r[3], r[4], r[5], r[6], r[7]}
	}
	return out
}

// convKey names one conversation of one user.
type convKey struct {
	user string
	conv fakeim.Conversation
}

// merged is the test's own account of one planned item: the bits its rows
// set and clear, last one winning, and the rows merged into it.
type merged struct {
	set, clear uint64
	rows       []int64
}

// mergeRows merges the rows the import sent (status ok) per conversation.
func mergeRows(rows []testRow, e expectation) map[convKey]*merged {
	out := map[convKey]*merged{}
	for i, r := range rows {
		row := int64(i + 1)
		if e.status[row] != "ok" {
			continue
		}
		f := r.fields
		k := convKey{strings.TrimSpace(f[0]), fakeim.Conversation{Type: fakeim.C2C, Peer: strings.TrimSpace(f[2])}}
		if strings.TrimSpace(f[3]) != "" {
			k.conv = fakeim.Conversation{Type: fakeim.Group, Peer: strings.TrimSpace(f[3])}
		}
		m := out[k]
		if m == nil {
			m = &merged{}
			out[k] = m
		}
		var set, clear uint64
		for _, b := range bitsOf(f[4]) {
			set |= 1 << b
		}
		for _, b := range bitsOf(f[5]) {
			clear |= 1 << b
		}
		m.set = (m.set &^ clear) | set
		m.clear = (m.clear &^ set) | clear
		m.rows = append(m.rows, row)
	}
	return out
}

// searchLowerBound is the fewest search requests that read every
// conversation of state: ceil(n/300) per user.
func searchLowerBound(state map[string]map[fakeim.Conversation]fakeim.Mark) int {
	n := 0
	for _, convs := range state {
		n += (len(convs) + 299) / 300
	}
	return n
}

// snapshot reads every regular file under dir, to prove later that a
// command changed none of them.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if info, err := os.Lstat(p); err == nil && info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			out[e.Name()] = string(b)
		}
	}
	return out
}

func sameFiles(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := snapshot(t, dir)
	for name, b := range before {
		if after[name] != b {
			t.Errorf("%s changed", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
}

// runArgs are the flags of a run against url.
func runArgs(url string, extra ...string) []string {
	return append([]string{"run", "--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--profile", testProfile()}, extra...)
}

// runNumbered runs `run` against url with args, each time with a report
// of its own (r1.csv, r2.csv, ... in dir) and the extra flags given, and
// returns the exit code and stderr.
func runNumbered(t *testing.T, dir, url string, args ...string) func(extra ...string) (int, string) {
	n := 0
	return func(extra ...string) (int, string) {
		t.Helper()
		n++
		rep := filepath.Join(dir, fmt.Sprintf("r%d.csv", n))
		code, _, stderr := runCLI(t, runArgs(url, append(append(slices.Clone(args), "--report", rep), extra...)...)...)
		return code, stderr
	}
}

// stopBySignal starts `markimport run` (bin) against url with args, sends
// sig once the emulator has taken n requests, and checks that the run
// exits 130 and prints the command that resumes it.
func stopBySignal(t *testing.T, bin string, srv *fakeim.Server, url string, n int64, sig os.Signal, args ...string) {
	t.Helper()
	// The run's requests past the n-th are held until the signal is
	// taken: the run cannot end first.
	held := holdFrom(t, url, string(fakeim.MarkContact), int(n)+1)
	cmd, out := startRun(t, bin, held.url, args...)
	waitRequests(t, srv, n)
	cmd.Process.Signal(sig)
	waitOutput(t, out, "finishing requests in flight")
	held.release()
	if code := exitCode(cmd.Wait()); code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, out)
	}
	if !strings.Contains(out.String(), "--resume") {
		t.Errorf("no resume hint:\n%s", out)
	}
}

// profiles holds the service profile of the test emulators (bit 0 last,
// the default emulator's reading), written once for the package's tests.
var profiles struct {
	once sync.Once
	dir  string
	path string
}

// testProfile is the path of a service profile for testAppID, as
// markimport preflight writes it for the default emulator.
func testProfile() string {
	profiles.once.Do(func() {
		dir, err := os.MkdirTemp("", "markimport-profile-")
		if err != nil {
			panic(err)
		}
		// Readable by every user: some tests run the binary as another.
		if err := os.Chmod(dir, 0o755); err != nil {
			panic(err)
		}
		profiles.dir, profiles.path = dir, filepath.Join(dir, "profile.json")
		p := &preflight.Profile{Format: preflight.ProfileFormat, Tool: "markimport", SDKAppID: testAppID,
			Endpoint: "http://127.0.0.1", Date: time.Now().Add(-time.Hour).UTC(), Version: "test", Scratch: "test_a:c2c:test_b",
			Findings: preflight.Findings{BitOrder: "bit-0-last", StandardMarkWidth: 64, NoMarksReadAs: "zeros", SetAndClear: "refused 50002",
				EmptyCustomClears: true, CustomRoundTrip: true, UnknownFrom: "refused 50001", LatencyP50Ms: 1, LatencyP99Ms: 2, Concurrency: 1}}
		if err := preflight.WriteProfile(durable.Local, profiles.path, p); err != nil {
			panic(err)
		}
		if err := os.Chmod(profiles.path, 0o644); err != nil {
			panic(err)
		}
	})
	return profiles.path
}
