package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"markimport/sink"
	"markimport/sink/fakeim"
)

// TestKillAndResume kills the real binary with SIGKILL twice in the middle of
// a run, resumes each time, and checks that the final state is exact, every
// row is reported once, and little is sent twice.
func TestKillAndResume(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 6, 5000)
	// Each resumed run signs as an admin of its own, so that its requests
	// are told apart from those of the killed run still on their way.
	srv, _ := startEmulator(t, fakeim.Config{Admins: []string{testAdmin, "admin2", "admin3"}})
	url, arrivalsSince := recordArrivals(t, srv)
	report := filepath.Join(dir, "report.csv")

	cmd, out := startRun(t, bin, url, "--input", in, "--report", report)
	waitRequests(t, srv, 150)
	cmd.Process.Kill()
	cmd.Wait()
	first := srv.Stats().APIs[fakeim.MarkContact].Accepted
	if first == 0 {
		t.Fatalf("nothing was sent before the kill:\n%s", out)
	}

	// The server counts calls per second whoever makes them: a run resumed
	// at once must not put its requests into the killed run's last second.
	// It waits a window after the last departure the killed run recorded.
	resumeAtOnce := func() {
		t.Helper()
		last := lastDeparture(t, report)
		mark := time.Now()
		cmd, out = startRun(t, bin, url, "--input", in, "--report", report, "--resume", "--admin", "admin2")
		waitRequests(t, srv, srv.Stats().APIs[fakeim.MarkContact].Requests+150)
		firsts := arrivalsSince(mark, "admin2")
		if len(firsts) == 0 {
			t.Fatalf("the resumed run sent nothing:\n%s", out)
		}
		if firsts[0].Before(last.Add(sink.NewPacer(200, sink.DefaultMargin).Window())) {
			t.Fatalf("the resumed run's first request arrived %v after the killed run's last departure, want a full window", firsts[0].Sub(last))
		}
	}
	resumeAtOnce()
	cmd.Process.Kill()
	cmd.Wait()
	if second := srv.Stats().APIs[fakeim.MarkContact].Accepted; second <= first {
		t.Fatalf("the first resume sent nothing before its kill:\n%s", out)
	}

	last := lastDeparture(t, report)
	mark := time.Now()
	cmd, out = startRun(t, bin, url, "--input", in, "--report", report, "--resume", "--admin", "admin3")
	defer func() {
		switch firsts := arrivalsSince(mark, "admin3"); {
		case len(firsts) == 0:
			t.Errorf("the last resume sent nothing")
		case firsts[0].Before(last.Add(sink.NewPacer(200, sink.DefaultMargin).Window())):
			t.Errorf("the last resume's first request arrived %v after the killed run's last departure, want a full window", firsts[0].Sub(last))
		}
	}()
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("final resume: exit %d, want 1 (invalid rows)\n%s", code, out)
	}
	checkImport(t, srv, rows, report)
	// Each kill may lose what was in flight and up to a second of report
	// lines (the report is made durable every second): at most about two
	// seconds of requests are sent again per kill.
	e := expect(rows)
	sent := srv.Stats().APIs[fakeim.MarkContact].Accepted
	if extra := int(sent) - e.requests; extra > 2*2*200 {
		t.Errorf("%d requests for a plan of %d: %d sent again", sent, e.requests, extra)
	}
}

// recordArrivals serves srv on another loopback address that notes when
// each request arrives (when the kernel received it: on a busy machine a
// handler runs late, and the killed run's last request would seem to come
// after the resumed run started) and whose admin signed it; since(t,
// admin) returns the arrivals of admin's requests after t, in order.
func recordArrivals(t *testing.T, srv *fakeim.Server) (string, func(time.Time, string) []time.Time) {
	type arrival struct {
		at    time.Time
		admin string
	}
	var mu sync.Mutex
	var arrivals []arrival
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := srv.Arrival(r)
		mu.Lock()
		arrivals = append(arrivals, arrival{at, r.URL.Query().Get("identifier")})
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	hs.Listener = srv.Listener(hs.Listener)
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.URL, func(after time.Time, admin string) []time.Time {
		mu.Lock()
		defer mu.Unlock()
		var out []time.Time
		for _, a := range arrivals {
			if a.at.After(after) && a.admin == admin {
				out = append(out, a.at)
			}
		}
		slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
		return out
	}
}

