package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
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

// segGate serves an emulator to the runs killInBucket kills, so that
// such a run cannot end before it is killed however slow the machine is.
// Armed for a run, it lets that run's requests through in stages of
// gateStage, the next stage once the bucket holds one more of the
// journal's segments than when the stage before was let through
// (killInBucket tells it what it sees), and holds the requests after the
// stage whose lines make the last segment wanted. A stage's answers make
// at least one more segment at the next checkpoint, so the run's
// segments grow one stage at a time and its last requests wait for the
// kill. Once disarmed, the requests it held, and any the killed run
// still had on its way on its connections, are dropped (never applied,
// as requests lost with a killed run); unarmed, it lets every other
// request through.
type segGate struct {
	next http.Handler
	url  string

	mu       sync.Mutex
	cond     *sync.Cond
	epoch    int // how many runs it was armed for
	armed    int // the epoch of the run it is armed for; 0 when unarmed
	arrived  int // the armed run's requests so far
	base     int // the segments in the bucket when it was armed
	need     int // the segments the armed run is killed at
	segments int // the segments in the bucket, as last seen
}

// gateStage is how many requests segGate lets through per segment.
const gateStage = 20

// gateEpochKey keys, in a connection's context, the epoch the gate was
// armed for when the connection was accepted.
type gateEpochKey struct{}

// startSegGate serves next behind an unarmed segGate on loopback.
func startSegGate(t *testing.T, next http.Handler) *segGate {
	t.Helper()
	g := &segGate{next: next}
	g.cond = sync.NewCond(&g.mu)
	hs := httptest.NewUnstartedServer(g)
	hs.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		g.mu.Lock()
		defer g.mu.Unlock()
		return context.WithValue(ctx, gateEpochKey{}, g.armed)
	}
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(g.disarm) // before Close, which waits for the requests held
	g.url = hs.URL
	return g
}

// ServeHTTP lets the request through, holds it or drops it.
func (g *segGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	run, _ := r.Context().Value(gateEpochKey{}).(int)
	g.mu.Lock()
	if run != 0 && run == g.armed {
		g.arrived++
		stage := (g.arrived - 1) / gateStage
		for run == g.armed && (g.base+stage >= g.need || g.segments < g.base+stage) {
			g.cond.Wait()
		}
	}
	dropped := run != 0 && run != g.armed
	g.mu.Unlock()
	if dropped {
		return
	}
	g.next.ServeHTTP(w, r)
}

// arm makes the gate hold the next run's requests as the bucket holds
// segments of the journal and that run is to be killed at need.
func (g *segGate) arm(segments, need int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	g.armed, g.arrived, g.base, g.need, g.segments = g.epoch, 0, segments, need, segments
	g.cond.Broadcast()
}

// saw tells the gate the bucket holds segments of the journal.
func (g *segGate) saw(segments int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.segments = segments
	g.cond.Broadcast()
}

// disarm, once the armed run is dead, drops its requests.
func (g *segGate) disarm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = 0
	g.cond.Broadcast()
}

// journalSegments is how many segments keys, the objects under the
// report's journal prefix, hold: all but the record of the input.
func journalSegments(keys []string) int { return max(len(keys)-1, 0) }

// killInBucket starts a run through g with its report, rejects and
// summary in the bucket, kills it (SIGKILL) once the report's journal has
// at least segs segments in the bucket, and lets the killed run's leases
// expire (as two minutes would). It returns the segment keys. extra are
// more flags of the run (--resume: the run killed is a resume).
func killInBucket(t *testing.T, bin string, s3 *s3test.Server, g *segGate, in string, segs int, extra ...string) []string {
	t.Helper()
	keys := s3.Keys(t, obj(t, "s3://night/r/report.csv.journal/"))
	g.arm(journalSegments(keys), segs)
	cmd, out := startRunEnv(t, bin, g.url, s3.Env(), append([]string{"--input", in, "--temp-dir", t.TempDir(),
		"--report", "s3://night/r/report.csv", "--rejects", "s3://night/r/rejects.csv", "--summary", "s3://night/r/summary.json"}, extra...)...)
	exited := make(chan int)
	go func() { exited <- exitCode(cmd.Wait()) }()
	for journalSegments(keys) < segs {
		select {
		case code := <-exited:
			t.Fatalf("the run ended (exit %d) before its journal had %d segments in the bucket: %v\n%s", code, segs, keys, out)
		case <-time.After(20 * time.Millisecond):
		}
		keys = s3.Keys(t, obj(t, "s3://night/r/report.csv.journal/"))
		g.saw(journalSegments(keys))
	}
	cmd.Process.Kill()
	if code := <-exited; code != -1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	g.disarm()
	keys = s3.Keys(t, obj(t, "s3://night/r/report.csv.journal/"))
	if journalSegments(keys) < segs {
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
	// The checked emulator, behind the gate while the run is killed.
	g := startSegGate(t, checkedHandler(srv, count))
	url := g.url
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	segs := killInBucket(t, bin, s3, g, in, 2)
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
	g := startSegGate(t, srv)
	first := killInBucket(t, bin, s3, g, in, 2)
	second := killInBucket(t, bin, s3, g, in, len(first)+1, "--resume")
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
	segs := killInBucket(t, bin, s3, startSegGate(t, srv), in, 3)
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
