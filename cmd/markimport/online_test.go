package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// See before you change: validate --online names exactly the rows an
// import would change, with the marks before and after, and writes
// nothing; run --skip-unchanged sends exactly those, at their lower bound,
// and leaves the server as a full import would.

// drift kinds: how a conversation was changed behind the tool's back.
const (
	driftBitSet     = "a bit the item clears, set"
	driftBitCleared = "a bit the item sets, cleared"
	driftCustom     = "the custom mark the item writes, changed"
	driftAbsent     = "the conversation gone"
	driftUnrelated  = "a bit the item never names, set" // not a difference
)

// importedThenDrifted gives the emulator what an import of rows leaves,
// then changes every tenth conversation in one of the drift kinds in
// turn. It returns the marks each conversation holds then (absent ones
// left out) and the kind applied to each conversation changed.
func importedThenDrifted(t *testing.T, srv *fakeim.Server, rows []testRow) (map[convKey]fakeim.Mark, map[convKey]string) {
	t.Helper()
	e := expect(rows)
	items := mergeRows(rows, e)
	now := map[convKey]fakeim.Mark{}
	for u, convs := range e.state {
		for c, m := range convs {
			srv.SetMark(u, c, m)
			now[convKey{u, c}] = m
		}
	}
	keys := slices.SortedFunc(maps.Keys(items), func(a, b convKey) int {
		return strings.Compare(a.user+"\x00"+a.conv.String(), b.user+"\x00"+b.conv.String())
	})
	kinds := map[convKey]string{}
	n := 0
	for i, k := range keys {
		if i%10 != 0 {
			continue
		}
		it, m, f := items[k], now[k], e.state[k.user][k.conv]
		kind := []string{driftBitSet, driftBitCleared, driftCustom, driftAbsent, driftUnrelated}[n%5]
		n++
		switch {
		case kind == driftBitSet && it.clear != 0:
			m.Standard |= it.clear & -it.clear
		case kind == driftBitCleared && it.set != 0:
			m.Standard &^= it.set & -it.set
		case kind == driftCustom && f.CustomSet:
			m.Custom = "changed behind, \"q\""
		case kind == driftUnrelated && ^(it.set|it.clear) != 0:
			free := ^(it.set | it.clear)
			m.Standard |= free & -free
		default:
			kind = driftAbsent
		}
		kinds[k] = kind
		if kind == driftAbsent {
			srv.DeleteConversation(k.user, k.conv)
			delete(now, k)
			continue
		}
		srv.SetMark(k.user, k.conv, m)
		now[k] = m
	}
	for _, kind := range []string{driftBitSet, driftBitCleared, driftCustom, driftAbsent, driftUnrelated} {
		if !slices.Contains(slices.Collect(maps.Values(kinds)), kind) {
			t.Fatalf("no conversation drifted as %q: the test proves less than it says", kind)
		}
	}
	return now, kinds
}

// marksText is how the report shows marks, written out here apart from
// the tool's own rendering.
func marksText(standard uint64, custom string) string {
	var bits []string
	for b := range 64 {
		if standard&(1<<b) != 0 {
			bits = append(bits, strconv.Itoa(b))
		}
	}
	list := "none"
	if len(bits) > 0 {
		list = strings.Join(bits, ",")
	}
	return fmt.Sprintf("standard bits %s custom %q", list, custom)
}

// preview is what validate --online must say of each row, and the
// requests the changes take at the lower bound.
type preview struct {
	status  map[int64]string
	message map[int64]string
	changed map[convKey]bool
	lower   int
}

// expectPreview works out the preview of rows over the marks now.
func expectPreview(rows []testRow, now map[convKey]fakeim.Mark) preview {
	e := expect(rows)
	p := preview{status: map[int64]string{}, message: map[int64]string{}, changed: changedConversations(rows, now)}
	for row, st := range e.status {
		p.status[row] = st
	}
	perUser := map[string]int{}
	for k, it := range mergeRows(rows, e) {
		m0, found := now[k]
		after := fakeim.Mark{Standard: (m0.Standard &^ it.clear) | it.set, Custom: m0.Custom}
		if f := e.state[k.user][k.conv]; f.CustomSet {
			after.Custom = f.Custom
		}
		status, msg := "already", "the server already holds these marks"
		if p.changed[k] {
			perUser[k.user]++
			before := "no marks (the server holds none for it)"
			if found {
				before = marksText(m0.Standard, m0.Custom)
			}
			status, msg = "would-change", "before: "+before+"; after: "+marksText(after.Standard, after.Custom)
		}
		for _, row := range it.rows {
			p.status[row], p.message[row] = status, msg
		}
	}
	for _, n := range perUser {
		p.lower += (n + 99) / 100
	}
	return p
}

