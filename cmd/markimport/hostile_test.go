package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// TestOutputsNeverDestroyInputs: an output that is the input (by the same
// name, through ./, a symlink or a hard link, or standard input read from
// it), or another output, is refused with exit 2 naming both, and no file
// is touched.
func TestOutputsNeverDestroyInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "x.csv")
	writeCSV(t, in, genRows(40, 100))
	os.Symlink(in, filepath.Join(dir, "link.csv"))
	os.Symlink(filepath.Join(dir, "not-yet.csv"), filepath.Join(dir, "dangling.csv"))
	os.Link(in, filepath.Join(dir, "hard.csv"))
	t.Chdir(dir)
	_, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	conn := connArgs(url)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"report is the input", []string{"validate", "--input", "x.csv", "--report", "x.csv"}, []string{"--report x.csv", "--input x.csv"}},
		{"report through ./", []string{"validate", "--input", "x.csv", "--report", "./x.csv"}, []string{"--report ./x.csv"}},
		{"report through a symlink", []string{"validate", "--input", "x.csv", "--report", "link.csv"}, []string{"link.csv"}},
		{"report through a hard link", []string{"validate", "--input", "x.csv", "--report", "hard.csv"}, []string{"hard.csv"}},
		{"input through a symlink", []string{"validate", "--input", "link.csv", "--report", in}, []string{"link.csv"}},
		{"summary is the input", []string{"validate", "--input", "x.csv", "--summary", "x.csv"}, []string{"--summary x.csv"}},
		{"rejects is the input", []string{"validate", "--input", "x.csv", "--rejects", "x.csv"}, []string{"--rejects x.csv"}},
		{"summary is the report", []string{"validate", "--input", "x.csv", "--report", "r.csv", "--summary", "./r.csv"}, []string{"--summary ./r.csv", "--report r.csv"}},
		{"rejects is the report through a dangling link", []string{"validate", "--input", "x.csv", "--report", "not-yet.csv", "--rejects", "dangling.csv"}, []string{"dangling.csv", "not-yet.csv"}},
		{"summary is the report's sidecar", []string{"validate", "--input", "x.csv", "--report", "r.csv", "--summary", "r.csv.meta.json"}, []string{"r.csv.meta.json"}},
		{"input is a report sidecar", []string{"validate", "--input", "x.csv", "--report", "x"}, nil},
		{"cpuprofile is the input", []string{"validate", "--input", "x.csv", "--cpuprofile", "x.csv"}, []string{"--cpuprofile x.csv"}},
		{"run: report is the input", append([]string{"run", "--input", "x.csv", "--report", "link.csv"}, conn...), []string{"link.csv"}},
		{"verify: report is the input", append([]string{"verify", "--input", "x.csv", "--report", "hard.csv"}, conn...), []string{"hard.csv"}},
		{"verify: summary is the report", append([]string{"verify", "--input", "x.csv", "--report", "v.csv", "--summary", "v.csv"}, conn...), []string{"--summary v.csv"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, dir)
			if tc.want == nil {
				// "x" has the sidecar x.journal.csv..., never x.csv: allowed.
				code, _, stderr := runCLI(t, append(tc.args, "--quiet")...)
				if code != exitSomeNotOK {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if b, _ := os.ReadFile(in); string(b) != before["x.csv"] {
					t.Fatal("the input changed")
				}
				for _, f := range []string{"x", "x.journal.csv", "x.journal.csv.new"} {
					os.Remove(f)
				}
				return
			}
			code, _, stderr := runCLI(t, append(tc.args, "--quiet")...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message %q does not name %q", stderr, w)
				}
			}
			sameFiles(t, dir, before)
		})
	}
	t.Run("standard input read from the report", func(t *testing.T) {
		before := snapshot(t, dir)
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old }()
		code, _, stderr := runCLI(t, "validate", "--input", "-", "--report", "hard.csv", "--quiet")
		if code != exitUsage || !strings.Contains(stderr, "standard input") {
			t.Fatalf("exit %d, want 2 naming standard input: %s", code, stderr)
		}
		sameFiles(t, dir, before)
	})
}

