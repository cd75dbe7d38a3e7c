package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"markimport/readers/objstore/s3test"
	"markimport/sink/fakeim"
)

// TestObjectOutputsLeaseTaken: a run whose report's lease is taken by
// another run meanwhile (its own lapsed, or a store that ignored the
// condition) publishes nothing there and commits no state: the report,
// the summary and the state's manifest are not in the bucket, the other
// run's lease is left as it is, and the message says whose it is now.
func TestObjectOutputsLeaseTaken(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	_, in, _ := newInput(t, 78, 3000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	cmd, out := startRunEnv(t, bin, url, s3.Env(), "--input", in, "--temp-dir", t.TempDir(),
		"--report", "s3://night/r.csv", "--summary", "s3://night/s.json", "--state", "s3://night/state/")
	waitRequests(t, srv, 20)
	other := []byte(`{"owner":"markimport pid 1 on elsewhere","expires":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`)
	s3.Put(t, obj(t, "s3://night/r.csv.lease"), other)
	code := exitCode(cmd.Wait())
	if code != exitSomeNotOK || !strings.Contains(out.String(), "lost the lease") || !strings.Contains(out.String(), "held by markimport pid 1 on elsewhere") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, k := range s3.Keys(t, obj(t, "s3://night/")) {
		if k == "r.csv" || k == "s.json" || strings.HasPrefix(k, "state/manifest-") {
			t.Errorf("a run that lost its lease published %s", k)
		}
	}
	if b := s3.Get(t, obj(t, "s3://night/r.csv.lease")); !bytes.Equal(b, other) {
		t.Errorf("the other run's lease was replaced or deleted: %s", b)
	}
}