// checkPreview checks a validate --online report against p.
func checkPreview(t *testing.T, path string, p preview, nRows int) {
	t.Helper()
	rep := readReport(t, path)
	if len(rep) != nRows {
		t.Fatalf("%s: %d lines for %d rows", path, len(rep), nRows)
	}
	bad := 0
	for row, want := range p.status {
		got := rep[row]
		if got.status != want || (want == "would-change" || want == "already") && (got.code != 0 || got.message != p.message[row]) {
			if bad++; bad <= 5 {
				t.Errorf("row %d: %s %d %q, want %s %q", row, got.status, got.code, got.message, want, p.message[row])
			}
		}
	}
}

func TestOnlinePreviewThenSkip(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  fakeim.Config
	}{
		{"clean", fakeim.Config{RateLimit: -1}},
		// Faults on both APIs, at rates no call fails all of its attempts.
		{"faults", fakeim.Config{RateLimit: -1, TransientRate: 0.05, HTTP502Rate: 0.02, LostResponseRate: 0.02, Seed: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, 81, 3000)
			srv, url := startEmulator(t, tc.cfg)
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			now, _ := importedThenDrifted(t, srv, rows)
			p := expectPreview(rows, now)
			before := srv.Snapshot()

			vrep, vsum := filepath.Join(dir, "preview.csv"), filepath.Join(dir, "preview.json")
			code, stdout, stderr := runCLI(t, append([]string{"validate", "--online", "--input", in, "--report", vrep, "--summary", vsum, "--max-attempts", "12"}, connArgs(url)...)...)
			if code != exitSomeNotOK { // the invalid and rejected rows
				t.Fatalf("validate --online: exit %d\n%s%s", code, stdout, stderr)
			}
			checkPreview(t, vrep, p, len(rows))
			if st := srv.Stats().APIs[fakeim.MarkContact]; st.Requests != 0 {
				t.Errorf("validate --online sent %d mark_contact requests", st.Requests)
			}
			if !maps.EqualFunc(srv.Snapshot(), before, maps.Equal) {
				t.Error("validate --online changed the server")
			}
			sum := readSummary(t, vsum)
			if got := int(sum["requests_to_change"].(float64)); got != p.lower || !strings.Contains(stdout, fmt.Sprintf("the changes take %d requests", p.lower)) {
				t.Errorf("requests_to_change %d, want the lower bound %d\n%s", got, p.lower, stdout)
			}

			// The run with the skip sends exactly the changes, at their
			// lower bound, and ends as a full import.
			rep, rsum := filepath.Join(dir, "run.csv"), filepath.Join(dir, "run.json")
			code, stdout, stderr = runCLI(t, append([]string{"run", "--skip-unchanged", "--input", in, "--report", rep, "--summary", rsum, "--max-attempts", "12"}, connArgs(url)...)...)
			if code != exitSomeNotOK {
				t.Fatalf("run --skip-unchanged: exit %d\n%s%s", code, stdout, stderr)
			}
			checkImportedOver(t, srv, rows, now) // as a full import over the drifted marks
			if got := int(readSummary(t, rsum)["requests_sent"].(float64)); got != p.lower {
				t.Errorf("run --skip-unchanged sent %d requests, want the lower bound of the changes, %d", got, p.lower)
			}
			lines := readReport(t, rep)
			for row, want := range p.status {
				switch want {
				case "would-change":
					want = "ok"
				case "already":
					want = "unchanged"
				}
				if got := lines[row]; got.status != want || want == "unchanged" && (got.attempts != 0 || !strings.Contains(got.message, "already holds these marks")) {
					t.Errorf("run row %d: %+v, want %s", row, got, want)
				}
			}
			if tc.name == "faults" {
				if st := srv.Stats().APIs; st[fakeim.SearchContactGroup].Faults == 0 || st[fakeim.MarkContact].Faults == 0 {
					t.Errorf("faults on reads %d, on writes %d: want both", st[fakeim.SearchContactGroup].Faults, st[fakeim.MarkContact].Faults)
				}
			}
		})
	}
}

