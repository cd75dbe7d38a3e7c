package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"markimport/readers/objstore/s3test"
	"markimport/sink/fakeim"
)

// TestObjectOutputsLeaseTaken: a run whose report's lease is taken by
// another run meanwhile (its own lapsed, or a store that ignored the
// condition), ending before a renewal notices, publishes nothing there
// and commits no state (exit 3): the report, the summary and the state's
// manifest are not in the bucket, the other run's lease is left as it
// is, and the message says whose it is now.
func TestObjectOutputsLeaseTaken(t *testing.T) {
	bin := buildBinary(t)
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	_, in, _ := newInput(t, 78, 3000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	other := []byte(`{"owner":"markimport pid 1 on elsewhere","expires":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`)
	// Once the run has sent 20 requests, the other run takes the lease
	// just before this run next reads it (before it publishes), not at a
	// time of the test's own, which could come after that read.
	lease, put := obj(t, "s3://night/r.csv.lease"), make(chan error, 1)
	store := s3.Store(t)
	s3.Before(func(r *http.Request) bool {
		return s3test.Reads(lease)(r) && srv.Stats().APIs[fakeim.MarkContact].Requests >= 20
	}, func() { put <- store.Put(context.Background(), lease, other, false) })
	cmd, out := startRunEnv(t, bin, url, s3.Env(), "--input", in, "--temp-dir", t.TempDir(),
		"--report", "s3://night/r.csv", "--summary", "s3://night/s.json", "--state", "s3://night/state/")
	code := exitCode(cmd.Wait())
	select {
	case err := <-put:
		if err != nil {
			t.Fatalf("the other run's lease could not be put: %v", err)
		}
	default:
		t.Fatalf("the run never read its lease after 20 requests (exit %d)\n%s", code, out)
	}
	if code != exitFatal || !strings.Contains(out.String(), "lost the lease") || !strings.Contains(out.String(), "held by markimport pid 1 on elsewhere") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// Every upload is refused for the one loss, said in full by the step
	// that met it and at the end, not once for each.
	if n := strings.Count(out.String(), "lost the lease:"); n > 2 {
		t.Errorf("the loss said %d times\n%s", n, out)
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

// TestObjectOutputsLeaseLostStopsSending: a lease taken by another run
// while this one sends stops the sending at the next renewal, as a fatal
// answer does: exit 3, stopped "lease", the rows not sent unsent, fewer
// requests than planned, and nothing published.
func TestObjectOutputsLeaseLostStopsSending(t *testing.T) {
	s3 := s3test.Start(t)
	s3.MakeBucket(t, "night")
	s3.SetEnv(t)
	_, in, _ := newInput(t, 79, 3000)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	other := []byte(`{"owner":"markimport pid 1 on elsewhere","expires":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`)
	put := make(chan int64, 1)
	store, lease := s3.Store(t), obj(t, "s3://night/r.csv.lease")
	// Once the run has sent 20 requests, the other run takes the report's
	// lease just before this run's next read of it: the next renewal
	// (every second, and at --rate 20 the run has some 18 s of sending
	// left). Put at a time of its own, it could land between a renewal's
	// read and its put, which would replace it; the other run, a real
	// one, would then find its own lease taken at its next renewal.
	s3.Before(func(r *http.Request) bool {
		return s3test.Reads(lease)(r) && srv.Stats().APIs[fakeim.MarkContact].Requests >= 20
	}, func() {
		n := srv.Stats().APIs[fakeim.MarkContact].Requests
		if err := store.Put(context.Background(), lease, other, false); err != nil {
			n = -2
		}
		put <- n
	})
	dir := t.TempDir()
	code, stdout, stderr := runCLIHooked(t, context.Background(), hooks{leaseTTL: 3 * time.Second},
		runArgs(url, "--input", in, "--temp-dir", dir, "--rate", "20", "--report", "s3://night/r.csv", "--summary", dir+"/s.json")...)
	select {
	case n := <-put:
		if n < 0 {
			t.Fatalf("the other run's lease could not be put")
		}
	default:
		t.Fatalf("the run never read its lease after 20 requests\n%s%s", stdout, stderr)
	}
	if code != exitFatal || !strings.Contains(stderr, "stopped: lost the lease") || !strings.Contains(stderr, "held by markimport pid 1 on elsewhere") || strings.Contains(stderr, "full disk") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var sum struct {
		Stopped  string           `json:"stopped"`
		Statuses map[string]int64 `json:"statuses"`
		Planned  int64            `json:"requests_planned"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dir+"/s.json")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Stopped != "lease" || sum.Statuses["unsent"] == 0 {
		t.Errorf("stopped %q with %d rows unsent: want the lease, and rows unsent", sum.Stopped, sum.Statuses["unsent"])
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got >= sum.Planned {
		t.Errorf("the emulator took %d requests of %d planned: the sending did not stop", got, sum.Planned)
	}
	for _, k := range s3.Keys(t, obj(t, "s3://night/")) {
		if k == "r.csv" {
			t.Errorf("a run that lost its lease published %s", k)
		}
	}
	if b := s3.Get(t, obj(t, "s3://night/r.csv.lease")); !bytes.Equal(b, other) {
		t.Errorf("the other run's lease was replaced or deleted: %s", b)
	}
	// The report's journal is copied to the bucket up to the loss, not
	// after (its prefix may be the other run's now): no copy holds a row
	// reported unsent because of it.
	for _, k := range s3.Keys(t, obj(t, "s3://night/r.csv.journal/")) {
		if b := s3.Get(t, obj(t, "s3://night/"+k)); bytes.Contains(b, []byte("lost the lease")) {
			t.Errorf("%s, copied after the lease was lost, holds rows reported unsent because of it", k)
		}
	}
}
