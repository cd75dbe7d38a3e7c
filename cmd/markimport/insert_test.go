package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// held lists the conversations an insert-only import of rows over before
// leaves alone: those that held marks the item would change.
func held(rows []testRow, before map[convKey]fakeim.Mark) map[convKey]bool {
	e := expect(rows)
	out := map[convKey]bool{}
	for k, it := range mergeRows(rows, e) {
		m0, found := before[k]
		if !found || m0.Standard == 0 && m0.Custom == "" {
			continue
		}
		f := e.state[k.user][k.conv]
		if (m0.Standard&^it.clear)|it.set != m0.Standard || f.CustomSet && f.Custom != m0.Custom {
			out[k] = true
		}
	}
	return out
}

// checkInserted checks the emulator and the report after an insert-only
// import: conversations that held marks are exactly as they were and their
// rows exists; every other one is as the import of its rows over its
// state before leaves it, and its rows ok (with a backup, unchanged when
// the item changes nothing there: it is not sent); conversations not in
// the file are untouched. It returns how many requests the sent items take
// at the lower bound.
func checkInserted(t *testing.T, srv *fakeim.Server, rows []testRow, before map[convKey]fakeim.Mark, reportPath string, withBackup bool) int {
	t.Helper()
	e := expect(rows)
	items := mergeRows(rows, e)
	skip := held(rows, before)
	changed := changedConversations(rows, before)
	rep := readReport(t, reportPath)
	perUser := map[string]int{}
	for k, it := range items {
		m0 := before[k]
		got, _ := srv.Lookup(k.user, k.conv)
		want := m0
		if !skip[k] {
			want = fakeim.Mark{Standard: (m0.Standard &^ it.clear) | it.set, Custom: m0.Custom}
			if f := e.state[k.user][k.conv]; f.CustomSet {
				want.Custom = f.Custom
			}
			if changed[k] || !withBackup {
				perUser[k.user]++
			}
		}
		if got.Standard != want.Standard || got.Custom != want.Custom {
			t.Fatalf("%s %v (held %v): %016x %q, want %016x %q", k.user, k.conv, skip[k], got.Standard, got.Custom, want.Standard, want.Custom)
		}
		for _, row := range it.rows {
			l := rep[row]
			switch {
			case skip[k] && (l.status != "exists" || l.code != 0 || !strings.Contains(l.message, "already holds marks") || !strings.Contains(l.message, strconv.Quote(m0.Custom))):
				t.Fatalf("row %d (%s %v held): %+v", row, k.user, k.conv, l)
			case !skip[k] && (changed[k] || !withBackup) && l.status != "ok":
				t.Fatalf("row %d (%s %v): %+v, want ok", row, k.user, k.conv, l)
			case !skip[k] && !changed[k] && withBackup && (l.status != "unchanged" || l.attempts != 0 || !strings.Contains(l.message, "already holds these marks")):
				t.Fatalf("row %d (%s %v changes nothing): %+v, want unchanged, not sent", row, k.user, k.conv, l)
			}
		}
	}
	for k, m0 := range before {
		if items[k] == nil {
			if got, _ := srv.Lookup(k.user, k.conv); got != m0 {
				t.Fatalf("%s %v is not in the file and changed", k.user, k.conv)
			}
		}
	}
	if len(skip) == 0 {
		t.Fatal("the initial state holds no conversation the import would change: the test proves nothing")
	}
	lower := 0
	for _, n := range perUser {
		lower += (n + 99) / 100
	}
	return lower
}

