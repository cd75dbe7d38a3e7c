package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"markimport/pipeline/durable/bucket"
	"markimport/readers/objstore/s3test"
	"markimport/sink/fakeim"
)

// bkArgs are the outputs of a run with its report and backup in the
// bucket.
var bkArgs = []string{"--report", "s3://night/r/report.csv", "--rejects", "s3://night/r/rejects.csv", "--backup", "s3://night/b/backup.csv"}

// killWithBackup starts a run with its report and backup in the bucket,
// kills it (SIGKILL) once the backup's journal has at least segs proven
// segments in the bucket, and lets the killed run's leases expire. It
// returns the keys of the backup's journal and of the report's segments.
// The run's last request (rows' last, as planned) is held unanswered
// until the kill, and then dropped, so that the run cannot end before the
// test kills it.
func killWithBackup(t *testing.T, bin string, s3 *s3test.Server, url, in string, rows []testRow, segs int) (backupKeys, reportSegs []string) {
	t.Helper()
	last := holdFrom(t, url, string(fakeim.MarkContact), expect(rows).requests)
	defer last.drop()
	cmd, out := startRunEnv(t, bin, last.url, s3.Env(), append([]string{"--input", in, "--temp-dir", t.TempDir()}, bkArgs...)...)
	exited := make(chan int)
	go func() { exited <- exitCode(cmd.Wait()) }()
	checks := func() int {
		n := 0
		for _, k := range s3.Keys(t, obj(t, "s3://night/b/backup.csv.journal/")) {
			if strings.HasSuffix(k, ".check") {
				n++
			}
		}
		return n
	}
	reportParts := func() int { return len(s3.Keys(t, obj(t, "s3://night/r/report.csv.journal/"))) }
	// The header's check and those of segs segments; the report's record
	// of the input and two segments (a second of results).
	for checks() < segs+1 || reportParts() < 3 {
		select {
		case code := <-exited:
			t.Fatalf("the run ended (exit %d) before its backup's journal had %d segments in the bucket\n%s", code, segs, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cmd.Process.Kill()
	if code := <-exited; code != -1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	last.drop()
	for _, l := range []string{"r/report.csv.lease", "r/rejects.csv.lease", "b/backup.csv.lease"} {
		o := obj(t, "s3://night/"+l)
		var lease map[string]any
		if err := json.Unmarshal(s3.Get(t, o), &lease); err != nil {
			t.Fatal(err)
		}
		lease["expires"] = time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
		b, _ := json.Marshal(lease)
		s3.Put(t, o, b)
	}
	for _, k := range s3.Keys(t, obj(t, "s3://night/r/report.csv.journal/")) {
		if strings.HasSuffix(k, ".csv") {
			reportSegs = append(reportSegs, k)
		}
	}
	return s3.Keys(t, obj(t, "s3://night/b/backup.csv.journal/")), reportSegs
}

// TestBackupInBucketKilledThenResumedElsewhere: a run killed (SIGKILL)
// with its report and backup in the bucket is resumed in a new container
// (another --temp-dir): it exits as an uninterrupted run, sends only what
// the mirrored journal had not confirmed, leaves the emulator exact, and
// the backup it publishes holds the rows of both runs: rolled back from
// the bucket, the emulator is as before the first run.
func TestBackupInBucketKilledThenResumedElsewhere(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	dir, in, rows := newInput(t, 79, 3000)
	var mu sync.Mutex
	items := 0
	count := func(_ string, convs []fakeim.Conversation) { mu.Lock(); items += len(convs); mu.Unlock() }
	sent := func() int { mu.Lock(); defer mu.Unlock(); return items }
	srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, RateLimit: -1, Latency: 10 * time.Millisecond})
	url := serveChecked(t, srv, count)
	before := initialState(t, srv, rows, 6)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	journal, reportSegs := killWithBackup(t, bin, s3, url, in, rows, 3)
	confirmed := mirroredOK(t, s3, reportSegs)
	if confirmed == 0 {
		t.Fatalf("the killed run's mirrored report has no ok conversation: %v", reportSegs)
	}
	sentBefore := sent()

	// The resume: its segments follow the killed run's, each a
	// conditional put (one over a part there would fail the run).
	cmd, out := startRunEnv(t, bin, url, s3.Env(), append([]string{"--input", in, "--temp-dir", t.TempDir(), "--resume"}, bkArgs...)...)
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d, want 1 as an uninterrupted run (invalid rows)\n%s", code, out)
	}
	resumed := sent() - sentBefore
	rep := filepath.Join(dir, "report.csv")
	os.WriteFile(rep, s3.Get(t, obj(t, "s3://night/r/report.csv")), 0o644)
	lines := readReport(t, rep)
	if len(lines) != len(rows) {
		t.Fatalf("the report has %d lines, the input %d rows", len(lines), len(rows))
	}
	checkImportedOver(t, srv, rows, before)
	if keys := s3.Keys(t, obj(t, "s3://night/b/")); strings.Join(keys, " ") != "b/backup.csv b/backup.csv.check" {
		t.Fatalf("after the resume the backup's place holds %v\n%s", keys, out)
	}

	// An uninterrupted run of the same input over the same marks, with a
	// backup: the same report, row by row; the resume sent at most the
	// conversations the killed run's journal did not confirm.
	srv2 := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, RateLimit: -1})
	initialState(t, srv2, rows, 6)
	mu.Lock()
	items = 0
	mu.Unlock()
	whole := filepath.Join(dir, "whole.csv")
	if code, _, stderr := runCLI(t, runArgs(serveChecked(t, srv2, count), "--input", in, "--report", whole, "--backup", filepath.Join(dir, "whole-backup.csv"))...); code != exitSomeNotOK {
		t.Fatalf("uninterrupted: exit %d: %s", code, stderr)
	}
	for row, want := range readReport(t, whole) {
		if got := lines[row]; got.status != want.status || got.code != want.code {
			t.Errorf("row %d: %s %d, an uninterrupted run %s %d", row, got.status, got.code, want.status, want.code)
		}
	}
	if whole := sent(); resumed > whole-confirmed {
		t.Fatalf("the resume sent %d conversations; an uninterrupted run sends %d, of which the killed run's mirrored journal confirmed %d", resumed, whole, confirmed)
	} else {
		t.Logf("the resume sent %d conversations; an uninterrupted run sends %d, of which the killed run confirmed %d (backup journal: %d objects)", resumed, whole, confirmed, len(journal))
	}

	// The finished backup, read from the bucket, restores the emulator as
	// it was before the first run.
	s3.SetEnv(t)
	rollBack(t, srv, url, "s3://night/b/backup.csv", filepath.Join(dir, "rollback"))
	checkRolledBack(t, srv, rows, before)
}