// TestFinishedReportsSurviveMistakes: a finished report (or any file at its
// path) is refused without --resume or --overwrite; an input error leaves
// it, its sidecar and an interrupted run's journal untouched even with
// --overwrite; --overwrite of a good input replaces it.
func TestFinishedReportsSurviveMistakes(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	rows := genRows(41, 200)
	writeCSV(t, in, rows)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "report.csv")
	args := append([]string{"run", "--input", in, "--report", report}, connArgs(url)...)
	if code, _, stderr := runCLI(t, args...); code != exitSomeNotOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	checkImport(t, srv, rows, report)

	before := snapshot(t, dir)
	for _, extra := range [][]string{nil, {"--rate", "150"}} {
		code, _, stderr := runCLI(t, append(args, extra...)...)
		if code != exitUsage || !strings.Contains(stderr, "--resume") || !strings.Contains(stderr, "--overwrite") {
			t.Fatalf("a second run onto the report: exit %d, stderr %q; want 2 naming --resume and --overwrite", code, stderr)
		}
	}
	code, _, stderr := runCLI(t, "validate", "--input", in, "--report", report, "--quiet")
	if code != exitUsage {
		t.Fatalf("validate onto the report: exit %d: %s", code, stderr)
	}
	sameFiles(t, dir, before)

	// Input errors, even with --overwrite: nothing changes.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("user,peer\nu,p\n"), 0o644)
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, []byte("from_account,to_account\n"), 0o644)
	before = snapshot(t, dir)
	for _, input := range []string{bad, empty, filepath.Join(dir, "absent.csv")} {
		for _, cmd := range [][]string{
			append([]string{"run", "--input", input, "--report", report, "--overwrite"}, connArgs(url)...),
			{"validate", "--input", input, "--report", report, "--overwrite", "--quiet"},
		} {
			if code, _, stderr := runCLI(t, cmd...); code != exitUsage {
				t.Fatalf("%v: exit %d, want 2: %s", cmd, code, stderr)
			}
			sameFiles(t, dir, before)
		}
	}

	// An unrelated file at the report's path is not overwritten either.
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, []byte("precious\n"), 0o644)
	if code, _, _ := runCLI(t, "validate", "--input", in, "--report", other, "--quiet"); code != exitUsage {
		t.Fatalf("validate onto an unrelated file: exit %d", code)
	}
	if b, _ := os.ReadFile(other); string(b) != "precious\n" {
		t.Fatal("the unrelated file changed")
	}

	// --overwrite with a good input replaces the report.
	if code, _, stderr := runCLI(t, "validate", "--input", in, "--report", report, "--overwrite", "--quiet"); code != exitSomeNotOK {
		t.Fatalf("validate --overwrite: exit %d: %s", code, stderr)
	}
	for row, l := range readReport(t, report) {
		if l.status == "ok" {
			t.Fatalf("row %d is still ok: the report was not replaced", row)
		}
	}
	if _, err := os.Stat(report + ".journal.csv"); err == nil {
		t.Error("a journal is left beside a finished report")
	}
}

// TestDeadEndpointEndsFast: nothing listens at --endpoint. The run stops as
// fatal (exit 3) after a handful of connection attempts, printing, under
// --quiet too, the endpoint and the error; every row is unsent and the
// summary says why and that no request was sent.
func TestDeadEndpointEndsFast(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	rows := genRows(42, 20000)
	writeCSV(t, in, rows)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, summary := filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json")
	code, _, stderr := runCLI(t, "run", "--input", in, "--report", report, "--summary", summary, "--endpoint", "http://"+addr,
		"--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet")
	if code != exitFatal {
		t.Fatalf("exit %d, want 3: %s", code, stderr)
	}
	// Beside the run started and run finished lines that --quiet keeps.
	message := regexp.MustCompile(`(?m)^.*msg="run (started|finished)".*\n`).ReplaceAllString(stderr, "")
	if !strings.Contains(message, addr) || !strings.Contains(message, "connection refused") || strings.Count(message, "\n") > 3 {
		t.Errorf("stderr %q: want one message naming %s and the error", stderr, addr)
	}
	e := expect(rows)
	for row, l := range readReport(t, report) {
		if e.status[row] == "ok" && (l.status != "unsent" || l.attempts != 0) {
			t.Fatalf("row %d: %s %d %q attempts %d, want unsent", row, l.status, l.code, l.message, l.attempts)
		}
	}
	var sum map[string]any
	b, _ := os.ReadFile(summary)
	json.Unmarshal(b, &sum)
	if sum["stopped"] != "fatal: unreachable" || sum["requests_sent"] != float64(0) || sum["http_requests"] != float64(0) || sum["retries"] != float64(0) {
		t.Errorf("summary: stopped %v, requests_sent %v, http_requests %v, retries %v (a retry counts once on the wire)",
			sum["stopped"], sum["requests_sent"], sum["http_requests"], sum["retries"])
	}
}