// TestInsertOnly imports over a non-empty state with --mode insert: marked
// conversations are untouched and reported exists, all others imported
// exactly, the sent items packed at their lower bound; verify --run-report
// checks the rest; the rejects file leaves exists rows out. The same with
// transient faults on both APIs.
func TestInsertOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  fakeim.Config
	}{
		{"clean", fakeim.Config{RateLimit: -1}},
		// Faults on both APIs, at rates that leave no call failing all of
		// its --max-attempts (a read that does leaves its user unsent:
		// TestInsertOnlyReadFailure).
		{"faults", fakeim.Config{RateLimit: -1, TransientRate: 0.05, HTTP502Rate: 0.02, LostResponseRate: 0.02, Seed: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, 71, 1500)
			srv, url := startEmulator(t, tc.cfg)
			before := initialState(t, srv, rows, 6)
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			report, summary, rejects := filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json"), filepath.Join(dir, "rejects.csv")
			code, stdout, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--summary", summary, "--rejects", rejects,
				"--mode", "insert", "--max-attempts", "12"}, connArgs(url)...)...)
			if code != exitSomeNotOK { // invalid and rejected rows
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			lower := checkInserted(t, srv, rows, before, report, false)
			if st := srv.Stats().APIs; tc.name == "faults" && (st[fakeim.SearchContactGroup].Faults == 0 || st[fakeim.MarkContact].Faults == 0) {
				t.Errorf("faults on reads %d, on writes %d: want both", st[fakeim.SearchContactGroup].Faults, st[fakeim.MarkContact].Faults)
			}
			sum := readSummary(t, summary)
			exists := 0
			for _, l := range readReport(t, report) {
				if l.status == "exists" {
					exists++
				}
			}
			if got := int(sum["statuses"].(map[string]any)["exists"].(float64)); got != exists || !strings.Contains(stdout, "exists") {
				t.Errorf("summary: %d exists, the report %d\n%s", got, exists, stdout)
			}
			if got := int(sum["requests_sent"].(float64)); got != lower {
				t.Errorf("%d requests sent, want the lower bound of what is sent, %d", got, lower)
			}
			if int(sum["requests_saved"].(float64)) <= 0 || sum["read_to_write"] == nil {
				t.Errorf("summary without requests_saved or read_to_write: %v", sum)
			}
			for _, rec := range readCSVFile(t, rejects, "")[1:] {
				if st := rec[len(rec)-3]; st != "invalid" && st != "rejected" {
					t.Errorf("rejects file holds a %s row: %v", st, rec)
				}
			}
			vreport := filepath.Join(dir, "v.csv")
			code, _, stderr = verifyCLI(t, context.Background(), append(connArgs(url), "--input", in, "--report", vreport, "--run-report", report)...)
			if code != exitOK {
				t.Fatalf("verify --run-report: exit %d\n%s", code, stderr)
			}
			notChecked := 0
			for _, l := range readVerifyReport(t, vreport) {
				if l.status == "not-checked" && strings.HasPrefix(l.message, "exists:") {
					notChecked++
				}
			}
			if notChecked != exists {
				t.Errorf("verify left %d rows unchecked as exists, the run reported %d", notChecked, exists)
			}
		})
	}
}

// TestInsertOnlyWithBackupAndState: one read serves the backup and the
// insert check; the backup holds only what was sent, and rolls it back;
// with --state, items the state skips are neither read nor sent.
func TestInsertOnlyWithBackupAndState(t *testing.T) {
	dir, in, rows := newInput(t, 72, 1200)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	before := initialState(t, srv, rows, 7)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	bk, summary := filepath.Join(dir, "backup.csv"), filepath.Join(dir, "s.json")
	stateDir := filepath.Join(dir, "state")
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--summary", summary,
		"--mode", "insert", "--backup", bk, "--state", stateDir}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	checkInserted(t, srv, rows, before, filepath.Join(dir, "r.csv"), true)
	sum := readSummary(t, summary)
	if got, want := int(sum["read_requests"].(float64)), searchLowerBound(expect(rows).state); got != want {
		t.Errorf("%d reads, want one read per user per 300 conversations (%d): one read serves both", got, want)
	}
	skip := held(rows, before)
	changed := changedConversations(rows, before)
	want := 0
	for k := range changed {
		if !skip[k] {
			want++
		}
	}
	if n := len(readCSVFile(t, bk, backupHeader)) - 1; n != want {
		t.Errorf("the backup has %d rows, want one per conversation sent and changed (%d)", n, want)
	}
	// Night 2: every item sent, or found already so, is in the state; the held ones are read
	// again (not confirmed), none is sent.
	reads := srv.Stats().APIs[fakeim.SearchContactGroup].Requests
	writes := srv.Stats().APIs[fakeim.MarkContact].Requests
	code, _, stderr = runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r2.csv"), "--summary", filepath.Join(dir, "s2.json"),
		"--mode", "insert", "--state", stateDir}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("night 2: exit %d\n%s", code, stderr)
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests - writes; got != 0 {
		t.Errorf("night 2 sent %d requests", got)
	}
	perUser := map[string]int{}
	for k := range skip {
		perUser[k.user]++
	}
	wantReads := 0
	for _, n := range perUser {
		wantReads += (n + 299) / 300
	}
	if got := srv.Stats().APIs[fakeim.SearchContactGroup].Requests - reads; got != int64(wantReads) {
		t.Errorf("night 2 read %d times, want the held items' ceil(n/300) per user (%d): unchanged items are not read", got, wantReads)
	}
	// Roll the insert back.
	code, _, stderr = runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rb.csv")}, connArgs(url)...)...)
	if code != exitOK {
		t.Fatalf("rollback: exit %d\n%s", code, stderr)
	}
	checkRolledBack(t, srv, rows, before)
}

