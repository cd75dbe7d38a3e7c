package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// TestVerifyOutputsAsObjects: verify's report, summary and page appear as
// objects holding what the same verify writes locally; a second verify
// does not replace them without --overwrite (nothing read back), does
// with it; a lease held by another run keeps it out; an output inside
// the input's prefix is refused; --temp-dir is left empty.
func TestVerifyOutputsAsObjects(t *testing.T) {
	s3 := startBucket(t)
	dir, in, _ := newInput(t, 79, 300)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", filepath.Join(dir, "r.csv"))...); code > exitSomeNotOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	reads := func() int64 { return srv.Stats().APIs[fakeim.SearchContactGroup].Requests }
	verify := func(extra ...string) (int, string) {
		t.Helper()
		tmp := t.TempDir()
		code, _, stderr := runCLI(t, append(append([]string{"verify", "--input", in, "--temp-dir", tmp}, connArgs(url)...), extra...)...)
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Errorf("verify %v left %d files in --temp-dir", extra, len(entries))
		}
		return code, stderr
	}
	outs := []string{"--report", "s3://night/v/report.csv", "--summary", "s3://night/v/summary.json", "--html", "s3://night/v/page.html"}
	if code, stderr := verify(outs...); code != exitOK {
		t.Fatalf("verify: exit %d: %s", code, stderr)
	}
	if keys := strings.Join(s3.Keys(t, obj(t, "s3://night/")), " "); keys != "v/page.html v/report.csv v/summary.json" {
		t.Fatalf("the bucket holds %s", keys)
	}
	local := filepath.Join(dir, "v.csv")
	if code, stderr := verify("--report", local); code != exitOK {
		t.Fatalf("verify: exit %d: %s", code, stderr)
	}
	// Rows are written as their reads answer: the same lines, in another
	// order.
	if want, _ := os.ReadFile(local); sortedLines(s3.Get(t, obj(t, "s3://night/v/report.csv"))) != sortedLines(want) {
		t.Error("the report object is not what the same verify writes locally")
	}
	if sum := string(s3.Get(t, obj(t, "s3://night/v/summary.json"))); !strings.Contains(sum, `"exit_code": 0`) {
		t.Errorf("summary object:\n%s", sum)
	}
	if page := string(s3.Get(t, obj(t, "s3://night/v/page.html"))); !strings.Contains(page, "<html") || !strings.Contains(page, "match") || !strings.Contains(page, ">s3://night/v/report.csv<") {
		t.Errorf("page object:\n%.300s", page)
	}

	before := reads()
	s3.Put(t, obj(t, "s3://night/v/summary.json"), []byte("{}"))
	if code, stderr := verify(outs...); code != exitUsage || !strings.Contains(stderr, "s3://night/v/report.csv exists: pass --overwrite") {
		t.Fatalf("a second verify without --overwrite: exit %d: %s", code, stderr)
	}
	if reads() != before {
		t.Error("a refused verify read marks back")
	}
	if got := string(s3.Get(t, obj(t, "s3://night/v/summary.json"))); got != "{}" {
		t.Errorf("a refused verify replaced the summary: %s", got)
	}
	s3.Put(t, obj(t, "s3://night/v/page.html.lease"), []byte(`{"owner":"markimport pid 7 on cron-1","expires":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`))
	if code, stderr := verify(append(outs, "--overwrite")...); code != exitUsage || !strings.Contains(stderr, "pid 7 on cron-1") || reads() != before {
		t.Fatalf("an output held by another run: exit %d: %s", code, stderr)
	}
	s3.Put(t, obj(t, "s3://night/v/page.html.lease"), []byte(`{"owner":"markimport pid 7 on cron-1","expires":"`+time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)+`"}`))
	if code, stderr := verify(append(outs, "--overwrite")...); code != exitOK {
		t.Fatalf("--overwrite: exit %d: %s", code, stderr)
	}
	if got := string(s3.Get(t, obj(t, "s3://night/v/summary.json"))); !strings.Contains(got, `"exit_code": 0`) {
		t.Errorf("--overwrite left the summary: %s", got)
	}
	if keys := strings.Join(s3.Keys(t, obj(t, "s3://night/")), " "); keys != "v/page.html v/report.csv v/summary.json" {
		t.Fatalf("after --overwrite the bucket holds %s (leases left?)", keys)
	}

	s3.PutFile(t, obj(t, "s3://night/in/marks.csv"), in)
	code, _, stderr := runCLI(t, append([]string{"verify", "--input", "s3://night/in/", "--report", "s3://night/in/v.csv"}, connArgs(url)...)...)
	if code != exitUsage || !strings.Contains(stderr, "is the input (--input s3://night/in/) or inside it") {
		t.Fatalf("a verify report inside the input's prefix: exit %d: %s", code, stderr)
	}
}

