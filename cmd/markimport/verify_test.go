package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

// expectedText is the report's expected column for an item.
func expectedText(m *merged, final fakeim.Mark) string {
	var parts []string
	list := func(v uint64) string {
		var s []string
		for b := range 64 {
			if v&(1<<b) != 0 {
				s = append(s, strconv.Itoa(b))
			}
		}
		return strings.Join(s, ",")
	}
	if m.set != 0 {
		parts = append(parts, "set="+list(m.set))
	}
	if m.clear != 0 {
		parts = append(parts, "clear="+list(m.clear))
	}
	if final.CustomSet {
		parts = append(parts, "custom="+strconv.Quote(final.Custom))
	}
	return strings.Join(parts, " ")
}

// TestVerifyAfterImport imports a file, verifies it (every row sent
// matches), then changes the emulator's state behind the tool's back and
// verifies again: exactly the rows of the altered conversations are flagged.
func TestVerifyAfterImport(t *testing.T) {
	dir, in, rows := newInput(t, 11, 1500)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	ctx := context.Background()

	code, stdout, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "run.csv"), "--rate", "1000"}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}

	e := expect(rows)
	items := mergeRows(rows, e)
	report, summary := filepath.Join(dir, "verify.csv"), filepath.Join(dir, "verify.json")
	verifyArgs := append([]string{"--input", in, "--report", report, "--summary", summary, "--rate", "1000"}, connArgs(url)...)
	code, stdout, stderr = verifyCLI(t, ctx, verifyArgs...)
	if code != exitOK {
		t.Fatalf("verify after a clean import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	first := readVerifyReport(t, report)
	if len(first) != len(rows) {
		t.Fatalf("verify report has %d rows, input %d", len(first), len(rows))
	}
	notChecked := 0
	for row, st := range e.status {
		l := first[row]
		switch st {
		case "ok":
			if l.status != "match" {
				t.Errorf("row %d: %s %q, want match", row, l.status, l.message)
			}
		case "invalid", "rejected":
			notChecked++
			if l.status != "not-checked" || !strings.HasPrefix(l.message, st+": ") || l.expected != "" || l.actual != "" {
				t.Errorf("row %d (%s): %+v, want not-checked", row, st, l)
			}
		}
	}
	for k, m := range items {
		final := e.state[k.user][k.conv]
		want := expectedText(m, final)
		actual := fmt.Sprintf("standard=%s custom=%q", fakeim.FormatStandardMark(final.Standard), final.Custom)
		for _, row := range m.rows {
			if l := first[row]; l.expected != want || l.actual != actual || l.from != k.user || l.peer != k.conv.Peer {
				t.Errorf("row %d: %+v; want expected %q actual %q", row, l, want, actual)
			}
		}
	}
	bound := searchLowerBound(e.state)
	if got := srv.Stats().APIs[fakeim.SearchContactGroup].Accepted; int(got) != bound {
		t.Errorf("%d search requests, lower bound %d", got, bound)
	}
	var sum map[string]any
	b, _ := os.ReadFile(summary)
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("summary: %v", err)
	}
	statuses, _ := sum["statuses"].(map[string]any)
	if int(sum["requests_planned"].(float64)) != bound || sum["exit_code"].(float64) != 0 ||
		int(statuses["not-checked"].(float64)) != notChecked || int(statuses["match"].(float64)) != len(rows)-notChecked {
		t.Errorf("summary %s", b)
	}
	if !strings.Contains(stdout, fmt.Sprintf("match        %d", len(rows)-notChecked)) {
		t.Errorf("stdout does not show the matches:\n%s", stdout)
	}

	// Change the server behind the tool's back, one conversation per kind
	// of change, preferring conversations that several rows merged into.
	keys := make([]convKey, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b convKey) int {
		if n := len(items[b].rows) - len(items[a].rows); n != 0 {
			return n
		}
		return strings.Compare(a.user+a.conv.String(), b.user+b.conv.String())
	})
	used := map[convKey]bool{}
	pick := func(what string, ok func(*merged, fakeim.Mark) bool) convKey {
		for _, k := range keys {
			if !used[k] && ok(items[k], e.state[k.user][k.conv]) {
				used[k] = true
				return k
			}
		}
		t.Fatalf("the input has no conversation that %s", what)
		return convKey{}
	}
	alter := func(k convKey, f func(*fakeim.Mark)) fakeim.Mark {
		m, ok := srv.Lookup(k.user, k.conv)
		if !ok {
			t.Fatalf("%v is not on the server", k)
		}
		f(&m)
		srv.SetMark(k.user, k.conv, m)
		return m
	}
	lowest := func(v uint64) int { return bits.TrailingZeros64(v) }

	setBitCleared := pick("sets a bit", func(m *merged, _ fakeim.Mark) bool { return m.set != 0 })
	b1 := lowest(items[setBitCleared].set)
	m1 := alter(setBitCleared, func(m *fakeim.Mark) { m.Standard &^= 1 << b1 })

	clearedBitSet := pick("clears a bit", func(m *merged, _ fakeim.Mark) bool { return m.clear != 0 })
	b2 := lowest(items[clearedBitSet].clear)
	m2 := alter(clearedBitSet, func(m *fakeim.Mark) { m.Standard |= 1 << b2 })

	customChanged := pick("writes a custom mark", func(_ *merged, f fakeim.Mark) bool { return f.CustomSet })
	m3 := alter(customChanged, func(m *fakeim.Mark) { m.Custom += "!" })

	deleted := pick("exists", func(*merged, fakeim.Mark) bool { return true })
	srv.DeleteConversation(deleted.user, deleted.conv)

	// Changes the file never asked about must not be flagged.
	untouchedBit := pick("leaves a bit alone", func(m *merged, _ fakeim.Mark) bool { return m.set|m.clear != ^uint64(0) })
	b5 := lowest(^(items[untouchedBit].set | items[untouchedBit].clear))
	alter(untouchedBit, func(m *fakeim.Mark) { m.Standard ^= 1 << b5 })
	untouchedCustom := pick("leaves the custom mark alone", func(_ *merged, f fakeim.Mark) bool { return !f.CustomSet })
	alter(untouchedCustom, func(m *fakeim.Mark) { m.Custom, m.CustomSet = "changed elsewhere", true })

	code, stdout, stderr = verifyCLI(t, ctx, append(verifyArgs, "--overwrite")...)
	if code != exitSomeNotOK {
		t.Fatalf("verify after the changes: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	second := readVerifyReport(t, report)
	flagged := map[int64]string{}
	for k, st := range map[convKey]string{setBitCleared: "mismatch", clearedBitSet: "mismatch", customChanged: "mismatch", deleted: "missing"} {
		for _, row := range items[k].rows {
			flagged[row] = st
		}
	}
	for row := range int64(len(rows)) {
		row++
		want := first[row].status
		if st, ok := flagged[row]; ok {
			want = st
		}
		if second[row].status != want {
			t.Errorf("row %d: %s %q, want %s", row, second[row].status, second[row].message, want)
		}
	}
	pattern := func(m *merged) string {
		var b [64]byte
		for i := range b {
			bit := uint64(1) << (63 - i)
			b[i] = map[bool]byte{true: '1', false: '.'}[m.set&bit != 0]
			if m.clear&bit != 0 {
				b[i] = '0'
			}
		}
		return string(b[:])
	}
	for _, c := range []struct {
		k    convKey
		want []string
	}{
		{setBitCleared, []string{fmt.Sprintf("bit %d (want 1)", b1), "want " + pattern(items[setBitCleared]) + " got " + fakeim.FormatStandardMark(m1.Standard)}},
		{clearedBitSet, []string{fmt.Sprintf("bit %d (want 0)", b2), "want " + pattern(items[clearedBitSet]) + " got " + fakeim.FormatStandardMark(m2.Standard)}},
		{customChanged, []string{fmt.Sprintf("custom mark is %q, want %q", m3.Custom, strings.TrimSuffix(m3.Custom, "!"))}},
	} {
		for _, row := range items[c.k].rows {
			for _, w := range c.want {
				if !strings.Contains(second[row].message, w) {
					t.Errorf("row %d: message %q does not contain %q", row, second[row].message, w)
				}
			}
		}
	}
	for _, k := range []convKey{setBitCleared, clearedBitSet, customChanged, deleted} {
		if len(items[k].rows) < 2 {
			t.Errorf("%v: the test meant to alter a conversation several rows merged into; it has rows %v", k, items[k].rows)
		}
	}
}

// TestVerifyThroughFaults: throttling, transient errors, 502s and lost
// answers on the read API; verify still judges every row exactly.
func TestVerifyThroughFaults(t *testing.T) {
	dir, in, rows := newInput(t, 12, 800)
	// The emulator allows 60 reads a second and verify is told 90: it is
	// throttled and has to slow down.
	srv, url := startEmulator(t, fakeim.Config{RateLimit: 60, TransientRate: 0.1, HTTP502Rate: 0.05, LostResponseRate: 0.08, Seed: 9})
	e := expect(rows)
	for u, convs := range e.state {
		for c, m := range convs {
			srv.SetMark(u, c, m)
		}
	}
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "verify.csv")
	code, stdout, stderr := verifyCLI(t, context.Background(),
		append([]string{"--input", in, "--report", report, "--rate", "90", "--max-attempts", "20"}, connArgs(url)...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	rep := readVerifyReport(t, report)
	for row, st := range e.status {
		want := "not-checked"
		if st == "ok" {
			want = "match"
		}
		if rep[row].status != want {
			t.Errorf("row %d: %s %q, want %s", row, rep[row].status, rep[row].message, want)
		}
	}
	st := srv.Stats()
	api := st.APIs[fakeim.SearchContactGroup]
	if api.Throttled == 0 || st.Faults[fakeim.FaultTransient] == 0 || st.Faults[fakeim.FaultHTTP502] == 0 || st.Faults[fakeim.FaultLostResponse] == 0 {
		t.Errorf("faults not all met: throttled %d, faults %v", api.Throttled, st.Faults)
	}
}

// TestVerifyPacesReads: at the default rate the reads leave at most 200
// in any window of the pacer (runCLI checks the departures), each
// conversation read once.
func TestVerifyPacesReads(t *testing.T) {
	dir := t.TempDir()
	var rows []testRow
	for u := range 500 {
		rows = append(rows, testRow{fields: []string{"user" + strconv.Itoa(u), "", "peer", "", "[1, 40]", "", "", ""}})
	}
	in := filepath.Join(dir, "in.csv")
	writeCSV(t, in, rows)
	srv, url := startEmulator(t, fakeim.Config{})
	for u := range 500 {
		srv.SetMark("user"+strconv.Itoa(u), fakeim.Conversation{Type: fakeim.C2C, Peer: "peer"}, fakeim.Mark{Standard: 1<<1 | 1<<40})
	}
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	code, stdout, stderr := verifyCLI(t, context.Background(),
		append([]string{"--input", in, "--report", filepath.Join(dir, "verify.csv")}, connArgs(url)...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	api := srv.Stats().APIs[fakeim.SearchContactGroup]
	if api.Accepted != 500 {
		t.Errorf("%d search requests accepted, want 500", api.Accepted)
	}
}

func TestVerifyExitCodes(t *testing.T) {
	dir, in, rows := newInput(t, 13, 200)
	report := filepath.Join(dir, "verify.csv")
	_, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	e := expect(rows)

	t.Run("usage", func(t *testing.T) {
		t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
		for _, args := range [][]string{
			{"--input", in},
			{"--report", report},
			{"--input", in, "--report", report, "--fake"},
			{"--input", in, "--report", report, "--endpoint", url},
		} {
			if code, _, stderr := verifyCLI(t, context.Background(), args...); code != exitUsage || stderr == "" {
				t.Errorf("%v: exit %d, want 2", args, code)
			}
		}
		absent := filepath.Join(dir, "absent.csv")
		code, _, stderr := verifyCLI(t, context.Background(), append([]string{"--input", absent, "--report", report}, connArgs(url)...)...)
		if code != exitUsage || !strings.Contains(stderr, "absent.csv") {
			t.Errorf("absent input: exit %d %q, want 2 naming the file", code, stderr)
		}
	})
	t.Run("fatal", func(t *testing.T) {
		key := "another-key-entirely-0000000000"
		t.Setenv("MARKIMPORT_SECRET_KEY", key)
		code, stdout, stderr := verifyCLI(t, context.Background(), append([]string{"--input", in, "--report", report}, connArgs(url)...)...)
		if code != exitFatal || !strings.Contains(stderr, "70009") {
			t.Fatalf("exit %d, want 3 naming 70009\n%s", code, stderr)
		}
		rep := readVerifyReport(t, report)
		for row, st := range e.status {
			if want := map[bool]string{true: "unread", false: "not-checked"}[st == "ok"]; rep[row].status != want {
				t.Errorf("row %d: %s, want %s", row, rep[row].status, want)
			}
		}
		for _, out := range []string{stdout, stderr} {
			if strings.Contains(out, key) {
				t.Error("the secret key leaked")
			}
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		code, _, stderr := verifyCLI(t, ctx, append([]string{"--input", in, "--report", report, "--overwrite"}, connArgs(url)...)...)
		if code != exitInterrupted {
			t.Fatalf("exit %d, want 130\n%s", code, stderr)
		}
		// Interrupted before it began: nothing is read back, and the rows
		// it planned meanwhile, if any, are unread saying why.
		rep := readVerifyReport(t, report)
		if len(rep) > len(rows) {
			t.Errorf("report has %d rows, want at most %d", len(rep), len(rows))
		}
		for row, l := range rep {
			st := e.status[row]
			if st == "ok" && (l.status != "unread" || !strings.Contains(l.message, "interrupted")) || st != "ok" && l.status != "not-checked" {
				t.Fatalf("row %d (%s in the import): %s %q, want unread saying it was interrupted, or not-checked", row, st, l.status, l.message)
			}
		}
	})
}
