package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"markimport/pipeline/durable/bucket"
	"markimport/readers/objstore/s3test"
	"markimport/sink/fakeim"
)

// killInBucket starts a run with its report, rejects and summary in the
// bucket, kills it (SIGKILL) once the report's journal has at least
// segs segments in the bucket, and lets the killed run's leases expire
// (as two minutes would). It returns the segment keys. extra are more
// flags of the run (--resume: the run killed is a resume).
func killInBucket(t *testing.T, bin string, s3 *s3test.Server, url, in string, segs int, extra ...string) []string {
	t.Helper()
	cmd, out := startRunEnv(t, bin, url, s3.Env(), append([]string{"--input", in, "--temp-dir", t.TempDir(),
		"--report", "s3://night/r/report.csv", "--rejects", "s3://night/r/rejects.csv", "--summary", "s3://night/r/summary.json"}, extra...)...)
	exited := make(chan int)
	go func() { exited <- exitCode(cmd.Wait()) }()
	var keys []string
	for len(keys) < segs+1 { // the segments and the record of the input
		select {
		case code := <-exited:
			t.Fatalf("the run ended (exit %d) before its journal had %d segments in the bucket: %v\n%s", code, segs, keys, out)
		case <-time.After(20 * time.Millisecond):
		}
		keys = s3.Keys(t, obj(t, "s3://night/r/report.csv.journal/"))
	}
	cmd.Process.Kill()
	if code := <-exited; code != -1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	keys = s3.Keys(t, obj(t, "s3://night/r/report.csv.journal/"))
	if len(keys) < segs+1 {
		t.Fatalf("the report's journal in the bucket: %v\n%s", keys, out)
	}
	for _, l := range []string{"report.csv.lease", "rejects.csv.lease", "summary.json.lease"} {
		o := obj(t, "s3://night/r/"+l)
		var lease map[string]any
		if err := json.Unmarshal(s3.Get(t, o), &lease); err != nil {
			t.Fatal(err)
		}
		lease["expires"] = time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
		b, _ := json.Marshal(lease)
		s3.Put(t, o, b)
	}
	return keys[:len(keys)-1]
}

// mirroredOK counts the conversations of the ok lines of the report's
// journal segments.
func mirroredOK(t *testing.T, s3 *s3test.Server, segs []string) int {
	t.Helper()
	ok := map[[3]string]bool{}
	for _, k := range segs {
		b := s3.Get(t, obj(t, "s3://night/"+k))
		recs, err := csv.NewReader(bytes.NewReader(b[bytes.IndexByte(b, '\n')+1:])).ReadAll()
		if err != nil {
			t.Fatalf("segment %s: %v", k, err)
		}
		for _, rec := range recs {
			if len(rec) > 4 && rec[4] == "ok" {
				ok[[3]string{rec[1], rec[2], rec[3]}] = true
			}
		}
	}
	return len(ok)
}

// TestReportInBucketKilledThenResumedElsewhere: a run killed (SIGKILL)
// with its report in the bucket is resumed in a new container (another
// --temp-dir, no file of the killed run): the rows its mirrored journal
// has ok are not sent again, and the finished report, rejects and
// summary are as an uninterrupted run's, the emulator exact.
func TestReportInBucketKilledThenResumedElsewhere(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	dir, in, rows := newInput(t, 75, 3000)
	// items counts the conversations the requests carry.
	var mu sync.Mutex
	items := 0
	count := func(_ string, convs []fakeim.Conversation) { mu.Lock(); items += len(convs); mu.Unlock() }
	sent := func() int { mu.Lock(); defer mu.Unlock(); return items }
	srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, RateLimit: -1, Latency: 10 * time.Millisecond})
	url := serveChecked(t, srv, count)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	segs := killInBucket(t, bin, s3, url, in, 2)
	confirmed := mirroredOK(t, s3, segs)
	if confirmed == 0 {
		t.Fatalf("the killed run's mirrored journal has no ok conversation: %v", segs)
	}
	before := sent()

	cmd, out := startRunEnv(t, bin, url, s3.Env(), "--input", in, "--temp-dir", t.TempDir(), "--resume",
		"--report", "s3://night/r/report.csv", "--rejects", "s3://night/r/rejects.csv", "--summary", "s3://night/r/summary.json")
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d, want 1 as an uninterrupted run (invalid rows)\n%s", code, out)
	}
	resumed := sent() - before
	rep := filepath.Join(dir, "report.csv")
	os.WriteFile(rep, s3.Get(t, obj(t, "s3://night/r/report.csv")), 0o644)
	checkImport(t, srv, rows, rep)

	// An uninterrupted run of the same input, for the conversations it
	// sends: the resume sends at most those the bucket did not confirm.
	srv2 := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, RateLimit: -1})
	mu.Lock()
	items = 0
	mu.Unlock()
	if code, _, stderr := runCLI(t, runArgs(serveChecked(t, srv2, count), "--input", in, "--report", filepath.Join(dir, "whole.csv"))...); code != exitSomeNotOK {
		t.Fatalf("uninterrupted: exit %d: %s", code, stderr)
	}
	if whole := sent(); resumed > whole-confirmed {
		t.Fatalf("the resume sent %d conversations; an uninterrupted run sends %d, of which the killed run's mirrored journal confirmed %d", resumed, whole, confirmed)
	} else {
		t.Logf("the resume sent %d conversations; an uninterrupted run sends %d, of which the killed run's mirrored journal confirmed %d in %d segments", resumed, whole, confirmed, len(segs))
	}
	if keys := s3.Keys(t, obj(t, "s3://night/r/")); strings.Join(keys, " ") != "r/rejects.csv r/report.csv r/summary.json" {
		t.Fatalf("after the resume the bucket holds %v\n%s", keys, out)
	}
}