// TestOnlineUnread: a user whose marks cannot be read is unread in the
// preview (exit 1, the read's code); the skip sends its items as a run
// without it would.
func TestOnlineUnread(t *testing.T) {
	dir, in, srv, url := ghostInput(t, fakeim.Mark{Custom: "mine", CustomSet: true})
	report := filepath.Join(dir, "v.csv")
	code, _, stderr := runCLI(t, append([]string{"validate", "--online", "--input", in, "--report", report}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	rep := readReport(t, report)
	if l := rep[2]; l.status != "unread" || l.code != 50001 || !strings.HasPrefix(l.message, "not read: ") {
		t.Errorf("ghost: %+v", l)
	}
	if l := rep[1]; l.status != "would-change" || !strings.Contains(l.message, `before: standard bits none custom "mine"`) {
		t.Errorf("alice/bob: %+v", l)
	}
	run := filepath.Join(dir, "r.csv")
	code, _, stderr = runCLI(t, append([]string{"run", "--skip-unchanged", "--input", in, "--report", run}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	rep = readReport(t, run)
	if l := rep[2]; l.status != "failed" || l.code != 50001 || l.attempts == 0 {
		t.Errorf("ghost, sent as without the skip: %+v", l)
	}
	if l := rep[1]; l.status != "ok" {
		t.Errorf("alice/bob: %+v", l)
	}
	if m, _ := srv.Lookup("alice", fakeim.Conversation{Type: fakeim.C2C, Peer: "bob"}); m.Custom == "mine" {
		t.Errorf("alice/bob not written: %+v", m)
	}
}

// TestOnlineFatalRead: a read the API refuses for good (the identifier is
// no App admin) stops the preview: exit 3, every row it did not read
// unread with the stop's reason, none said to be unsent.
func TestOnlineFatalRead(t *testing.T) {
	dir, in, _ := newInput(t, 97, 300)
	_, url := startEmulator(t, fakeim.Config{Admins: []string{"someone-else"}})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "v.csv")
	code, _, stderr := runCLI(t, append([]string{"validate", "--online", "--input", in, "--report", report}, connArgs(url)...)...)
	if code != exitFatal {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	unread := 0
	for row, l := range readReport(t, report) {
		switch l.status {
		case "unread":
			unread++
			if !strings.HasPrefix(l.message, "not read: ") {
				t.Errorf("row %d: %+v", row, l)
			}
		case "invalid", "rejected":
		default:
			t.Errorf("row %d: %s %q, want unread", row, l.status, l.message)
		}
	}
	if unread == 0 {
		t.Error("no row unread")
	}
}

// TestOnlineFlags: validate connects only with --online, which needs a
// profile against an endpoint; the skip belongs to run.
func TestOnlineFlags(t *testing.T) {
	dir, in, _ := newInput(t, 82, 50)
	_, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	conn := []string{"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"validate", "--input", in}, conn...), "--endpoint: validate connects to the service only with --online"},
		{[]string{"validate", "--input", in, "--fake"}, "--fake: validate connects to the service only with --online"},
		{append([]string{"validate", "--online", "--input", in}, conn...), "markimport preflight"},
		{append([]string{"verify", "--skip-unchanged", "--input", in, "--report", filepath.Join(dir, "v.csv")}, connArgs(url)...), "--skip-unchanged belongs to run"},
		{append([]string{"run", "--skip-unchanged", "--input", in, "--report", filepath.Join(dir, "r.csv")}, conn...), "markimport preflight"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, code, tc.want, stderr)
		}
	}
	// --fake reads the rehearsal's marks and never writes them back.
	fakeState := filepath.Join(dir, "im.json")
	if code, _, stderr := runCLI(t, "run", "--fake", "--fake-state", fakeState, "--input", in, "--report", filepath.Join(dir, "r.csv"), "--quiet"); code > exitSomeNotOK {
		t.Fatalf("rehearsal: exit %d\n%s", code, stderr)
	}
	snap := snapshot(t, dir)
	was, err := os.Stat(fakeState)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "validate", "--online", "--fake", "--fake-state", fakeState, "--input", in, "--quiet")
	if code != exitSomeNotOK || !strings.Contains(stdout, "already") || strings.Contains(stdout, "would-change") {
		t.Fatalf("validate --online --fake after the rehearsal: exit %d\n%s%s", code, stdout, stderr)
	}
	sameFiles(t, dir, snap)
	if is, err := os.Stat(fakeState); err != nil || !os.SameFile(was, is) || !is.ModTime().Equal(was.ModTime()) {
		t.Errorf("--fake-state was written again (%v)", err)
	}
}

// TestSkipKillAndResume: kill -9 in the middle of a run with the skip,
// then --resume: what the killed run wrote is found already so and
// reported unchanged, and the end state is that of a full import.
func TestSkipKillAndResume(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 83, 3000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond, TransientRate: 0.05, Seed: 11})
	before := initialState(t, srv, rows, 9)
	report := filepath.Join(dir, "r.csv")
	args := []string{"--input", in, "--report", report, "--skip-unchanged"}
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
	checkImportedOver(t, srv, rows, before)
	changed := changedConversations(rows, before)
	e := expect(rows)
	rep := readReport(t, report)
	for k, it := range mergeRows(rows, e) {
		for _, row := range it.rows {
			if l := rep[row]; l.status != "ok" && (l.status != "unchanged" || changed[k] && l.attempts != 0) {
				t.Fatalf("row %d (%s %v): %+v", row, k.user, k.conv, l)
			}
		}
	}
}

