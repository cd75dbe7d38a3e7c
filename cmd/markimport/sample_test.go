package main

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

// A canary with --sample: a share of the users is imported, every other
// valid row is reported skipped (none left out of the report), a verify of
// the same sample checks exactly them, and with --state the full run then
// sends only the users the canary did not.

// inSample is the documented hash, written out independently of the
// tool's: the first 8 bytes of sha256(from_account), big-endian, below
// fraction × 2^64.
func inSample(from string, fraction float64) bool {
	sum := sha256.Sum256([]byte(from))
	return binary.BigEndian.Uint64(sum[:8]) < uint64(math.Ldexp(fraction, 64))
}

// sampled splits an expectation by the sample: the statuses of a canary
// (valid rows of users outside it skipped), and the emulator state and
// requests of the users in it and of the others.
func sampled(e expectation, rows []testRow, fraction float64) (status map[int64]string, in, out expectation) {
	status = map[int64]string{}
	in = expectation{state: map[string]map[fakeim.Conversation]fakeim.Mark{}}
	out = expectation{state: map[string]map[fakeim.Conversation]fakeim.Mark{}}
	for row, st := range e.status {
		status[row] = st
		if st != "ok" {
			continue // invalid and rejected rows are reported whoever's they are
		}
		if from, _ := conversationOf(rows[row-1]); !inSample(from, fraction) {
			status[row] = "skipped"
		}
	}
	for u, convs := range e.state {
		part := &out
		if inSample(u, fraction) {
			part = &in
		}
		part.state[u] = convs
		part.requests += (len(convs) + 99) / 100
	}
	return status, in, out
}