// TestReportInBucketResumeKilledToo: a resume killed in its turn leaves
// a chain that continues the killed run's (its own lines after the ones
// it pulled, once each), so a third container finishes the report
// exactly: one line per row, the emulator as an uninterrupted run leaves
// it.
func TestReportInBucketResumeKilledToo(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	dir, in, rows := newInput(t, 80, 8000)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1, Latency: 10 * time.Millisecond})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	first := killInBucket(t, bin, s3, url, in, 2)
	second := killInBucket(t, bin, s3, url, in, len(first)+1, "--resume")
	if len(second) <= len(first) {
		t.Fatalf("the killed resume added no segment: %v then %v", first, second)
	}
	cmd, out := startRunEnv(t, bin, url, s3.Env(), "--input", in, "--temp-dir", t.TempDir(), "--resume",
		"--report", "s3://night/r/report.csv", "--rejects", "s3://night/r/rejects.csv", "--summary", "s3://night/r/summary.json")
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("second resume: exit %d, want 1 as an uninterrupted run (invalid rows)\n%s", code, out)
	}
	rep := filepath.Join(dir, "report.csv")
	os.WriteFile(rep, s3.Get(t, obj(t, "s3://night/r/report.csv")), 0o644)
	checkImport(t, srv, rows, rep)
	if keys := s3.Keys(t, obj(t, "s3://night/r/")); strings.Join(keys, " ") != "r/rejects.csv r/report.csv r/summary.json" {
		t.Fatalf("after the resumes the bucket holds %v\n%s", keys, out)
	}
}

// TestResumeFromBucketRefusesABadJournal: a resume in a new container
// refuses, with exit 2 and naming the object, a segment tampered with, a
// segment missing in the middle, and the input changed since; the
// journal is left as it was, and resumes once put back.
func TestResumeFromBucketRefusesABadJournal(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	_, in, rows := newInput(t, 76, 8000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	segs := killInBucket(t, bin, s3, url, in, 3)
	resume := func() (int, string) {
		cmd, out := startRunEnv(t, bin, url, s3.Env(), "--input", in, "--temp-dir", t.TempDir(), "--resume",
			"--report", "s3://night/r/report.csv", "--rejects", "s3://night/r/rejects.csv", "--summary", "s3://night/r/summary.json")
		return exitCode(cmd.Wait()), out.String()
	}
	second := obj(t, "s3://night/"+segs[1])
	good := s3.Get(t, second)
	refused := func(what, want string) {
		t.Helper()
		sentBefore := srv.Stats().APIs[fakeim.MarkContact].Requests
		code, out := resume()
		if code != exitUsage || !strings.Contains(out, want) {
			t.Fatalf("%s: exit %d, want 2 and %q:\n%s", what, code, want, out)
		}
		if srv.Stats().APIs[fakeim.MarkContact].Requests != sentBefore {
			t.Fatalf("%s: the refused resume sent requests", what)
		}
	}

	s3.Put(t, second, bytes.Replace(good, []byte(",ok,"), []byte(",failed,"), 1))
	refused("a tampered segment", second.String()+" is damaged")
	s3.Put(t, second, good)

	writeCSV(t, in, rows[1:])
	refused("a changed input", "changed since the report")
	writeCSV(t, in, rows)

	// A segment missing in the middle: one after a gap (the store of the
	// tests deletes nothing).
	last := s3.Get(t, obj(t, "s3://night/"+segs[len(segs)-1]))
	s3.Put(t, obj(t, "s3://night/r/report.csv.journal/"+bucket.SegmentName(len(segs)+2)), last)
	refused("a segment missing in the middle", "s3://night/r/report.csv.journal/"+bucket.SegmentName(len(segs)+1)+" is missing")
}