// lastDeparture reads the departure a run recorded last beside its report.
func lastDeparture(t *testing.T, report string) time.Time {
	t.Helper()
	b, err := os.ReadFile(report + ".pace")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("pace file %q: %v", b, err)
	}
	return time.Unix(0, ns)
}

// TestInterruptAndResume sends SIGINT: the run stops sending, reports every
// row (unsent for the rest), prints how to resume and exits 130.
func TestInterruptAndResume(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 7, 4000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 50 * time.Millisecond})
	report := filepath.Join(dir, "report.csv")

	stopBySignal(t, bin, srv, url, 100, syscall.SIGINT, "--input", in, "--report", report)
	// The run stopped planning at once: the report holds the rows planned
	// by then, those sent ok and the rest unsent; the rows never planned
	// have no line yet (--resume plans the whole file again).
	rep := readReport(t, report)
	e := expect(rows)
	ok, unsent := 0, 0
	for row, l := range rep {
		switch l.status {
		case "ok":
			ok++
		case "unsent":
			unsent++
		}
		if want := e.status[row]; l.status != want && !(want == "ok" && l.status == "unsent") {
			t.Fatalf("row %d: %s, want %s", row, l.status, want)
		}
	}
	if ok == 0 || unsent == 0 && len(rep) == len(rows) {
		t.Fatalf("%d ok, %d unsent, %d of %d rows reported: the interrupt did not stop the run midway", ok, unsent, len(rep), len(rows))
	}
	cmd, out := startRun(t, bin, url, "--input", in, "--report", report, "--resume")
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	checkImport(t, srv, rows, report)
}

// TestResumeRefusesAChangedInput: the report remembers its input.
func TestResumeRefusesAChangedInput(t *testing.T) {
	dir, in, rows := newInput(t, 8, 200)
	_, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "report.csv")
	args := []string{"run", "--input", in, "--report", report, "--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet"}
	if code, _, stderr := runCLI(t, args...); code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	writeCSV(t, in, rows[1:])
	code, _, stderr := runCLI(t, append(args, "--resume")...)
	if code != exitUsage || !strings.Contains(stderr, "changed since the report") {
		t.Fatalf("exit %d, stderr %q; want 2 and a message that the input changed", code, stderr)
	}
	// Another file is not called a change of the report's input: the
	// message names both.
	other := filepath.Join(dir, "other.csv")
	writeCSV(t, other, rows[2:])
	code, _, stderr = runCLI(t, "run", "--input", other, "--report", report, "--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--resume")
	if code != exitUsage || !strings.Contains(stderr, "was started on the input "+in) || !strings.Contains(stderr, "--input "+other+" is another file") || strings.Contains(stderr, "changed since") {
		t.Fatalf("another file: exit %d, stderr %q", code, stderr)
	}
}

// TestSecondSignalExitsAtOnce: a second SIGINT does not wait for requests
// in flight; the report it leaves is resumable. The requests past the
// first 50 are held unanswered until the process is gone: a second signal
// that waited for them would never end it.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 13, 3000)
	g := startGated(t, 50)
	srv, url := g.srv, g.url
	report := filepath.Join(dir, "report.csv")
	// --timeout 5m: the run's own wait for the requests held would outlast
	// the test's bound on the second signal.
	cmd, out := startRun(t, bin, url, "--input", in, "--report", report, "--timeout", "5m")
	waitRequests(t, srv, 50) // the next are held: in flight
	cmd.Process.Signal(syscall.SIGINT)
	// The second signal comes once the first was taken: two sent at once
	// may reach the process as one.
	waitOutput(t, out, "finishing requests in flight")
	cmd.Process.Signal(syscall.SIGINT)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var code int
	select {
	case err := <-exited:
		code = exitCode(err)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the second signal did not end the process in 30 s: it waits for the requests in flight\n%s", out)
	}
	if code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, out)
	}
	// The requests held are dropped, never applied, once their
	// connections are closed.
	g.drain(t)
	cmd, out = startRun(t, bin, url, "--input", in, "--report", report, "--resume")
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	checkImport(t, srv, rows, report)
}
