package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// Nightly runs with --state: the second night of the same file sends
// nothing, a night with changes sends exactly the changed items, packed at
// their lower bound, and the emulator ends exact.

// changedRequests is the lower bound of the requests that carry the
// conversations changed, per user.
func changedRequests(changed map[string]map[fakeim.Conversation]bool) int {
	n := 0
	for _, convs := range changed {
		n += (len(convs) + 99) / 100
	}
	return n
}

// night3 returns rows with changes made the way a legacy system's next
// export would have them: some conversations get a later row (a new custom
// mark), some users new conversations, and a few invalid rows appear; and
// the conversations whose merged item changed.
func night3(rows []testRow) ([]testRow, map[string]map[fakeim.Conversation]bool) {
	out := append([]testRow(nil), rows...)
	changed := map[string]map[fakeim.Conversation]bool{}
	mark := func(u string, c fakeim.Conversation) {
		if changed[u] == nil {
			changed[u] = map[fakeim.Conversation]bool{}
		}
		changed[u][c] = true
	}
	seen := map[string]bool{}
	k := 0
	for _, r := range rows {
		f := r.fields
		if r.invalid != "" || f[0] == "heavy" || strings.TrimSpace(f[2]) == "" || seen[f[0]+"\x00"+f[2]] {
			continue
		}
		seen[f[0]+"\x00"+f[2]] = true
		if k++; k%9 != 0 {
			continue
		}
		u, peer := strings.TrimSpace(f[0]), strings.TrimSpace(f[2])
		// A later row: a new custom mark for an existing conversation.
		out = append(out, testRow{fields: []string{u, "c2c", peer, "", "", "", "night3-" + strconv.Itoa(k), ""}})
		mark(u, fakeim.Conversation{Type: fakeim.C2C, Peer: peer})
		// A new conversation of the same user.
		np := "new-" + strconv.Itoa(k)
		out = append(out, testRow{fields: []string{u, "", np, "", "7", "", "", ""}})
		mark(u, fakeim.Conversation{Type: fakeim.C2C, Peer: np})
	}
	out = append(out, testRow{[]string{"", "", "p", "", "1", "", "", ""}, "from_account: empty"})
	return out, changed
}