// TestPagesAsObjects: --html takes an object URL in validate and run
// (with the summary local or in the bucket) and in page, refused when it
// exists unless --overwrite, and holding what a local page holds.
func TestPagesAsObjects(t *testing.T) {
	s3 := startBucket(t)
	dir, in, _ := newInput(t, 80, 200)
	_, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	val := []string{"validate", "--input", in, "--report", "s3://night/val/r.csv", "--summary", "s3://night/val/s.json", "--html", "s3://night/val/p.html", "--quiet"}
	if code, _, stderr := runCLI(t, val...); code != exitSomeNotOK {
		t.Fatalf("validate: exit %d: %s", code, stderr)
	}
	if keys := strings.Join(s3.Keys(t, obj(t, "s3://night/val/")), " "); keys != "val/p.html val/r.csv val/s.json" {
		t.Fatalf("the bucket holds %s", keys)
	}
	if page := string(s3.Get(t, obj(t, "s3://night/val/p.html"))); !strings.Contains(page, ">s3://night/val/r.csv<") {
		t.Errorf("the page does not name the report object:\n%.2000s", page)
	}
	if code, _, stderr := runCLI(t, val...); code != exitUsage || !strings.Contains(stderr, "exists: pass --overwrite") {
		t.Fatalf("validate again: exit %d: %s", code, stderr)
	}
	rep, sum := filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", rep, "--summary", sum, "--html", "s3://night/run/p.html")...); code > exitSomeNotOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	if page := string(s3.Get(t, obj(t, "s3://night/run/p.html"))); !strings.Contains(page, "<html") {
		t.Fatalf("run's page object:\n%.300s", page)
	}

	local := filepath.Join(dir, "p.html")
	if code, _, stderr := runCLI(t, "page", "--report", rep, "--summary", sum, "--html", local); code != exitOK {
		t.Fatalf("page: exit %d: %s", code, stderr)
	}
	want, _ := os.ReadFile(local)
	page := []string{"page", "--report", rep, "--summary", sum, "--html", "s3://night/pg/p.html"}
	if code, stdout, stderr := runCLI(t, page...); code != exitOK || !strings.Contains(stdout, "page written: s3://night/pg/p.html") {
		t.Fatalf("page: exit %d: %s%s", code, stdout, stderr)
	}
	if string(s3.Get(t, obj(t, "s3://night/pg/p.html"))) != string(want) {
		t.Error("the page object is not what page writes locally")
	}
	s3.Put(t, obj(t, "s3://night/pg/p.html"), []byte("mine"))
	if code, _, stderr := runCLI(t, page...); code != exitUsage || !strings.Contains(stderr, "s3://night/pg/p.html exists: pass --overwrite") {
		t.Fatalf("page again: exit %d: %s", code, stderr)
	}
	if string(s3.Get(t, obj(t, "s3://night/pg/p.html"))) != "mine" {
		t.Error("a refused page replaced the object")
	}
	if code, _, stderr := runCLI(t, append(page, "--overwrite")...); code != exitOK || string(s3.Get(t, obj(t, "s3://night/pg/p.html"))) != string(want) {
		t.Fatalf("page --overwrite: exit %d: %s", code, stderr)
	}
	if keys := strings.Join(s3.Keys(t, obj(t, "s3://night/pg/")), " "); keys != "pg/p.html" {
		t.Errorf("page left %s", keys)
	}
	if code, _, stderr := runCLI(t, "page", "--report", "s3://night/val/r.csv", "--summary", sum, "--html", local+"2"); code != exitUsage || !strings.Contains(stderr, "page reads the report and the summary from local files") {
		t.Fatalf("page of a report in a bucket: exit %d: %s", code, stderr)
	}
}

// TestMetricsFileInBucketRefused: --metrics-file (and the profiles) must
// be local files: an object URL is refused with exit 2 and one line,
// before the input (here, missing) is read or anything is sent, leaving
// the bucket and --temp-dir empty.
func TestMetricsFileInBucketRefused(t *testing.T) {
	s3 := startBucket(t)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	for _, args := range [][]string{
		{"validate", "--report", "s3://night/r.csv", "--metrics-file", "s3://night/m.prom"},
		runArgs(url, "--report", "s3://night/r.csv", "--metrics-file", "s3://night/m.prom"),
		append([]string{"verify", "--report", "s3://night/v.csv", "--metrics-file", "s3://night/m.prom"}, connArgs(url)...),
		runArgs(url, "--report", "s3://night/r.csv", "--cpuprofile", "s3://night/cpu.pprof"),
	} {
		tmp := t.TempDir()
		code, _, stderr := runCLI(t, append(args, "--input", "s3://night/missing.csv", "--temp-dir", tmp)...)
		var said []string
		for _, l := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(l, "markimport ") {
				said = append(said, l)
			}
		}
		if code != exitUsage || len(said) != 1 || !strings.Contains(said[0], "must be a local file") {
			t.Errorf("%v: exit %d, want 2 and one line saying it must be local: %q", args, code, stderr)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Errorf("%v: left %d files in --temp-dir", args, len(entries))
		}
	}
	if keys := s3.Keys(t, obj(t, "s3://night/")); len(keys) != 0 {
		t.Errorf("the bucket holds %v", keys)
	}
	if n := srv.Stats().APIs[fakeim.MarkContact].Requests + srv.Stats().APIs[fakeim.SearchContactGroup].Requests; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
