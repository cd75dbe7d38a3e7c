package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"markimport/pipeline/report"
	"markimport/pipeline/report/reporttest"
	"markimport/sink/fakeim"
)

// provenLength is how many bytes of the journal its last checkpoint
// vouches for (the first 20 digits of the checkpoints file's last record).
func provenLength(t *testing.T, journal string) int {
	t.Helper()
	b, err := os.ReadFile(journal + ".checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	const rec = 60
	last := b[len(b)/rec*rec-rec:]
	n, err := strconv.Atoi(string(last[:20]))
	if err != nil {
		t.Fatalf("checkpoints %q: %v", last, err)
	}
	return n
}

// provenSoFar is provenLength of a journal that may not have been
// checkpointed yet (0 then).
func provenSoFar(journal string) int {
	b, err := os.ReadFile(journal + ".checkpoints")
	const rec = 60
	if err != nil || len(b) < rec {
		return 0
	}
	n, _ := strconv.Atoi(string(b[len(b)/rec*rec-rec:][:20]))
	return n
}

// gated is a strict emulator (startEmulator's) behind a gate that holds
// every request past the first few until drain, so that a run cannot end
// before the test kills it.
type gated struct {
	srv  *fakeim.Server
	url  string
	hold chan struct{} // closed by drain

	mu       sync.Mutex
	arrived  int
	pass     int  // requests let through before the gate holds
	dropping bool // from drain until the last connection closed
	conns    map[net.Conn]bool
}

func startGated(t *testing.T, pass int) *gated {
	t.Helper()
	g := &gated{pass: pass, hold: make(chan struct{}), conns: map[net.Conn]bool{}}
	g.srv = fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey})
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.arrived++
		held := g.pass > 0 && g.arrived > g.pass
		g.mu.Unlock()
		if held {
			<-g.hold
		}
		g.mu.Lock()
		drop := g.dropping
		g.mu.Unlock()
		if held || drop {
			return // never applied, as a request lost with a killed run
		}
		g.srv.ServeHTTP(w, r)
	}))
	hs.Config.ConnState = func(c net.Conn, s http.ConnState) {
		g.mu.Lock()
		defer g.mu.Unlock()
		switch s {
		case http.StateNew:
			g.conns[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(g.conns, c)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(func() { g.release() })
	g.url = hs.URL
	return g
}

func (g *gated) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pass > 0 {
		g.pass = 0
		close(g.hold)
	}
}

// drain, once the run that sent them is dead, drops the requests held and
// any still arriving until every connection has closed (a connection's
// requests are read and answered before it closes), then lets every
// request through.
func (g *gated) drain(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	g.dropping = true
	g.mu.Unlock()
	g.release()
	for {
		g.mu.Lock()
		open := len(g.conns)
		if open == 0 {
			g.dropping = false
		}
		g.mu.Unlock()
		if open == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestResumeRefusesADamagedJournal: the journal a killed run left, with one
// digit of a row changed in what it had made durable, is refused by run
// --resume (exit 2, naming the file, the line, and --overwrite), and
// nothing is sent; so is a finished report with a changed byte. Put back
// as it was, the journal resumes and the import ends exact.
func TestResumeRefusesADamagedJournal(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 62, 3000)
	// The run is held after 150 requests, so that it cannot end before
	// the kill however slow the machine is.
	g := startGated(t, 150)
	srv, url := g.srv, g.url
	report := filepath.Join(dir, "report.csv")
	journal := report + ".journal.csv"

	cmd, out := startRun(t, bin, url, "--input", in, "--report", report)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	// Past at least one checkpoint with ok lines in it.
	for n := 0; n < 4096; n = provenSoFar(journal) {
		select {
		case <-exited:
			t.Fatalf("the run ended before its journal was checkpointed:\n%s", out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cmd.Process.Kill()
	<-exited
	// Requests of the killed run still on their way are dropped, until
	// its last connection has closed: none can reach the emulator after.
	g.drain(t)
	good, err := os.ReadFile(journal)
	if err != nil {
		t.Fatalf("no journal after the kill: %v\n%s", err, out)
	}
	// The last ok line the checkpoints vouch for: its row number's last
	// digit changed, so that it names another row.
	proven := good[:provenLength(t, journal)]
	at := bytes.LastIndex(proven, []byte(",ok,0,,"))
	start := bytes.LastIndexByte(proven[:at], '\n') + 1
	comma := start + bytes.IndexByte(proven[start:], ',')
	bad := bytes.Clone(good)
	bad[comma-1] = "1234567890"[bad[comma-1]-'0']
	line := bytes.Count(good[:start], []byte("\n")) + 1
	os.WriteFile(journal, bad, 0o644)

	sent := srv.Stats().APIs[fakeim.MarkContact].Requests
	resume := []string{"--input", in, "--report", report, "--resume"}
	cmd, out = startRun(t, bin, url, resume...)
	code := exitCode(cmd.Wait())
	msg := out.String()
	if code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s", code, msg)
	}
	for _, w := range []string{journal + " is not what markimport wrote", "changed at or before line", "--overwrite"} {
		if !strings.Contains(msg, w) {
			t.Errorf("the message does not say %q:\n%s", w, msg)
		}
	}
	if at := strings.Index(msg, "changed at or before line "); at >= 0 {
		if n, _ := strconv.Atoi(strings.TrimRight(strings.Fields(msg[at+len("changed at or before line "):])[0], ":,")); n < line {
			t.Errorf("the message says line %d, the change is on line %d", n, line)
		}
	}
	if now := srv.Stats().APIs[fakeim.MarkContact].Requests; now != sent {
		t.Errorf("%d requests sent by the refused resume", now-sent)
	}
	if b, _ := os.ReadFile(journal); !bytes.Equal(b, bad) {
		t.Error("the refused resume changed the journal")
	}

	os.WriteFile(journal, good, 0o644)
	cmd, out = startRun(t, bin, url, resume...)
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume of the journal as it was: exit %d\n%s", code, out)
	}
	checkImport(t, srv, rows, report)

	// The finished report proves itself too.
	rep, _ := os.ReadFile(report)
	i := bytes.Index(rep, []byte(",ok,"))
	bad = bytes.Clone(rep)
	bad[i-1] ^= 1 // the last character of a peer
	os.WriteFile(report, bad, 0o644)
	cmd, out = startRun(t, bin, url, resume...)
	if code := exitCode(cmd.Wait()); code != exitUsage || !strings.Contains(out.String(), report+" is not what markimport wrote") || !strings.Contains(out.String(), report+".meta.json") {
		t.Fatalf("a changed finished report: exit %d, want 2 naming it\n%s", code, out)
	}
}

// TestFullDiskStopsTheRun: the report's folder is a small tmpfs that fills
// up in the middle of a run: the run stops (exit 3, summary stopped
// "report") with a message naming the journal on disk and saying to free
// space and --resume; the emulator took fewer requests than planned (the
// pipeline's TestNoRequestLeavesAfterTheReportFails proves that none left
// after the failure); once space is freed, --resume ends the import exact.
func TestFullDiskStopsTheRun(t *testing.T) {
	dir, in, rows := newInput(t, 63, 10000)
	disk := filepath.Join(t.TempDir(), "disk")
	os.Mkdir(disk, 0o755)
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): pipeline's TestNoRequestLeavesAfterTheReportFails is the guarantee", err)
	}
	t.Cleanup(func() { syscall.Unmount(disk, 0) })
	// The disk filled, then 150 KiB freed: room for about half the
	// journal.
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 4096))
	}
	st, _ := f.Stat()
	f.Truncate(st.Size() - 150<<10)
	f.Close()
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, summary := filepath.Join(disk, "report.csv"), filepath.Join(dir, "summary.json")
	args := append([]string{"run", "--input", in, "--report", report, "--summary", summary, "--rate", "1000", "--concurrency", "16", "--quiet"}, connArgs(url)...)
	code, _, stderr := runCLI(t, args...)
	if code != exitFatal {
		t.Fatalf("exit %d, want 3: %s", code, stderr)
	}
	journal := report + ".journal.csv"
	for _, w := range []string{"cannot write " + journal + ": write: no space left on device", "Free space", "--resume"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("the message does not say %q: %s", w, stderr)
		}
	}
	if _, err := os.Stat(journal); err != nil {
		t.Errorf("the journal the message names: %v", err)
	}
	if _, err := os.Stat(report); err == nil {
		t.Error("a report was made of the broken journal")
	}
	sum := readSummary(t, summary)
	e := expect(rows)
	if sum["stopped"] != "report" || sum["exit_code"] != float64(exitFatal) {
		t.Errorf("summary: stopped %v, exit_code %v", sum["stopped"], sum["exit_code"])
	}
	if took := srv.Stats().APIs[fakeim.MarkContact].Accepted; took == 0 || took >= int64(e.requests) {
		t.Errorf("the emulator took %d of %d requests: the disk did not fill in the middle", took, e.requests)
	}

	os.Remove(filler)
	args = append(args, "--resume")
	if code, _, stderr := runCLI(t, args...); code != exitSomeNotOK {
		t.Fatalf("resume after freeing space: exit %d: %s", code, stderr)
	}
	checkImport(t, srv, rows, report)
}

// TestResumeRefusesRowsOfAnotherInput: a journal that proves itself and
// names this input, but whose ok row is another conversation than the
// input's row (row numbers that mean another file's rows), is refused by
// run --resume with exit 2, naming the row and both conversations, before
// anything is sent.
func TestResumeRefusesRowsOfAnotherInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,to_account,set_mark\nalice,bob,1\nalice,carol,2\n"), 0o644)
	rep := filepath.Join(dir, "report.csv")
	files := reporttest.KilledJournal(t, rep, in,
		report.Line{Row: 2, From: "alice", Type: "c2c", Peer: "bob", Status: report.StatusOK, Attempts: 1})
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", rep, "--resume", "--quiet"}, connArgs(url)...)...)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	for _, w := range []string{"row 2 is ok in the report " + files.Journal, `peer "bob"`, `the input has from_account "alice", type "c2c", peer "carol" there`, "--overwrite", "Nothing was sent."} {
		if !strings.Contains(stderr, w) {
			t.Errorf("the message does not say %q: %s", w, stderr)
		}
	}
	if n := srv.Stats().APIs[fakeim.MarkContact].Requests; n > 0 {
		t.Errorf("%d requests sent", n)
	}
}