func TestNightlyRunsWithState(t *testing.T) {
	dir, in, rows := newInput(t, 51, 3000)
	stateDir := filepath.Join(dir, "state")
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	accepted := func() int64 { return srv.Stats().APIs[fakeim.MarkContact].Accepted }
	night := func(n int, extra ...string) (int, string) {
		rep := filepath.Join(dir, fmt.Sprintf("night%d.csv", n))
		code, stdout, stderr := runCLI(t, runArgs(url, append([]string{"--input", in, "--report", rep, "--state", stateDir}, extra...)...)...)
		if code > exitSomeNotOK {
			t.Fatalf("night %d: exit %d\n%s%s", n, code, stdout, stderr)
		}
		return code, rep
	}

	// Night 1: everything is new.
	_, rep1 := night(1)
	checkImport(t, srv, rows, rep1)
	e := expect(rows)
	if got := accepted(); got != int64(e.requests) {
		t.Fatalf("night 1: %d requests, want %d", got, e.requests)
	}

	// Night 2, the same file: no request, ok rows unchanged, the rest as
	// before, and the emulator as it was.
	before := srv.Snapshot()
	code, rep2 := night(2)
	if got := accepted(); got != int64(e.requests) {
		t.Errorf("night 2 sent %d requests, want 0", got-int64(e.requests))
	}
	lines := readReport(t, rep2)
	if len(lines) != len(rows) {
		t.Fatalf("night 2: %d lines for %d rows", len(lines), len(rows))
	}
	for row, want := range e.status {
		if want == "ok" {
			want = "unchanged"
		}
		if got := lines[row]; got.status != want || want == "unchanged" && got.code != 0 {
			t.Errorf("night 2 row %d: %s %d, want %s", row, got.status, got.code, want)
		}
	}
	if code != exitSomeNotOK { // the invalid and rejected rows
		t.Errorf("night 2: exit %d, want 1", code)
	}
	checkState(t, srv, expectation{state: before})

	// Validate previews the same: every ok row unchanged, no request left.
	_, stdout, _ := runCLI(t, "validate", "--input", in, "--state", stateDir, "--quiet")
	if !strings.Contains(stdout, "requests       0 planned") || !strings.Contains(stdout, fmt.Sprintf("unchanged    %d", countStatus(e, "ok"))) {
		t.Errorf("validate --state:\n%s", stdout)
	}
	// The input's users and conversations, unchanged ones included.
	convs := 0
	for _, c := range e.state {
		convs += len(c)
	}
	if !strings.Contains(stdout, fmt.Sprintf("users          %d\n", len(e.state))) || !strings.Contains(stdout, fmt.Sprintf("conversations  %d\n", convs)) {
		t.Errorf("validate --state: want %d users, %d conversations:\n%s", len(e.state), convs, stdout)
	}

	// Night 3: changes, additions, an invalid row: exactly the changed
	// items are sent, at their lower bound.
	rows3, changed := night3(rows)
	writeCSV(t, in, rows3)
	sent := accepted()
	night(3)
	if got, want := accepted()-sent, int64(changedRequests(changed)); got != want {
		t.Errorf("night 3 sent %d requests, want %d for the changed items", got, want)
	}
	e3 := expect(rows3)
	checkState(t, srv, e3)

	// Night 4, the same file again: nothing.
	sent = accepted()
	night(4)
	if got := accepted() - sent; got != 0 {
		t.Errorf("night 4 sent %d requests, want 0", got)
	}
	// --full sends everything again and keeps the state.
	sent = accepted()
	night(5, "--full")
	if got := accepted() - sent; got != int64(e3.requests) {
		t.Errorf("--full sent %d requests, want all %d", got, e3.requests)
	}
	checkState(t, srv, e3)
}

func countStatus(e expectation, status string) int {
	n := 0
	for _, s := range e.status {
		if s == status {
			n++
		}
	}
	return n
}

// TestStateFailedItemsSentNextNight: items that failed (an item-level
// error, one attempt allowed) are not stored: the next night sends exactly
// them, and the emulator ends exact.
func TestStateFailedItemsSentNextNight(t *testing.T) {
	dir, in, rows := newInput(t, 52, 2000)
	stateDir := filepath.Join(dir, "state")
	srv, url := startEmulator(t, fakeim.Config{ItemTransientRate: 0.2, Seed: 3})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	rep1 := filepath.Join(dir, "night1.csv")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", rep1, "--state", stateDir, "--max-attempts", "1")...); code != exitSomeNotOK {
		t.Fatalf("night 1: exit %d: %s", code, stderr)
	}
	failed := map[int64]bool{}
	for row, l := range readReport(t, rep1) {
		if l.status == "failed" {
			failed[row] = true
		}
	}
	if len(failed) == 0 {
		t.Fatal("no item failed on night 1: the test needs some")
	}
	rep2 := filepath.Join(dir, "night2.csv")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", rep2, "--state", stateDir, "--max-attempts", "20")...); code != exitSomeNotOK {
		t.Fatalf("night 2: exit %d: %s", code, stderr)
	}
	e := expect(rows)
	for row, l := range readReport(t, rep2) {
		switch want := e.status[row]; {
		case want != "ok":
		case failed[row] && l.status != "ok":
			t.Errorf("row %d failed on night 1 and is %s on night 2, want ok", row, l.status)
		case !failed[row] && l.status != "unchanged":
			t.Errorf("row %d was ok on night 1 and is %s on night 2, want unchanged", row, l.status)
		}
	}
	checkState(t, srv, e)
}