// TestBackupResumeFromBucketRefusesABadJournal: a resume refuses, exit 2,
// naming the object and sending nothing, a backup segment tampered with
// and one missing in the middle.
func TestBackupResumeFromBucketRefusesABadJournal(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	_, in, rows := newInput(t, 80, 4000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	journal, _ := killWithBackup(t, bin, s3, url, in, rows, 3)
	resume := func() (int, string) {
		cmd, out := startRunEnv(t, bin, url, s3.Env(), append([]string{"--input", in, "--temp-dir", t.TempDir(), "--resume"}, bkArgs...)...)
		return exitCode(cmd.Wait()), out.String()
	}
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
	prefix := "s3://night/b/backup.csv.journal/"
	second := obj(t, prefix+bucket.SegmentName(2))
	good := s3.Get(t, second)
	i := bytes.IndexByte(good, '\n') + 1
	tampered := bytes.Clone(good)
	tampered[i] ^= 1 // the first row's user
	s3.Put(t, second, tampered)
	refused("a tampered segment", second.String()+" does not prove itself")
	s3.Put(t, second, good)

	// A segment missing in the middle: one after a gap (the store of the
	// tests deletes nothing).
	n := 0
	for _, k := range journal {
		if strings.HasSuffix(k, ".csv") {
			n++
		}
	}
	// The first part missing is named: the check of the killed run's last
	// segment when the kill came between its two uploads.
	missing := prefix + bucket.SegmentName(n+1)
	if !slices.Contains(journal, "b/backup.csv.journal/"+bucket.CheckName(n)) {
		missing = prefix + bucket.CheckName(n)
	}
	s3.Put(t, obj(t, prefix+bucket.SegmentName(n+2)), good)
	refused("a segment missing in the middle", missing+" is missing")
}
