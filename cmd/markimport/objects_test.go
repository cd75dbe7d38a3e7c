package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
	"markimport/sink/fakeim"
)

// startBucket starts an S3 protocol server on loopback with the bucket
// "night", and points this process's object-storage client at it.
func startBucket(t *testing.T) *s3test.Server {
	t.Helper()
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	s3.SetEnv(t)
	return s3
}

func obj(t *testing.T, s string) objstore.Location {
	t.Helper()
	l, err := objstore.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestOutputsAsObjects: the report, the rejects and the summary appear as
// objects with what the same run writes locally; a second run does not
// replace them without --overwrite, and a run stopped by its input leaves
// them as they were even with --overwrite.
func TestOutputsAsObjects(t *testing.T) {
	s3 := startBucket(t)
	dir, in, rows := newInput(t, 71, 500)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	outs := []string{"--report", "s3://night/out/report.csv", "--rejects", "s3://night/out/rejects.csv", "--summary", "s3://night/out/summary.json"}
	code, _, stderr := runCLI(t, runArgs(url, append([]string{"--input", in}, outs...)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	keys := s3.Keys(t, obj(t, "s3://night/"))
	if strings.Join(keys, " ") != "out/rejects.csv out/report.csv out/summary.json" {
		t.Fatalf("the bucket holds %v", keys)
	}
	rep := filepath.Join(dir, "report.csv")
	os.WriteFile(rep, s3.Get(t, obj(t, "s3://night/out/report.csv")), 0o644)
	checkImport(t, srv, rows, rep)
	if sum := string(s3.Get(t, obj(t, "s3://night/out/summary.json"))); !strings.Contains(sum, `"exit_code": 1`) {
		t.Errorf("summary object:\n%s", sum)
	}
	finished := map[string]string{}
	for _, k := range keys {
		finished[k] = string(s3.Get(t, obj(t, "s3://night/"+k)))
	}
	same := func(when string) {
		t.Helper()
		for k, v := range finished {
			if got := string(s3.Get(t, obj(t, "s3://night/"+k))); got != v {
				t.Errorf("%s: %s changed", when, k)
			}
		}
		if got := s3.Keys(t, obj(t, "s3://night/")); len(got) != len(finished) {
			t.Errorf("%s: the bucket holds %v", when, got)
		}
	}

	sent := srv.Stats().APIs[fakeim.MarkContact].Accepted
	code, _, stderr = runCLI(t, runArgs(url, append([]string{"--input", in}, outs...)...)...)
	if code != exitUsage || !strings.Contains(stderr, "s3://night/out/report.csv exists: pass --overwrite") {
		t.Fatalf("a second run without --overwrite: exit %d: %s", code, stderr)
	}
	if srv.Stats().APIs[fakeim.MarkContact].Accepted != sent {
		t.Error("a refused run sent requests")
	}
	same("after a refused run")

	// A compressed input cut short: rows are read and sent, then the
	// input cannot be read.
	src, _ := os.ReadFile(in)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(src)
	zw.Close()
	bad := filepath.Join(dir, "cut.csv.gz")
	os.WriteFile(bad, gz.Bytes()[:gz.Len()*2/3], 0o644)
	code, _, stderr = runCLI(t, runArgs(url, append([]string{"--input", bad, "--overwrite"}, outs...)...)...)
	if code != exitUsage {
		t.Fatalf("an input error: exit %d: %s", code, stderr)
	}
	same("after an input error")

	code, _, stderr = runCLI(t, runArgs(url, "--input", in, "--report", "s3://night/out/report.csv", "--resume")...)
	if code != exitUsage || !strings.Contains(stderr, "--resume") {
		t.Fatalf("--resume with a report in a bucket: exit %d: %s", code, stderr)
	}
}

// TestStateInBucketThreeNights: with --state in a bucket and no folder
// kept between runs, night 1 sends everything, night 2 nothing, night 3
// exactly the changed items; a missing or damaged state object is
// refused naming it and suggesting --full.
func TestStateInBucketThreeNights(t *testing.T) {
	s3 := startBucket(t)
	dir, in, rows := newInput(t, 72, 2000)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	accepted := func() int64 { return srv.Stats().APIs[fakeim.MarkContact].Accepted }
	night := func(n int, extra ...string) (int, string) {
		t.Helper()
		// A new temporary folder each night: nothing survives but the
		// bucket.
		tmp := t.TempDir()
		code, _, stderr := runCLI(t, runArgs(url, append([]string{"--input", in, "--temp-dir", tmp, "--state", "s3://night/state/",
			"--report", fmt.Sprintf("s3://night/reports/night%d.csv", n)}, extra...)...)...)
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Errorf("night %d left %d files in --temp-dir", n, len(entries))
		}
		return code, stderr
	}
	e := expect(rows)
	if code, stderr := night(1); code > exitSomeNotOK || accepted() != int64(e.requests) {
		t.Fatalf("night 1: exit %d, %d requests, want %d: %s", code, accepted(), e.requests, stderr)
	}
	if code, stderr := night(2); code > exitSomeNotOK || accepted() != int64(e.requests) {
		t.Fatalf("night 2: exit %d, sent %d requests, want 0: %s", code, accepted()-int64(e.requests), stderr)
	}
	rows3, changed := night3(rows)
	writeCSV(t, in, rows3)
	sent := accepted()
	if code, stderr := night(3); code > exitSomeNotOK {
		t.Fatalf("night 3: exit %d: %s", code, stderr)
	}
	if got, want := accepted()-sent, int64(changedRequests(changed)); got != want {
		t.Errorf("night 3 sent %d requests, want %d for the changed items", got, want)
	}
	checkState(t, srv, expect(rows3))

	// Damage a partition object: refused, named, --full suggested, nothing
	// sent; --full sends everything again.
	var part string
	for _, k := range s3.Keys(t, obj(t, "s3://night/state/")) {
		if strings.HasSuffix(k, ".st") {
			part = k
		}
	}
	b := s3.Get(t, obj(t, "s3://night/"+part))
	b[len(b)-1] ^= 1
	s3.Put(t, obj(t, "s3://night/"+part), b)
	sent = accepted()
	code, stderr := night(4)
	if code != exitUsage || !strings.Contains(stderr, "s3://night/"+part) || !strings.Contains(stderr, "--full") || accepted() != sent {
		t.Fatalf("a damaged state object: exit %d, %d sent: %s", code, accepted()-sent, stderr)
	}
	if code, stderr := night(5, "--full"); code > exitSomeNotOK || accepted()-sent != int64(expect(rows3).requests) {
		t.Fatalf("--full: exit %d, %d sent, want %d: %s", code, accepted()-sent, expect(rows3).requests, stderr)
	}
	sent = accepted()
	if code, stderr := night(6); code > exitSomeNotOK || accepted() != sent {
		t.Fatalf("after --full: exit %d, %d sent, want 0: %s", code, accepted()-sent, stderr)
	}

	// A run holding the state (its lease, unexpired) keeps a second one
	// out; a killed run's lease, expired, does not.
	lease := func(expires time.Time) {
		s3.Put(t, obj(t, "s3://night/state/LEASE.json"), []byte(`{"owner":"markimport pid 7 on cron-1","expires":"`+expires.UTC().Format(time.RFC3339)+`"}`))
	}
	lease(time.Now().Add(time.Hour))
	if code, stderr := night(7); code != exitUsage || !strings.Contains(stderr, "pid 7 on cron-1") || accepted() != sent {
		t.Fatalf("a state held by another run: exit %d, %d sent: %s", code, accepted()-sent, stderr)
	}
	lease(time.Now().Add(-time.Minute))
	if code, stderr := night(8); code > exitSomeNotOK || accepted() != sent {
		t.Fatalf("a killed run's expired lease: exit %d, %d sent: %s", code, accepted()-sent, stderr)
	}
	if keys := s3.Keys(t, obj(t, "s3://night/state/LEASE.json")); len(keys) != 0 {
		t.Errorf("the lease outlived the run: %v", keys)
	}
	_ = dir
}

// TestBackupInBucketKilledThenRolledBack: a run killed (SIGKILL) in the
// middle leaves in the bucket the journal segments of every write that
// left; read back as one folder they restore the emulator exactly.
func TestBackupInBucketKilledThenRolledBack(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	dir, in, rows := newInput(t, 73, 3000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond})
	before := initialState(t, srv, rows, 5)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	// The run's requests from the 21st are held until the kill: it
	// cannot end first.
	held := holdFrom(t, url, string(fakeim.MarkContact), 21)
	cmd, out := startRunEnv(t, bin, held.url, s3.Env(), "--input", in, "--temp-dir", t.TempDir(), "--backup", "s3://night/b/backup.csv", "--report", "s3://night/b/report.csv")
	waitRequests(t, srv, 20)
	cmd.Process.Kill()
	if code := exitCode(cmd.Wait()); code != -1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	held.drop()
	segs := s3.Keys(t, obj(t, "s3://night/b/backup.csv.journal/"))
	if len(segs) == 0 {
		t.Fatalf("no journal segment in the bucket after the kill\n%s", out)
	}
	// Nothing published: the segments, the report's journal, and the
	// leases the killed run held until they expire.
	reportJournal := s3.Keys(t, obj(t, "s3://night/b/report.csv.journal/"))
	if keys := s3.Keys(t, obj(t, "s3://night/b/")); len(keys) != len(segs)+len(reportJournal)+2 || !slices.Contains(keys, "b/report.csv.lease") || !slices.Contains(keys, "b/backup.csv.lease") {
		t.Fatalf("a killed run published %v", keys)
	}
	// The rollback reads the segments straight from the bucket, as one
	// folder; verify then finds every row as it was.
	s3.SetEnv(t)
	journal := "s3://night/b/backup.csv.journal/"
	rollBack(t, srv, url, journal, filepath.Join(dir, "rollback"))
	checkRolledBack(t, srv, rows, before)

	// A new run to the same backup is refused: the journal there is the
	// way back.
	cmd, out = startRunEnv(t, bin, url, s3.Env(), "--input", in, "--report", filepath.Join(dir, "r2.csv"), "--backup", "s3://night/b/backup.csv")
	if code := exitCode(cmd.Wait()); code != exitUsage || !strings.Contains(out.String(), "did not finish") {
		t.Fatalf("a run over a killed run's backup: exit %d\n%s", code, out)
	}

	// A run that finishes publishes the backup and its check, and drops
	// its segments.
	cmd, out = startRunEnv(t, bin, url, s3.Env(), "--input", in, "--report", filepath.Join(dir, "r3.csv"), "--backup", "s3://night/c/backup.csv")
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("a finished run: exit %d\n%s", code, out)
	}
	if keys := s3.Keys(t, obj(t, "s3://night/c/")); strings.Join(keys, " ") != "c/backup.csv c/backup.csv.check" {
		t.Fatalf("after a finished run the bucket holds %v", keys)
	}
	// The finished backup, read from the bucket, rolls back too.
	rollBack(t, srv, url, "s3://night/c/backup.csv", filepath.Join(dir, "rollback-c"))
	checkRolledBack(t, srv, rows, before)
}