// TestStateRefusals: a state of another app, a damaged state, a state in
// use, and flags that do not go with --state are refused with exit 2 and
// a message naming the cause; nothing is sent.
func TestStateRefusals(t *testing.T) {
	dir, in, _ := newInput(t, 53, 300)
	stateDir := filepath.Join(dir, "state")
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	run := runNumbered(t, dir, url, "--input", in)
	if code, stderr := run("--state", stateDir); code != exitSomeNotOK {
		t.Fatalf("first night: exit %d: %s", code, stderr)
	}
	sent := srv.Stats().APIs[fakeim.MarkContact].Requests
	want2 := func(name string, code int, stderr string, wants ...string) {
		t.Helper()
		if code != exitUsage {
			t.Errorf("%s: exit %d, want 2: %s", name, code, stderr)
		}
		for _, w := range wants {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: %q lacks %q", name, stderr, w)
			}
		}
	}
	// Another app.
	code, stderr := run("--state", stateDir, "--sdkappid", "1400000099")
	want2("another app", code, stderr, "1400000099", strconv.Itoa(testAppID))

	// Two runs on one state: the lock, as the report's.
	lock, err := os.OpenFile(filepath.Join(stateDir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	code, stderr = run("--state", stateDir)
	want2("a state in use", code, stderr, "another markimport run is using the state "+stateDir)
	lock.Close()

	// A damaged partition file, then a truncated one, then a damaged
	// manifest: each named, with --full suggested.
	var man struct {
		Files map[string]struct{ Name string } `json:"files"`
	}
	b, _ := os.ReadFile(filepath.Join(stateDir, "MANIFEST.json"))
	if err := json.Unmarshal(b, &man); err != nil || len(man.Files) == 0 {
		t.Fatalf("manifest %s: %v", b, err)
	}
	var part string
	for _, f := range man.Files {
		part = filepath.Join(stateDir, f.Name)
		break
	}
	orig, _ := os.ReadFile(part)
	bad := append([]byte(nil), orig...)
	bad[len(bad)-1] ^= 0xff
	os.WriteFile(part, bad, 0o644)
	code, stderr = run("--state", stateDir)
	want2("a damaged partition", code, stderr, part, "--full")
	os.WriteFile(part, orig[:len(orig)-7], 0o644)
	code, stderr = run("--state", stateDir)
	want2("a truncated partition", code, stderr, part, "truncated", "--full")
	os.WriteFile(part, orig, 0o644)
	os.WriteFile(filepath.Join(stateDir, "MANIFEST.json"), b[:len(b)/2], 0o644)
	code, stderr = run("--state", stateDir)
	want2("a damaged manifest", code, stderr, "MANIFEST.json", "--full")
	os.WriteFile(filepath.Join(stateDir, "MANIFEST.json"), b, 0o644)

	code, stderr = run("--state", stateDir, "--sorted")
	want2("--sorted", code, stderr, "--sorted")
	code, stderr = run("--full")
	want2("--full alone", code, stderr, "--full")
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != sent {
		t.Errorf("%d requests were sent by refused runs", got-sent)
	}
	// With the state mended, the next night sends nothing.
	if code, stderr := run("--state", stateDir); code != exitSomeNotOK {
		t.Fatalf("after mending: exit %d: %s", code, stderr)
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != sent {
		t.Errorf("the night after sent %d requests, want 0", got-sent)
	}
}

// TestStateKillAndResume: night 3 of a real binary killed with SIGKILL
// while sending, or while it writes its state, or interrupted, then
// resumed: the emulator ends exact, and a fourth night with the same file
// sends nothing.
func TestStateKillAndResume(t *testing.T) {
	bin := buildWithTestHooks(t)
	for _, kill := range []string{"while sending", "while writing the state", "Ctrl-C"} {
		t.Run(kill, func(t *testing.T) {
			dir, in, rows := newInput(t, 54, 6000)
			stateDir := filepath.Join(dir, "state")
			srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond})
			accepted := func() int64 { return srv.Stats().APIs[fakeim.MarkContact].Accepted }
			wait := func(env []string, args ...string) (int, string) {
				cmd, out := startRunEnv(t, bin, url, env, args...)
				return exitCode(cmd.Wait()), out.String()
			}
			if code, out := wait(nil, "--input", in, "--report", filepath.Join(dir, "night1.csv"), "--state", stateDir); code != exitSomeNotOK {
				t.Fatalf("night 1: exit %d\n%s", code, out)
			}
			manifest, _ := os.ReadFile(filepath.Join(stateDir, "MANIFEST.json"))
			rows3, changed := night3(rows)
			writeCSV(t, in, rows3)
			start := accepted()
			args := []string{"--input", in, "--report", filepath.Join(dir, "night3.csv"), "--state", stateDir}
			// Killed or interrupted, the run's requests from its 6th are
			// held until then: it cannot end first.
			if kill == "while sending" {
				sixth, before := holdFrom(t, url, string(fakeim.MarkContact), 6), srv.Stats().APIs[fakeim.MarkContact].Requests
				cmd, out := startRunEnv(t, bin, sixth.url, nil, args...)
				waitRequests(t, srv, before+5)
				cmd.Process.Kill()
				if code := exitCode(cmd.Wait()); code != -1 {
					t.Fatalf("exit %d, want a kill\n%s", code, out)
				}
				sixth.drop()
			} else if kill == "Ctrl-C" {
				// Interrupted, the run stops at once: it does not merge
				// the state (its --resume records what it confirmed).
				sixth, before := holdFrom(t, url, string(fakeim.MarkContact), 6), srv.Stats().APIs[fakeim.MarkContact].Requests
				cmd, out := startRunEnv(t, bin, sixth.url, nil, args...)
				waitRequests(t, srv, before+5)
				cmd.Process.Signal(syscall.SIGINT)
				waitOutput(t, out, "finishing requests in flight")
				sixth.release()
				if code := exitCode(cmd.Wait()); code != exitInterrupted {
					t.Fatalf("exit %d, want 130\n%s", code, out)
				}
			} else if code, out := wait([]string{"MARKIMPORT_TEST_STATE_KILL_AFTER=3"}, args...); code != -1 {
				t.Fatalf("exit %d, want a kill while the state is written\n%s", code, out)
			}
			// Stopped before its manifest was renamed: the old state, whole.
			if now, _ := os.ReadFile(filepath.Join(stateDir, "MANIFEST.json")); string(now) != string(manifest) {
				t.Errorf("the stopped run changed the state's manifest")
			}
			if code, out := wait(nil, append(args, "--resume")...); code != exitSomeNotOK {
				t.Fatalf("resume: exit %d\n%s", code, out)
			}
			checkState(t, srv, expect(rows3))
			if got, want := accepted()-start, int64(changedRequests(changed)); got < want {
				t.Errorf("night 3 and its resume sent %d requests, fewer than the %d the changed items need", got, want)
			}
			sent := accepted()
			if code, out := wait(nil, "--input", in, "--report", filepath.Join(dir, "night4.csv"), "--state", stateDir); code != exitSomeNotOK {
				t.Fatalf("night 4: exit %d\n%s", code, out)
			}
			if got := accepted() - sent; got != 0 {
				t.Errorf("night 4 sent %d requests, want 0", got)
			}
		})
	}
}

