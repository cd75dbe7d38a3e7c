package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

// TestRejectsFixAndRerun: a file with errors gives a rejects file with the
// original columns; fixing the bad values and running it again imports
// exactly those rows.
func TestRejectsFixAndRerun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	content := "user;peer;SetMark;note;extra\n" +
		"alice;bob;1;;x1\n" +
		"alice;carol;64;;x2\n" + // bit out of range
		"bob;dave;2;\"a;b\";x3\n" +
		"carol;erin;;;x4\n" + // changes nothing
		"dave;frank;3;ok;x5\n"
	os.WriteFile(in, []byte(content), 0o644)
	srv, url := startEmulator(t, fakeim.Config{Groups: []string{}})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	base := []string{"run", "--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet",
		"--delimiter", ";", "--map", "user=from_account", "--map", "peer=to_account", "--map", "note=custom_mark"}
	rejects := filepath.Join(dir, "rejects.csv")
	code, _, stderr := runCLI(t, append(base, "--input", in, "--report", filepath.Join(dir, "r1.csv"), "--rejects", rejects)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(rejects)
	want := "user;peer;SetMark;note;extra;status;code;message\n" +
		"alice;carol;64;;x2;invalid;50002;set_mark: bit 64 is outside 0..63\n" +
		"carol;erin;;;x4;invalid;50002;row changes nothing: no set_mark or clear_mark bits and no custom_mark\n"
	if string(b) != want {
		t.Fatalf("rejects file:\n%s\nwant:\n%s", b, want)
	}
	if n := srv.TotalConversations(); n != 3 {
		t.Fatalf("%d conversations after the first run, want 3", n)
	}

	// Fix the two rows in the rejects file and run it as input.
	fixed := strings.Replace(string(b), "alice;carol;64", "alice;carol;63", 1)
	fixed = strings.Replace(fixed, "carol;erin;;", "carol;erin;7;", 1)
	in2 := filepath.Join(dir, "fixed.csv")
	os.WriteFile(in2, []byte(fixed), 0o644)
	before := srv.Stats().APIs[fakeim.MarkContact].Accepted
	code, _, stderr = runCLI(t, append(base, "--input", in2, "--report", filepath.Join(dir, "r2.csv"), "--rejects", filepath.Join(dir, "rejects2.csv"))...)
	if code != exitOK {
		t.Fatalf("re-run exit %d: %s", code, stderr)
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Accepted - before; got != 2 {
		t.Errorf("re-run sent %d requests, want 2 (alice, carol)", got)
	}
	if m, _ := srv.Lookup("alice", fakeim.Conversation{Type: fakeim.C2C, Peer: "carol"}); m.Standard != 1<<63 {
		t.Errorf("alice/carol = %b", m.Standard)
	}
	if m, _ := srv.Lookup("carol", fakeim.Conversation{Type: fakeim.C2C, Peer: "erin"}); m.Standard != 1<<7 {
		t.Errorf("carol/erin = %b", m.Standard)
	}
	if n := srv.TotalConversations(); n != 5 {
		t.Errorf("%d conversations, want 5", n)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "rejects2.csv")); string(b) != "user;peer;SetMark;note;extra;status;code;message\n" {
		t.Errorf("rejects of a clean run: %q", b)
	}
}

// TestMaxInvalidSendsNothing: over the threshold nothing is sent, the exit
// code is 4 (validate's too), and the report and rejects still say why.
func TestMaxInvalidSendsNothing(t *testing.T) {
	dir := t.TempDir()
	rows := genRows(9, 400) // 16 invalid rows and 1 or 2 rejected of about 1,420
	in := filepath.Join(dir, "in.csv")
	writeCSV(t, in, rows)
	rejected := 0
	for _, st := range expect(rows).status {
		if st == "rejected" {
			rejected++
		}
	}
	wantMsg := fmt.Sprintf("16 invalid and %d rejected rows", rejected)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, rejects := filepath.Join(dir, "r.csv"), filepath.Join(dir, "rej.csv")
	args := []string{"run", "--input", in, "--report", report, "--rejects", rejects, "--endpoint", url,
		"--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--overwrite"}
	for _, limit := range []string{"10", "1%"} {
		code, _, stderr := runCLI(t, append(args, "--max-invalid", limit)...)
		if code != exitMaxInvalid || !strings.Contains(stderr, wantMsg) || !strings.Contains(stderr, "nothing was sent") {
			t.Fatalf("--max-invalid %s: exit %d, stderr %q", limit, code, stderr)
		}
		if n := srv.Stats().Requests; n != 0 {
			t.Fatalf("--max-invalid %s: the emulator saw %d requests", limit, n)
		}
		// Bad rows say why; every other row is unsent, with the reason.
		e := expect(rows)
		rep := readReport(t, report)
		if len(rep) != len(rows) {
			t.Fatalf("report has %d rows, want %d", len(rep), len(rows))
		}
		for row, l := range rep {
			want, code := "unsent", 0
			switch e.status[row] {
			case "invalid":
				want, code = "invalid", 50002
			case "rejected":
				want, code = "rejected", 51008
			}
			if l.status != want || l.code != code || (want == "unsent" && !strings.Contains(l.message, "not sent")) {
				t.Fatalf("--max-invalid %s: row %d: %s %d %q, want %s %d", limit, row, l.status, l.code, l.message, want, code)
			}
		}
		// The rejects file holds every row, with the same status.
		f, _ := os.Open(rejects)
		recs, _ := csv.NewReader(f).ReadAll()
		f.Close()
		if len(recs)-1 != len(rows) {
			t.Fatalf("rejects has %d rows, want every row (%d): none was sent", len(recs)-1, len(rows))
		}
		status := slices.Index(recs[0], "status")
		statuses := map[string]int{}
		for _, r := range recs[1:] {
			statuses[r[status]]++
		}
		if statuses["invalid"] != 16 || statuses["rejected"] != rejected || statuses["unsent"] != len(rows)-16-rejected {
			t.Fatalf("--max-invalid %s: rejects file statuses %v", limit, statuses)
		}
	}
	// validate says so the same way.
	if code, _, stderr := runCLI(t, "validate", "--input", in, "--quiet", "--max-invalid", "10"); code != exitMaxInvalid || !strings.Contains(stderr, wantMsg) {
		t.Fatalf("validate --max-invalid 10: exit %d, want 4\n%s", code, stderr)
	}
	// Under the threshold the run goes on, and imports the file exactly.
	if code, _, stderr := runCLI(t, append(args, "--max-invalid", strconv.Itoa(16+rejected))...); code != exitSomeNotOK || srv.Stats().Requests == 0 {
		t.Fatalf("--max-invalid at the count: exit %d, %d requests: %s", code, srv.Stats().Requests, stderr)
	}
	checkImport(t, srv, rows, report)
}

