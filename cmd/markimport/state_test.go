package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	n := 0
	run := func(extra ...string) (int, string) {
		n++
		rep := filepath.Join(dir, fmt.Sprintf("r%d.csv", n))
		code, _, stderr := runCLI(t, runArgs(url, append([]string{"--input", in, "--report", rep}, extra...)...)...)
		return code, stderr
	}
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
			if kill == "while sending" {
				cmd, out := startRunEnv(t, bin, url, nil, args...)
				waitRequests(t, srv, srv.Stats().APIs[fakeim.MarkContact].Requests+5)
				cmd.Process.Kill()
				if code := exitCode(cmd.Wait()); code != -1 {
					t.Fatalf("exit %d, want a kill\n%s", code, out)
				}
			} else if kill == "Ctrl-C" {
				// Interrupted, the run stops at once: it does not merge
				// the state (its --resume records what it confirmed).
				cmd, out := startRunEnv(t, bin, url, nil, args...)
				waitRequests(t, srv, srv.Stats().APIs[fakeim.MarkContact].Requests+5)
				cmd.Process.Signal(syscall.SIGINT)
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