// changeRow is a row of TestStateSeesEveryChange: a conversation of user
// from, as night 1 and night 2 have it (night2 nil: the same row).
type changeRow struct {
	name           string
	night1, night2 []string
}

// everyChange returns conversations each changed in one way a fingerprint
// or a key could miss: each bit added, each bit set turned into the same
// bit cleared and back, the custom mark's last byte of 256, its presence,
// "" against no custom mark, and a conversation of the other type with the
// peer of a confirmed one; and as many left as they were.
func everyChange() []changeRow {
	var out []changeRow
	row := func(from, typ, peer, set, clear, custom, opt string) []string {
		f := []string{from, typ, "", "", set, clear, custom, opt}
		if typ == "group" {
			f[3] = peer
		} else {
			f[2] = peer
		}
		return f
	}
	for b := range 64 {
		s := strconv.Itoa(b)
		if b > 0 {
			out = append(out, changeRow{"bit " + s + " added", row("adds", "c2c", "a"+s, "0", "", "", ""), row("adds", "c2c", "a"+s, "0|"+s, "", "", "")})
		}
		out = append(out, changeRow{"bit " + s + " set, then cleared", row("flips", "c2c", "f"+s, s, "", "", ""), row("flips", "c2c", "f"+s, "", s, "", "")})
		out = append(out, changeRow{"bit " + s + " cleared, then set", row("flops", "group", "g"+s, "", s, "", ""), row("flops", "group", "g"+s, s, "", "", "")})
	}
	long := strings.Repeat("x", 256)
	out = append(out,
		changeRow{"byte 256 of the custom mark", row("customs", "c2c", "long", "", "", long, ""), row("customs", "c2c", "long", "", "", long[:255]+"y", "")},
		changeRow{"custom text", row("customs", "c2c", "text", "", "", "abc", ""), row("customs", "c2c", "text", "", "", "abd", "")},
		changeRow{"custom mark dropped", row("customs", "c2c", "dropped", "1", "", "", "3"), row("customs", "c2c", "dropped", "1", "", "", "")},
		changeRow{"custom mark added", row("customs", "c2c", "added", "1", "", "", ""), row("customs", "c2c", "added", "1", "", "", "3")},
		changeRow{"custom mark emptied", row("customs", "c2c", "emptied", "", "", "v", ""), row("customs", "c2c", "emptied", "", "", "", "2")},
		// A conversation of one type confirmed, the other type's with the
		// same peer new: its item is identical, and must still be sent.
		changeRow{"", row("types", "c2c", "same", "1", "", "", ""), nil},
		changeRow{"a group beside a c2c", nil, row("types", "group", "same", "1", "", "", "")},
		changeRow{"", row("types", "group", "other", "2", "", "c", ""), nil},
		changeRow{"a c2c beside a group", nil, row("types", "c2c", "other", "2", "", "c", "")},
	)
	for _, u := range []string{"adds", "flips", "flops", "customs", "types"} {
		for i := range 40 {
			typ := []string{"c2c", "group"}[i%2]
			out = append(out, changeRow{night1: row(u, typ, "keep"+strconv.Itoa(i), strconv.Itoa(i), strconv.Itoa(63-i), "k"+strconv.Itoa(i), "")})
		}
	}
	return out
}