func TestSampleCanaryThenRest(t *testing.T) {
	const fraction = 0.1
	dir, in, rows := newInput(t, 61, 3000)
	stateDir := filepath.Join(dir, "state")
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	accepted := func() int64 { return srv.Stats().APIs[fakeim.MarkContact].Accepted }
	e := expect(rows)
	status, canary, rest := sampled(e, rows, fraction)
	if len(canary.state) == 0 || len(rest.state) == 0 {
		t.Fatalf("the sample splits nothing: %d users in it, %d out", len(canary.state), len(rest.state))
	}
	checkStatuses := func(name, path string, want map[int64]string, rename map[string]string) {
		t.Helper()
		lines := readReport(t, path)
		if len(lines) != len(rows) {
			t.Fatalf("%s: %d report lines for %d rows", name, len(lines), len(rows))
		}
		for row, st := range want {
			if r, ok := rename[st]; ok {
				st = r
			}
			got := lines[row]
			if got.status != st || (st == "skipped" || st == "unchanged") && (got.code != 0 || got.attempts != 0) {
				t.Errorf("%s row %d: %s code %d attempts %d, want %s", name, row, got.status, got.code, got.attempts, st)
			}
		}
	}

	// The dry run says the same, and sends nothing.
	vrep := filepath.Join(dir, "validate.csv")
	code, stdout, stderr := runCLI(t, "validate", "--input", in, "--report", vrep, "--sample", "0.1", "--quiet")
	if code != exitSomeNotOK || !strings.Contains(stdout, "sample         0.1 of users") {
		t.Fatalf("validate --sample: exit %d\n%s%s", code, stdout, stderr)
	}
	checkStatuses("validate", vrep, status, map[string]string{"ok": "valid"})

	// The canary: exactly the users in the sample, at their lower bound.
	rep1 := filepath.Join(dir, "canary.csv")
	code, stdout, stderr = runCLI(t, runArgs(url, "--input", in, "--report", rep1, "--state", stateDir, "--sample", "0.1")...)
	if code != exitSomeNotOK { // the invalid and rejected rows
		t.Fatalf("canary: exit %d\n%s%s", code, stdout, stderr)
	}
	checkStatuses("canary", rep1, status, nil)
	checkState(t, srv, canary)
	if got := accepted(); got != int64(canary.requests) {
		t.Errorf("canary: %d requests, want %d", got, canary.requests)
	}

	// verify of the same sample checks the canary's users and no other.
	vr := filepath.Join(dir, "verify.csv")
	code, stdout, stderr = verifyCLI(t, t.Context(), append(connArgs(url), "--input", in, "--report", vr, "--sample", "0.1")...)
	if code != exitOK {
		t.Fatalf("verify --sample: exit %d\n%s%s", code, stdout, stderr)
	}
	for row, line := range readVerifyReport(t, vr) {
		want := "not-checked"
		if status[row] == "ok" {
			want = "match"
		}
		if line.status != want || status[row] == "skipped" && !strings.Contains(line.message, "not in the sample") {
			t.Errorf("verify row %d: %s %q, want %s", row, line.status, line.message, want)
		}
	}

	// The rest: the state sends only the users the canary did not.
	rep2 := filepath.Join(dir, "rest.csv")
	code, stdout, stderr = runCLI(t, runArgs(url, "--input", in, "--report", rep2, "--state", stateDir)...)
	if code != exitSomeNotOK {
		t.Fatalf("the rest: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := accepted() - int64(canary.requests); got != int64(rest.requests) {
		t.Errorf("the rest: %d requests, want %d (the users outside the canary)", got, rest.requests)
	}
	restStatus := map[int64]string{}
	for row, st := range status {
		switch st {
		case "ok":
			restStatus[row] = "unchanged"
		case "skipped":
			restStatus[row] = "ok"
		default:
			restStatus[row] = st
		}
	}
	checkStatuses("the rest", rep2, restStatus, nil)
	checkState(t, srv, e)

	// A canary again, every item now unchanged: the users outside the
	// sample are skipped, not looked up, and nothing is sent.
	rep3 := filepath.Join(dir, "again.csv")
	sent := accepted()
	code, stdout, stderr = runCLI(t, runArgs(url, "--input", in, "--report", rep3, "--state", stateDir, "--sample", "0.1")...)
	if code != exitSomeNotOK || accepted() != sent {
		t.Fatalf("canary again: exit %d, %d requests\n%s%s", code, accepted()-sent, stdout, stderr)
	}
	checkStatuses("canary again", rep3, status, map[string]string{"ok": "unchanged"})
}

// TestSampleRefusals: a fraction outside (0, 1] is a usage error before
// anything is read.
func TestSampleRefusals(t *testing.T) {
	dir, in, _ := newInput(t, 62, 50)
	for _, bad := range []string{"0", "-0.1", "1.5", "NaN", "Inf", "1%", "", "x"} {
		code, _, stderr := runCLI(t, "validate", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--sample", bad)
		if code != exitUsage || !strings.Contains(stderr, "not a fraction in (0, 1]") {
			t.Errorf("--sample %q: exit %d\n%s", bad, code, stderr)
		}
	}
}

// TestSampleSettlesRows: a skipped row needs nothing more: a file whose
// rows are all valid exits 0 with a sample, and --rejects leaves the
// skipped rows out.
func TestSampleSettlesRows(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	var b strings.Builder
	b.WriteString("from_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type\n")
	users := 0
	for u := range 40 {
		b.WriteString("u" + strconv.Itoa(u) + ",c2c,peer,,1,,,\n")
		if inSample("u"+strconv.Itoa(u), 0.5) {
			users++
		}
	}
	if users == 0 || users == 40 {
		t.Fatalf("the sample splits nothing: %d of 40 users in it", users)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rej := filepath.Join(dir, "rejects.csv")
	code, stdout, stderr := runCLI(t, "validate", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--rejects", rej, "--sample", "0.5", "--quiet")
	if code != exitOK || !strings.Contains(stdout, "skipped      "+strconv.Itoa(40-users)) {
		t.Fatalf("validate --sample of valid rows: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := readCSVFile(t, rej, ""); len(got) != 1 {
		t.Errorf("rejects hold %d lines, want the header alone: %q", len(got), got)
	}
}