// TestSkipComposes: the skip with --state (the state first: only the items
// it cannot vouch for are read), with --backup (restore rows for the
// changes alone, and the rollback gives back the drifted marks) and with
// --mode insert (held, skipped and sent, from one read).
func TestSkipComposes(t *testing.T) {
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)

	t.Run("state", func(t *testing.T) {
		dir, in, rows := newInput(t, 84, 3000)
		srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
		now, _ := importedThenDrifted(t, srv, rows)
		p := expectPreview(rows, now)
		stateDir := filepath.Join(dir, "state")
		night := numberedRuns(t, dir, url, "--input", in, "--state", stateDir, "--skip-unchanged")
		sum := night()
		if got := int(sum["requests_sent"].(float64)); got != p.lower {
			t.Errorf("night 1 sent %d requests, want %d", got, p.lower)
		}
		// Night 2, with changes: the state vouches for every item it
		// holds (those sent and those found already so), so only the
		// changed items are read, and sent.
		rows3, changed := night3(rows)
		writeCSV(t, in, rows3)
		reads := 0
		for _, convs := range changed {
			reads += (len(convs) + 299) / 300
		}
		sum = night()
		if got := int(sum["read_requests"].(float64)); got != reads {
			t.Errorf("night 2 read %d times, want %d: only what the state cannot vouch for", got, reads)
		}
		if got := int(sum["requests_sent"].(float64)); got != changedRequests(changed) {
			t.Errorf("night 2 sent %d requests, want %d", got, changedRequests(changed))
		}
		checkImportedOver(t, srv, rows3, now)
	})

	t.Run("backup", func(t *testing.T) {
		dir, in, rows := newInput(t, 85, 2000)
		srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
		now, _ := importedThenDrifted(t, srv, rows)
		p := expectPreview(rows, now)
		bk := filepath.Join(dir, "backup.csv")
		sum := numberedRuns(t, dir, url, "--input", in, "--backup", bk, "--skip-unchanged")()
		if got := int(sum["backup_rows"].(float64)); got != len(p.changed) {
			t.Errorf("%d backup rows, want one per conversation changed, %d", got, len(p.changed))
		}
		checkImportedOver(t, srv, rows, now)
		if code, _, stderr := runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rollback.csv")}, connArgs(url)...)...); code != exitOK {
			t.Fatalf("rollback: exit %d\n%s", code, stderr)
		}
		checkRolledBack(t, srv, rows, now)
	})

	t.Run("insert", func(t *testing.T) {
		dir, in, rows := newInput(t, 86, 2000)
		srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
		now, _ := importedThenDrifted(t, srv, rows)
		p := expectPreview(rows, now)
		rep := filepath.Join(dir, "r1.csv")
		numberedRuns(t, dir, url, "--input", in, "--mode", "insert", "--skip-unchanged")()
		lines := readReport(t, rep)
		e := expect(rows)
		for k, it := range mergeRows(rows, e) {
			m0, found := now[k]
			want := "unchanged"
			switch {
			case p.changed[k] && found && (m0.Standard != 0 || m0.Custom != ""):
				want = "exists"
			case p.changed[k]:
				want = "ok"
			}
			for _, row := range it.rows {
				if got := lines[row]; got.status != want {
					t.Fatalf("row %d (%s %v): %+v, want %s", row, k.user, k.conv, got, want)
				}
			}
			got, _ := srv.Lookup(k.user, k.conv)
			if want != "ok" && (got.Standard != m0.Standard || got.Custom != m0.Custom) {
				t.Fatalf("%s %v (%s) changed: %+v, was %+v", k.user, k.conv, want, got, m0)
			}
		}
	})
}

// numberedRuns returns a function that runs `run` against url with args,
// each time with a report and summary of its own (r1.csv, s1.json, … in
// dir), expects exit 1 (the generated files hold invalid rows) and
// returns the summary.
func numberedRuns(t *testing.T, dir, url string, args ...string) func() map[string]any {
	n := 0
	return func() map[string]any {
		t.Helper()
		n++
		rep, sum := filepath.Join(dir, fmt.Sprintf("r%d.csv", n)), filepath.Join(dir, fmt.Sprintf("s%d.json", n))
		code, stdout, stderr := runCLI(t, append(append([]string{"run", "--report", rep, "--summary", sum}, args...), connArgs(url)...)...)
		if code != exitSomeNotOK {
			t.Fatalf("run %d %v: exit %d\n%s%s", n, args, code, stdout, stderr)
		}
		return readSummary(t, sum)
	}
}
