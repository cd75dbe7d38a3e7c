package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
	"markimport/sink/fakeim"
)

// Inputs in a bucket that fails or hangs, end to end: --rejects of an
// input in a bucket, a stream cut short, and Ctrl-C while a read waits.

// TestS3RejectsAreThoseOfLocalFiles: run --rejects on DuckDB's Hive
// export of Parquet files read from the bucket writes the rejects file
// that the same files on local disk give, byte for byte.
func TestS3RejectsAreThoseOfLocalFiles(t *testing.T) {
	startLakeBucket(t)
	dir := t.TempDir()
	local := filepath.Join("..", "..", "testdata", "lake", "duckdb_hive_parquet")
	rejects := func(name, input string) []byte {
		t.Helper()
		rej := filepath.Join(dir, name+"-rejects.parquet")
		code, _, stderr := runCLI(t, "run", "--fake", "--fake-state", filepath.Join(dir, name+"-im.json"), "--input", input,
			"--report", filepath.Join(dir, name+"-report.csv"), "--rejects", rej, "--quiet")
		if code != exitSomeNotOK { // the rows of the null partition are invalid
			t.Fatalf("%s: exit %d: %s", input, code, stderr)
		}
		return readBytes(t, rej)
	}
	s3, loc := rejects("s3", "s3://lake/exports/duckdb_hive_parquet/"), rejects("local", local)
	if !bytes.Equal(s3, loc) {
		t.Fatalf("the rejects file of the bucket's input (%d bytes) differs from that of the local files (%d bytes)", len(s3), len(loc))
	}
}

// marksCSV is a CSV of n valid rows of 20 users.
func marksCSV(n int) []byte {
	var b strings.Builder
	b.WriteString("from_account,type,to_account,set_mark\n")
	for i := range n {
		b.WriteString("user" + strconv.Itoa(i%20) + ",1,peer" + strconv.Itoa(i) + ",\"[1]\"\n")
	}
	return []byte(b.String())
}

// TestS3StreamCutShortIsAnInputError: the connection drops halfway
// through a CSV object: the run exits as for an unreadable input (2),
// naming the object and the break, sends nothing, and leaves no report
// claiming rows (the report is written only for an input read whole).
func TestS3StreamCutShortIsAnInputError(t *testing.T) {
	srv := startLakeBucket(t)
	srv.Put(t, objstore.Location{Bucket: "lake", Key: "cut/marks.csv"}, marksCSV(20000))
	dir := t.TempDir()
	report := filepath.Join(dir, "report.csv")
	srv.Inject(s3test.Drop, 1, s3test.Streamed)
	im := filepath.Join(dir, "im.json")
	code, _, stderr := runCLI(t, "run", "--fake", "--fake-state", im, "--input", "s3://lake/cut/marks.csv", "--report", report, "--quiet")
	if code != exitUsage || !strings.Contains(stderr, "s3://lake/cut/marks.csv") || !strings.Contains(stderr, "the stream broke after") {
		t.Fatalf("exit %d, stderr %q; want 2, naming the object and the break", code, stderr)
	}
	if _, err := os.Stat(report); err == nil {
		lines := strings.Count(string(readBytes(t, report)), "\n")
		t.Fatalf("a report of %d lines for an input that was not read whole", lines)
	}
	if st, err := os.ReadFile(im); err == nil && bytes.Contains(st, []byte("user1")) {
		t.Fatalf("the emulator holds marks after an input error: %.200s", st)
	}
	// The same input read whole is imported.
	code, _, stderr = runCLI(t, "run", "--fake", "--input", "s3://lake/cut/marks.csv", "--report", report, "--quiet")
	if code != exitOK {
		t.Fatalf("the object read whole: exit %d: %s", code, stderr)
	}
	if got := strings.Count(string(readBytes(t, report)), "\n"); got != 20001 {
		t.Fatalf("the report of the whole object has %d lines, want 20001", got)
	}
}

// TestS3InterruptWhileABucketHangs: Ctrl-C stops a run whose read waits
// on a bucket that stopped answering (half a CSV object sent, the rest
// held for ever): in the process, the run returns 130, also when the
// bucket hangs while it is listed or before it answers; the binary exits
// 130 on SIGINT and has sent nothing.
func TestS3InterruptWhileABucketHangs(t *testing.T) {
	srv := startLakeBucket(t)
	srv.Put(t, objstore.Location{Bucket: "lake", Key: "slow/marks.csv"}, marksCSV(20000))
	dir := t.TempDir()
	args := []string{"--input", "s3://lake/slow/marks.csv", "--report", filepath.Join(dir, "report.csv")}

	// In the process: a bucket that hangs while it is listed (before the
	// run starts), before a stream's answer (while the input is opened),
	// and halfway through the stream (while it is read).
	listing := func(r *http.Request) bool { return r.URL.Query().Get("list-type") != "" }
	for _, tc := range []struct {
		name  string
		input string
		fault s3test.Fault
		match func(*http.Request) bool
	}{
		{"listing", "s3://lake/slow/", s3test.Stall, listing},
		{"no answer", "s3://lake/slow/marks.csv", s3test.Stall, s3test.Streamed},
		{"half a body", "s3://lake/slow/marks.csv", s3test.StallBody, s3test.Streamed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Inject(tc.fault, 1, tc.match)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			var stderr string
			go func() {
				var code int
				code, _, stderr = runCLIContext(t, ctx, "run", "--fake", "--quiet", "--overwrite", "--input", tc.input, "--report", filepath.Join(dir, "report.csv"))
				done <- code
			}()
			waitHeld(t, srv, done)
			cancel()
			if code := waitExit(t, done); code != exitInterrupted {
				t.Fatalf("exit %d, want 130: %s", code, stderr)
			}
		})
	}

	t.Run("binary", func(t *testing.T) {
		bin := buildBinary(t)
		im, url := startEmulator(t, fakeim.Config{})
		srv.Inject(s3test.StallBody, 1, s3test.Streamed)
		cmd, out := startRunEnv(t, bin, url, srv.Env(), append(args, "--overwrite")...)
		exited := make(chan int, 1)
		go func() { exited <- exitCode(cmd.Wait()) }()
		waitHeld(t, srv, exited)
		cmd.Process.Signal(syscall.SIGINT)
		if code := waitExit(t, exited); code != exitInterrupted {
			t.Fatalf("exit %d, want 130\n%s", code, out)
		}
		if n := im.Stats().Requests; n != 0 {
			t.Fatalf("%d requests sent before the input was read", n)
		}
	})
}

// waitHeld waits until the bucket holds a read, failing if the run ended
// first.
func waitHeld(t *testing.T, srv *s3test.Server, done <-chan int) {
	t.Helper()
	select {
	case r := <-srv.Held():
		t.Logf("the bucket holds %s %s", r.Method, r.URL)
	case code := <-done:
		t.Fatalf("the run ended (exit %d) before the bucket held its read", code)
	}
}

// waitExit waits for the exit code of a run that was interrupted, for at
// most hangBound: a run still waiting after that is stuck on the bucket.
func waitExit(t *testing.T, done <-chan int) int {
	t.Helper()
	const hangBound = 30 * time.Second
	select {
	case code := <-done:
		return code
	case <-time.After(hangBound):
		t.Fatalf("the run still waits on the bucket %v after the interrupt", hangBound)
	}
	return 0
}