// rollBack runs the backup at input (an object or a prefix) back into the
// emulator, then verifies it: every row must match. Reports go to
// stem.csv and stem-verify.csv.
func rollBack(t *testing.T, srv *fakeim.Server, url, input, stem string) {
	t.Helper()
	code, _, stderr := runCLI(t, runArgs(url, "--input", input, "--report", stem+".csv")...)
	if code != exitOK {
		t.Fatalf("rollback from %s: exit %d: %s", input, code, stderr)
	}
	code, _, stderr = runCLI(t, append([]string{"verify", "--input", input, "--report", stem + "-verify.csv"}, connArgs(url)...)...)
	if code != exitOK {
		t.Fatalf("verify of the rollback from %s: exit %d: %s", input, code, stderr)
	}
	// Several segments make a report with a file column: the status is
	// found by its name.
	recs := readCSVFile(t, stem+"-verify.csv", "")
	st := slices.Index(recs[0], "status")
	if st < 0 || len(recs) < 2 {
		t.Fatalf("verify of %s: a report of %d lines, header %v", input, len(recs), recs[0])
	}
	for _, rec := range recs[1:] {
		if rec[st] != "match" {
			t.Fatalf("verify of %s: %v", input, rec)
		}
	}
}

// TestBackupInBucketBeforeEveryWrite: every conversation a request
// changes has its backup row in a segment object in the bucket when the
// request reaches the server (the server looks in the bucket itself).
func TestBackupInBucketBeforeEveryWrite(t *testing.T) {
	s3 := startBucket(t)
	dir, in, rows := newInput(t, 74, 800)
	srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, RateLimit: -1})
	before := initialState(t, srv, rows, 4)
	changed := changedConversations(rows, before)
	var mu sync.Mutex
	checked, missing := 0, 0
	inBucket, read := map[convKey]bool{}, map[string]bool{} // segments are never rewritten: each is read once
	hs := checkedServer(t, srv, func(from string, convs []fakeim.Conversation) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range s3.Keys(t, obj(t, "s3://night/b/backup.csv.journal/")) {
			if read[k] {
				continue
			}
			read[k] = true
			recs, err := csv.NewReader(bytes.NewReader(s3.Get(t, obj(t, "s3://night/"+k)))).ReadAll()
			if err != nil {
				t.Errorf("segment %s: %v", k, err)
				return
			}
			for _, rec := range recs[1:] {
				c := fakeim.Conversation{Type: fakeim.C2C, Peer: rec[2]}
				if rec[1] == "group" {
					c = fakeim.Conversation{Type: fakeim.Group, Peer: rec[3]}
				}
				inBucket[convKey{rec[0], c}] = true
			}
		}
		for _, c := range convs {
			if k := (convKey{from, c}); changed[k] {
				checked++
				if !inBucket[k] {
					missing++
				}
			}
		}
	})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--backup", "s3://night/b/backup.csv"}, connArgs(hs.URL)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// Every request, one the tool gave up on included, has been checked.
	hs.Close()
	mu.Lock()
	defer mu.Unlock()
	if checked == 0 || missing != 0 {
		t.Fatalf("%d of %d changed conversations reached the server before their backup row was in the bucket", missing, checked)
	}
}