// TestInsertOnlyReadFailure: a user whose marks cannot be read is not
// written; its rows are unsent with the read's code.
func TestInsertOnlyReadFailure(t *testing.T) {
	dir, in, srv, url := ghostInput(t, fakeim.Mark{Custom: "mine", CustomSet: true})
	report := filepath.Join(dir, "r.csv")
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--mode", "insert"}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	rep := readReport(t, report)
	if l := rep[1]; l.status != "exists" || !strings.Contains(l.message, `custom "mine"`) {
		t.Errorf("alice/bob: %+v", l)
	}
	if l := rep[2]; l.status != "unsent" || l.code != 50001 || !strings.Contains(l.message, "could not be read") {
		t.Errorf("ghost: %+v", l)
	}
	if l := rep[3]; l.status != "ok" {
		t.Errorf("alice/carol: %+v", l)
	}
	if m, _ := srv.Lookup("alice", fakeim.Conversation{Type: fakeim.C2C, Peer: "bob"}); m.Custom != "mine" || m.Standard != 0 {
		t.Errorf("alice/bob was written: %+v", m)
	}
	// A clean file: exit 0 with ok and exists rows only. alice/carol holds
	// marks now, but the item changes nothing there: it is sent (harmless),
	// as a resumed run sends what its interrupted run had written.
	os.WriteFile(in, []byte("from_account,to_account,set_mark,custom_mark\nalice,bob,1,x\nalice,carol,3,\n"), 0o644)
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r2.csv"), "--mode", "insert"}, connArgs(url)...)...); code != exitOK {
		t.Errorf("ok and exists rows only: exit %d\n%s", code, stderr)
	}
	if rep := readReport(t, filepath.Join(dir, "r2.csv")); rep[1].status != "exists" || rep[2].status != "ok" {
		t.Errorf("second file: %+v", rep)
	}
	for _, args := range [][]string{
		{"validate", "--input", in, "--mode", "insert"},
		{"run", "--input", in, "--report", filepath.Join(dir, "r3.csv"), "--mode", "inserts", "--fake"},
		append([]string{"verify", "--input", in, "--report", filepath.Join(dir, "v.csv"), "--mode", "insert"}, connArgs(url)...),
		append([]string{"verify", "--input", in, "--report", filepath.Join(dir, "v.csv"), "--run-report", filepath.Join(dir, "nope.csv")}, connArgs(url)...),
		append([]string{"verify", "--input", in, "--report", filepath.Join(dir, "v.csv"), "--run-report", report}, connArgs(url)...), // another input's
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}

// TestInsertOnlyKillAndResume: kill -9 in the middle of an insert-only
// run, then --resume: conversations the killed run wrote are found holding
// exactly its marks and sent again (ok), those that held marks before stay
// exists, and the end state is that of an uninterrupted run.
func TestInsertOnlyKillAndResume(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 73, 3000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond, TransientRate: 0.05, Seed: 10})
	before := initialState(t, srv, rows, 8)
	report := filepath.Join(dir, "r.csv")
	args := []string{"--input", in, "--report", report, "--mode", "insert"}
	// The run's requests from the 21st are held until the kill: it
	// cannot end first.
	held := holdFrom(t, url, string(fakeim.MarkContact), 21)
	cmd, out := startRun(t, bin, held.url, args...)
	waitRequests(t, srv, 20)
	cmd.Process.Kill()
	if code := exitCode(cmd.Wait()); code != -1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	held.drop()
	cmd, out = startRun(t, bin, url, append(args, "--resume")...)
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	checkInserted(t, srv, rows, before, report, false)
}