// TestStateSeesEveryChange: night 2 changes each conversation in one way
// (a bit, set against clear, the custom mark, the conversation's type):
// exactly the changed ones are sent, the rest are unchanged, and the
// emulator ends as the two nights ask.
func TestStateSeesEveryChange(t *testing.T) {
	dir := t.TempDir()
	in, stateDir := filepath.Join(dir, "in.csv"), filepath.Join(dir, "state")
	changes := everyChange()
	var rows1, rows2 []testRow
	changedRows := map[int64]string{} // night 2's rows that must be sent
	changed := map[string]map[fakeim.Conversation]bool{}
	for _, c := range changes {
		if c.night1 != nil {
			rows1 = append(rows1, testRow{fields: c.night1})
		}
		f := c.night2
		if f == nil {
			f = c.night1
		} else {
			changedRows[int64(len(rows2)+1)] = c.name
			conv := fakeim.Conversation{Type: fakeim.C2C, Peer: f[2]}
			if f[3] != "" {
				conv = fakeim.Conversation{Type: fakeim.Group, Peer: f[3]}
			}
			if changed[f[0]] == nil {
				changed[f[0]] = map[fakeim.Conversation]bool{}
			}
			changed[f[0]][conv] = true
		}
		if f != nil {
			rows2 = append(rows2, testRow{fields: f})
		}
	}
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	accepted := func() int64 { return srv.Stats().APIs[fakeim.MarkContact].Accepted }

	writeCSV(t, in, rows1)
	rep1 := filepath.Join(dir, "night1.csv")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", rep1, "--state", stateDir)...); code != exitOK {
		t.Fatalf("night 1: exit %d: %s", code, stderr)
	}
	checkImport(t, srv, rows1, rep1)

	writeCSV(t, in, rows2)
	sent := accepted()
	rep2 := filepath.Join(dir, "night2.csv")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", rep2, "--state", stateDir)...); code != exitOK {
		t.Fatalf("night 2: exit %d: %s", code, stderr)
	}
	for row, l := range readReport(t, rep2) {
		name, isChanged := changedRows[row]
		switch {
		case isChanged && l.status != "ok":
			t.Errorf("night 2 row %d (%s, %s %s %s): %s, want ok: the change was not seen", row, name, l.from, l.typ, l.peer, l.status)
		case !isChanged && l.status != "unchanged":
			t.Errorf("night 2 row %d (%s %s %s, as on night 1): %s, want unchanged", row, l.from, l.typ, l.peer, l.status)
		}
	}
	if got, want := accepted()-sent, int64(changedRequests(changed)); got != want {
		t.Errorf("night 2 sent %d requests, want %d for the changed conversations", got, want)
	}
	checkState(t, srv, expect(append(rows1, rows2...)))
}