// TestObjectOutputRefusals: an output that is the input or inside an
// input prefix or glob, or two outputs at one object, are refused before
// anything is read or sent, leaving nothing in --temp-dir.
func TestObjectOutputRefusals(t *testing.T) {
	startBucket(t)
	_, in, _ := newInput(t, 76, 10)
	_, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--input", "s3://night/in/marks.csv", "--report", "s3://night/in/marks.csv"}, "--report s3://night/in/marks.csv is the input"},
		{[]string{"--input", "s3://night/in/", "--report", "s3://night/in/report.csv"}, "is the input (--input s3://night/in/) or inside it"},
		{[]string{"--input", in, "--report", "s3://night/out/r.csv", "--summary", "s3://night/out/r.csv"}, "are the same object"},
		{[]string{"--input", "s3://night/in/*.csv", "--report", "s3://night/in/r.csv"}, "is the input (--input s3://night/in/*.csv) or inside it"},
	} {
		tmp := t.TempDir()
		code, _, stderr := runCLI(t, runArgs(url, append(tc.args, "--temp-dir", tmp)...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q: %s", tc.args, code, tc.want, stderr)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Errorf("%v: a refused run left %d files in --temp-dir", tc.args, len(entries))
		}
	}
}

// TestObjectOutputsInterrupted: Ctrl-C uploads the report of the rows so
// far, commits no state, releases the leases, and says to run again
// rather than --resume.
func TestObjectOutputsInterrupted(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	_, in, _ := newInput(t, 77, 3000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	// The run's requests from the 21st are held until the signal is
	// taken: it cannot end first.
	held := holdFrom(t, url, string(fakeim.MarkContact), 21)
	cmd, out := startRunEnv(t, bin, held.url, s3.Env(), "--input", in, "--temp-dir", t.TempDir(), "--report", "s3://night/r.csv", "--state", "s3://night/state/")
	waitRequests(t, srv, 20)
	cmd.Process.Signal(syscall.SIGINT)
	waitOutput(t, out, "finishing requests in flight")
	held.release()
	if code := exitCode(cmd.Wait()); code != exitInterrupted || !strings.Contains(out.String(), "cannot be resumed: run again") || strings.Contains(out.String(), "run --resume") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// The report accounts for every row (those not sent: unsent), as a
	// local one does; the state is not committed, and the leases are gone.
	if keys := s3.Keys(t, obj(t, "s3://night/")); len(keys) != 1 || keys[0] != "r.csv" {
		t.Fatalf("an interrupted run left %v", keys)
	}
	if rep := string(s3.Get(t, obj(t, "s3://night/r.csv"))); !strings.Contains(rep, ",unsent,") {
		t.Errorf("the report of an interrupted run has no unsent row")
	}
}