// TestInterruptTellsTheTruth: a run interrupted while the server throttles
// reports the rows it never got confirmed as unsent (not failed 60007),
// every ok row names its input row's conversation and the emulator holds
// what that conversation's rows asked, the summary counts only requests
// that left, and says "interrupted".
func TestInterruptTellsTheTruth(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	rows := genRows(43, 6000)
	writeCSV(t, in, rows)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: 20})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, summary := filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// The first throttle: the pacer falls to the server's 20/s at once
		// and its ceiling with it, so few more come; the throttled rows
		// wait for their retry.
		for srv.Stats().APIs[fakeim.MarkContact].Throttled < 1 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	code, _, stderr := runCLIContext(t, ctx, append([]string{"run", "--input", in, "--report", report, "--summary", summary}, connArgs(url)...)...)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want 130: %s", code, stderr)
	}
	throttledUnsent, ok := 0, 0
	e, snap := expect(rows), srv.Snapshot()
	for row, l := range readReport(t, report) {
		if l.status == "ok" {
			ok++
			from, conv := conversationOf(rows[row-1])
			if l.from != from || l.typ+":"+l.peer != conv.String() {
				t.Fatalf("row %d: ok for %s %s %s, the input's row is %s %v", row, l.from, l.typ, l.peer, from, conv)
			}
			if got, want := snap[from][conv], e.state[from][conv]; got != want {
				t.Errorf("row %d ok: the emulator holds %+v for %s %v, the rows asked %+v", row, got, from, conv, want)
			}
		}
		if l.status == "failed" {
			t.Fatalf("row %d: failed %d %q after an interrupt", row, l.code, l.message)
		}
		if l.status == "unsent" && l.code == 60007 {
			throttledUnsent++
		}
	}
	if throttledUnsent == 0 || ok == 0 {
		t.Errorf("%d rows ok, %d throttled then unsent: the test did not interrupt what it meant to", ok, throttledUnsent)
	}
	var sum map[string]any
	b, _ := os.ReadFile(summary)
	json.Unmarshal(b, &sum)
	arrived := srv.Stats().APIs[fakeim.MarkContact].Requests
	if sum["stopped"] != "interrupted" || sum["requests_sent"].(float64) > float64(arrived) {
		t.Errorf("summary: stopped %v, requests_sent %v for %d requests that reached the server", sum["stopped"], sum["requests_sent"], arrived)
	}
}

func TestRateAboveTheQuotaWarns(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeCSV(t, in, genRows(44, 50))
	code, _, stderr := runCLI(t, "run", "--fake", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--rate", "500", "--quiet")
	if code != exitSomeNotOK || !strings.Contains(stderr, "--rate 500 is above the API's limit of 200") {
		t.Fatalf("exit %d, stderr %q: want a warning, also under --quiet", code, stderr)
	}
}

// TestHostileFilesInBoundedMemory runs the real binary on files made to
// exhaust memory: a row of 16 million empty fields (a 16 KB .csv.gz) and a
// 300 MB field. Each is one invalid row with a short message, the process
// stays under 100 MiB, and the rows around it are read.
func TestHostileFilesInBoundedMemory(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	gz := func(name string, parts ...func(*gzip.Writer)) string {
		p := filepath.Join(dir, name)
		f, _ := os.Create(p)
		w, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		for _, part := range parts {
			part(w)
		}
		w.Close()
		f.Close()
		return p
	}
	text := func(s string) func(*gzip.Writer) { return func(w *gzip.Writer) { w.Write([]byte(s)) } }
	repeat := func(s string, n int) func(*gzip.Writer) {
		return func(w *gzip.Writer) {
			chunk := []byte(strings.Repeat(s, 1<<20/len(s)))
			for written := 0; written < n; written += len(chunk) {
				w.Write(chunk[:min(len(chunk), n-written)])
			}
		}
	}
	head := "from_account,to_account,custom_mark\nu1,p1,a\n"
	cases := []struct {
		name, file, want string
	}{
		{"16M fields", gz("fields.csv.gz", text(head+"u2,p2"), repeat(",", 16_000_000), text("\nu3,p3,c\n")), "row has 16000002 fields, the header has 3"},
		{"300 MB field", gz("field.csv.gz", text(head+"u2,p2,\""), repeat("x\x1b[31m", 300<<20), text("\"\nu3,p3,c\n")), "custom_mark: 314572800 bytes"},
		{"10 MB account", gz("account.csv.gz", text(head+"\""), repeat("a", 10<<20), text("\",p2,b\nu3,p3,c\n")), "from_account: 10485760 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			report, summary := filepath.Join(dir, tc.name+".report.csv"), filepath.Join(dir, tc.name+".summary.json")
			cmd := exec.Command(bin, "validate", "--input", tc.file, "--report", report, "--summary", summary, "--quiet")
			out, err := cmd.CombinedOutput()
			if code := exitCode(err); code != exitSomeNotOK {
				t.Fatalf("exit %d: %s", code, out)
			}
			// The process's own peak (VmHWM): getrusage's maxrss of a child
			// counts what the test process held when it started it.
			var sum struct {
				PeakRSS int64 `json:"peak_rss_bytes"`
			}
			b, _ := os.ReadFile(summary)
			if err := json.Unmarshal(b, &sum); err != nil || sum.PeakRSS == 0 || sum.PeakRSS > 100<<20 {
				t.Errorf("peak RSS %d MiB (%v)", sum.PeakRSS>>20, err)
			}
			rep := readReport(t, report)
			if len(rep) != 3 || rep[1].status != "valid" || rep[3].status != "valid" {
				t.Fatalf("report %+v", rep)
			}
			l := rep[2]
			if l.status != "invalid" || !strings.Contains(l.message, tc.want) || len(l.message) > 200 || len(l.from) > 64 ||
				strings.ContainsAny(l.message+l.from, "\x1b") {
				t.Errorf("row 2: %s %q from %q, want invalid with %q, short and escaped", l.status, l.message, l.from, tc.want)
			}
			if info, _ := os.Stat(report); info.Size() > 4096 {
				t.Errorf("the report is %d bytes", info.Size())
			}
		})
	}
}