// fatalAfter serves the emulator behind a front that answers every
// mark_contact request after the first n with a fatal code (the API's
// "wrong key"), as an app whose key is revoked in the middle of a night
// would be answered. fail(false) lets every request through again.
func fatalAfter(t *testing.T, srv *fakeim.Server, n int64) (url string, fail func(bool)) {
	t.Helper()
	var seen atomic.Int64
	var failing atomic.Bool
	failing.Store(true)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/mark_contact") && failing.Load() && seen.Add(1) > n {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ActionStatus":"FAIL","ErrorCode":70009,"ErrorInfo":"usersig check failed","ErrorDisplay":""}`)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL, func(on bool) { failing.Store(on) }
}

// TestStateFatalStopRecordsOnlyConfirmed: a night stopped by a fatal
// answer records only the items the API confirmed: the next night reports
// those unchanged, sends every other item (at their lower bound), and the
// emulator ends exact.
func TestStateFatalStopRecordsOnlyConfirmed(t *testing.T) {
	dir, in, rows := newInput(t, 55, 2500)
	stateDir := filepath.Join(dir, "state")
	srv, _ := startEmulator(t, fakeim.Config{Latency: 5 * time.Millisecond})
	url, fail := fatalAfter(t, srv, 12)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	rep1 := filepath.Join(dir, "night1.csv")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", rep1, "--state", stateDir)...); code != exitFatal || !strings.Contains(stderr, "70009") {
		t.Fatalf("night 1: exit %d, want 3 for 70009: %s", code, stderr)
	}
	e := expect(rows)
	night1 := readReport(t, rep1)
	statuses := map[string]int{}
	notOK := map[string]map[fakeim.Conversation]bool{} // the items night 2 must send
	for row, l := range night1 {
		statuses[l.status]++
		if e.status[row] == "ok" && l.status != "ok" {
			typ := fakeim.C2C
			if l.typ == "group" {
				typ = fakeim.Group
			}
			if notOK[l.from] == nil {
				notOK[l.from] = map[fakeim.Conversation]bool{}
			}
			notOK[l.from][fakeim.Conversation{Type: typ, Peer: l.peer}] = true
		}
	}
	if statuses["ok"] == 0 || statuses["unsent"] == 0 {
		t.Fatalf("night 1 statuses %v: the test needs ok and unsent rows", statuses)
	}

	fail(false)
	sent := srv.Stats().APIs[fakeim.MarkContact].Accepted
	rep2 := filepath.Join(dir, "night2.csv")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", rep2, "--state", stateDir)...); code != exitSomeNotOK {
		t.Fatalf("night 2: exit %d: %s", code, stderr)
	}
	for row, l := range readReport(t, rep2) {
		switch want := e.status[row]; {
		case want != "ok":
		case night1[row].status == "ok" && l.status != "unchanged":
			t.Errorf("row %d was ok on night 1 and is %s on night 2, want unchanged", row, l.status)
		case night1[row].status != "ok" && l.status != "ok":
			t.Errorf("row %d was %s on night 1 and is %s on night 2, want ok: it was recorded as confirmed", row, night1[row].status, l.status)
		}
	}
	if got, want := srv.Stats().APIs[fakeim.MarkContact].Accepted-sent, int64(changedRequests(notOK)); got != want {
		t.Errorf("night 2 sent %d requests, want %d for the items not confirmed on night 1", got, want)
	}
	checkState(t, srv, expect(rows))
}

// folderFiles returns the files under dir (their paths relative to it)
// and their contents, the lock left out.
func folderFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStateUnaccountedFolderRefused: a state folder whose manifest is
// gone, empty, edited or hand-made, or that holds what markimport did not
// write, is refused with exit 2, saying what is there and suggesting
// --full; nothing is sent and nothing in the folder is deleted. Mended,
// the next night sends nothing.
func TestStateUnaccountedFolderRefused(t *testing.T) {
	dir, in, _ := newInput(t, 56, 1600)
	stateDir := filepath.Join(dir, "state")
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	run := runNumbered(t, dir, url, "--input", in, "--state", stateDir)
	if code, stderr := run(); code != exitSomeNotOK {
		t.Fatalf("night 1: exit %d: %s", code, stderr)
	}
	sent := srv.Stats().APIs[fakeim.MarkContact].Requests
	manPath := filepath.Join(stateDir, "MANIFEST.json")
	manifest, _ := os.ReadFile(manPath)
	var man map[string]any
	if err := json.Unmarshal(manifest, &man); err != nil {
		t.Fatal(err)
	}
	files, _ := man["files"].(map[string]any)
	if len(files) < 100 {
		t.Fatalf("night 1 left %d partition files: the test needs many", len(files))
	}
	var some []string // two partitions of the manifest
	for k := range files {
		some = append(some, k)
	}
	edited := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(manifest, &m)
		edit(m)
		b, _ := json.MarshalIndent(m, "", "  ")
		return b
	}
	whole := folderFiles(t, stateDir)
	firstGen := filepath.Dir(files[some[0]].(map[string]any)["name"].(string))

	for _, tc := range []struct {
		name   string
		damage func()
		wants  []string
	}{
		{"manifest deleted", func() { os.Remove(manPath) },
			[]string{stateDir, "no MANIFEST.json", fmt.Sprintf("%d partition files", len(files)), "--full"}},
		{"manifest empty", func() { os.WriteFile(manPath, nil, 0o644) },
			[]string{manPath, "--full"}},
		{"manifest listing no files", func() {
			os.WriteFile(manPath, edited(func(m map[string]any) { m["files"] = map[string]any{} }), 0o644)
		}, []string{manPath, "--full"}},
		{"manifest of generation 0 listing no files", func() {
			os.WriteFile(manPath, edited(func(m map[string]any) { m["files"], m["generation"] = map[string]any{}, 0 }), 0o644)
		}, []string{manPath, "--full"}},
		{"manifest edited (its date)", func() {
			os.WriteFile(manPath, edited(func(m map[string]any) { m["updated"] = "2001-01-01T00:00:00Z" }), 0o644)
		}, []string{manPath, "--full"}},
		{"manifest edited (two partitions swapped)", func() {
			os.WriteFile(manPath, edited(func(m map[string]any) {
				f := m["files"].(map[string]any)
				f[some[0]], f[some[1]] = f[some[1]], f[some[0]]
			}), 0o644)
		}, []string{manPath, "--full"}},
		{"a file markimport did not write", func() { os.WriteFile(filepath.Join(stateDir, "notes.txt"), []byte("mine"), 0o644) },
			[]string{stateDir, "notes.txt", "markimport did not write"}},
		{"a file in a generation folder", func() { os.WriteFile(filepath.Join(stateDir, firstGen, "readme"), []byte("mine"), 0o644) },
			[]string{stateDir, filepath.Join(firstGen, "readme")}},
		{"a generation no commit wrote", func() {
			os.MkdirAll(filepath.Join(stateDir, "gen-7"), 0o755)
			os.WriteFile(filepath.Join(stateDir, "gen-7", "p-000.st"), []byte(whole[files[some[0]].(map[string]any)["name"].(string)]), 0o644)
		}, []string{stateDir, "gen-7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.damage()
			broken := folderFiles(t, stateDir)
			code, stderr := run()
			if code != exitUsage {
				t.Errorf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(stderr, w) {
					t.Errorf("%q lacks %q", stderr, w)
				}
			}
			if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != sent {
				t.Errorf("%d requests sent on a refused state", got-sent)
			}
			if now := folderFiles(t, stateDir); !maps.Equal(now, broken) {
				t.Errorf("the refused run changed the state folder: %d files before, %d after", len(broken), len(now))
			}
			code, _, stderr = runCLI(t, "validate", "--input", in, "--state", stateDir, "--quiet")
			if code != exitUsage {
				t.Errorf("validate: exit %d, want 2: %s", code, stderr)
			}
			// Mended, the state is whole.
			os.RemoveAll(stateDir)
			for p, b := range whole {
				os.MkdirAll(filepath.Dir(filepath.Join(stateDir, p)), 0o755)
				os.WriteFile(filepath.Join(stateDir, p), []byte(b), 0o644)
			}
		})
	}
	if code, stderr := run(); code != exitSomeNotOK {
		t.Fatalf("mended: exit %d: %s", code, stderr)
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != sent {
		t.Errorf("the night after mending sent %d requests, want 0", got-sent)
	}
}

// TestStateFullSetsAside: --full on a state that cannot be used moves what
// the folder holds to a set-aside folder inside it, deleting nothing,
// sends every item and starts a new state, which the next night uses.
func TestStateFullSetsAside(t *testing.T) {
	dir, in, rows := newInput(t, 57, 800)
	stateDir := filepath.Join(dir, "state")
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	accepted := func() int64 { return srv.Stats().APIs[fakeim.MarkContact].Accepted }
	run := runNumbered(t, dir, url, "--input", in, "--state", stateDir)
	if code, stderr := run(); code != exitSomeNotOK {
		t.Fatalf("night 1: exit %d: %s", code, stderr)
	}
	os.Remove(filepath.Join(stateDir, "MANIFEST.json"))
	os.WriteFile(filepath.Join(stateDir, "notes.txt"), []byte("mine"), 0o644)
	old := folderFiles(t, stateDir)

	sent := accepted()
	code, stderr := run("--full")
	if code != exitSomeNotOK {
		t.Fatalf("--full: exit %d: %s", code, stderr)
	}
	if got, want := accepted()-sent, int64(expect(rows).requests); got != want {
		t.Errorf("--full sent %d requests, want all %d", got, want)
	}
	aside, _ := filepath.Glob(filepath.Join(stateDir, "set-aside-*"))
	if len(aside) != 1 {
		t.Fatalf("set-aside folders %v, want one", aside)
	}
	if !strings.Contains(stderr, aside[0]) {
		t.Errorf("stderr does not say where the old state went (%s): %s", aside[0], stderr)
	}
	if got := folderFiles(t, aside[0]); !maps.Equal(got, old) {
		t.Errorf("the set-aside folder holds %d files, want the %d the folder held", len(got), len(old))
	}
	checkState(t, srv, expect(rows))

	// The new state serves the next night; the set-aside folder is left
	// as it is.
	sent = accepted()
	if code, stderr := run(); code != exitSomeNotOK {
		t.Fatalf("the night after: exit %d: %s", code, stderr)
	}
	if got := accepted() - sent; got != 0 {
		t.Errorf("the night after --full sent %d requests, want 0", got)
	}
	if got := folderFiles(t, aside[0]); !maps.Equal(got, old) {
		t.Errorf("the set-aside folder changed")
	}
}