func TestSecondRunIsLockedOut(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeCSV(t, in, genRows(10, 50))
	report := filepath.Join(dir, "r.csv")
	release, err := lockFile(report+".lock", report, "--report")
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "run", "--fake", "--input", in, "--report", report, "--quiet")
	if code != exitUsage || !strings.Contains(stderr, "another markimport run is using") || !strings.Contains(stderr, "pid ") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	release()
	if code, _, stderr := runCLI(t, "run", "--fake", "--input", in, "--report", report, "--quiet", "--rate", "1000"); code != exitSomeNotOK {
		t.Fatalf("after release: exit %d: %s", code, stderr)
	}
}

func TestJSONLogsCarryTheRunID(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeCSV(t, in, genRows(11, 3000))
	summary := filepath.Join(dir, "s.json")
	code, _, stderr := runCLI(t, "run", "--fake", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--summary", summary,
		"--log-format", "json", "--progress-every", "20ms", "--rate", "1000")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum struct {
		RunID    string `json:"run_id"`
		ExitCode int    `json:"exit_code"`
		Input    string `json:"input"`
	}
	b, _ := os.ReadFile(summary)
	if err := json.Unmarshal(b, &sum); err != nil || sum.RunID == "" || sum.ExitCode != 1 || sum.Input != in {
		t.Fatalf("summary %s (%v)", b, err)
	}
	lines := 0
	var last map[string]any
	var progress []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if m["run_id"] != sum.RunID {
			t.Fatalf("log line without the run id %s: %q", sum.RunID, sc.Text())
		}
		lines++
		last = m
		if m["msg"] == "progress" {
			progress = append(progress, m)
		}
	}
	// A progress line says whether requests_planned is final: once it
	// says done, the count is the summary's.
	planned := float64(expect(genRows(11, 3000)).requests)
	for _, m := range progress {
		switch m["planning"] {
		case "done":
			if m["requests_planned"] != planned {
				t.Errorf("progress says planning done with requests_planned %v, the plan has %v", m["requests_planned"], planned)
			}
		case "in progress":
		default:
			t.Errorf("progress line without planning done or in progress: %v", m)
		}
	}
	if len(progress) == 0 {
		t.Error("no progress line")
	}
	if lines < 3 {
		t.Fatalf("only %d log lines", lines)
	}
	// The last line says how the run ended, as the summary does.
	if last["msg"] != "run finished" || last["exit_code"] != float64(1) || last["ok"] == nil || last["invalid"] == nil {
		t.Fatalf("last log line %v", last)
	}
}

// TestRejectsParquet: a Parquet input gives a Parquet rejects file that is
// itself a valid input with the same bad rows.
func TestRejectsParquet(t *testing.T) {
	dir := t.TempDir()
	in := "../../testdata/parquet/xitongsys_row_groups.parquet"
	rej, rep := filepath.Join(dir, "rej.parquet"), filepath.Join(dir, "r.csv")
	code, stdout, stderr := runCLI(t, "validate", "--input", in, "--report", rep, "--rejects", rej, "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The bad rows, in input order.
	first := readReport(t, rep)
	var badRows []int64
	for row, l := range first {
		if l.status != "valid" {
			badRows = append(badRows, row)
		}
	}
	slices.Sort(badRows)
	bad := len(badRows)
	if bad == 0 {
		t.Fatalf("the fixture has no bad row:\n%s", stdout)
	}
	rep2 := filepath.Join(dir, "r2.csv")
	if code, _, stderr := runCLI(t, "validate", "--input", rej, "--report", rep2, "--quiet"); code != exitSomeNotOK {
		t.Fatalf("rejects as input: exit %d: %s", code, stderr)
	}
	got := readReport(t, rep2)
	if len(got) != bad {
		t.Fatalf("the rejects file has %d rows, want %d", len(got), bad)
	}
	// Row k of the rejects file is the k-th bad row, judged the same way.
	for k, row := range badRows {
		g, w := got[int64(k+1)], first[row]
		if g.status != w.status || g.code != w.code || g.message != w.message || g.from != w.from || g.peer != w.peer {
			t.Errorf("rejects row %d: %s %d %q, want input row %d's %s %d %q", k+1, g.status, g.code, g.message, row, w.status, w.code, w.message)
		}
	}
	if code, _, stderr := runCLI(t, "validate", "--input", in, "--rejects", filepath.Join(dir, "rej.csv"), "--quiet"); code != exitUsage || !strings.Contains(stderr, ".parquet") {
		t.Errorf("a CSV name for Parquet rejects: exit %d: %s", code, stderr)
	}
}