// TestIdentifiersFollowTheIMRules: accounts over 32 bytes, group ids over
// 48, ids with control characters are invalid, named and escaped; the
// longest valid ones import.
func TestIdentifiersFollowTheIMRules(t *testing.T) {
	dir := t.TempDir()
	a32, g48 := strings.Repeat("a", 32), strings.Repeat("g", 48)
	rows := []testRow{
		{fields: []string{a32, "", a32, "", "1", "", "", ""}},
		{fields: []string{"u", "", "", g48, "1", "", "", ""}},
		{fields: []string{a32 + "b", "", "p", "", "1", "", "", ""}, invalid: "from_account: \"" + a32 + "b\" is 33 bytes, more than the limit of 32"},
		{fields: []string{"u", "", a32 + "b", "", "1", "", "", ""}, invalid: "to_account: \"" + a32 + "b\" is 33 bytes"},
		{fields: []string{"u", "", "", g48 + "h", "1", "", "", ""}, invalid: "is 49 bytes, more than the limit of 48"},
		{fields: []string{"nul\x00user", "", "p", "", "1", "", "", ""}, invalid: `from_account: "nul\x00user" holds the control character U+0000`},
		{fields: []string{"u", "", "esc\x1b[0m", "", "1", "", "", ""}, invalid: `to_account: "esc\x1b[0m" holds the control character U+001B`},
		{fields: []string{"u", "", "del\x7f", "", "1", "", "", ""}, invalid: "U+007F"},
		{fields: []string{"u", "", "c1\u0085x", "", "1", "", "", ""}, invalid: "U+0085"},
	}
	in := filepath.Join(dir, "in.csv")
	writeCSV(t, in, rows)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "r.csv")
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report}, connArgs(url)...)...); code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkImport(t, srv, rows, report)
	raw, _ := os.ReadFile(report)
	if bytes.ContainsAny(raw, "\x00\x1b\x7f") {
		t.Errorf("the report holds raw control characters")
	}
}

// TestMessagesAtTheCommandLine: the real causes reach the user through the
// command, with exit 2.
func TestMessagesAtTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"UTF-16", []string{"--input", write("u16.csv", []byte("\xff\xfef\x00r\x00o\x00m\x00\n\x00"))}, "UTF-16"},
		{"semicolons", []string{"--input", write("semi.csv", []byte("from_account;to_account\nu;p\n"))}, "--delimiter ';'"},
		{"--map of a missing column", []string{"--input", write("m.csv", []byte("user,peer\nu,p\n")), "--map", "nothere=from_account"}, `no column "nothere"`},
		{"Parquet without --format", []string{"--input", write("x.dat", []byte("PAR1\x00\x01\x02garbage"))}, "--format parquet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"validate", "--quiet"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}
