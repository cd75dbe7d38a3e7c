package main

import (
	"bufio"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// TestHangupStopsLikeInterrupt: SIGHUP (a terminal or an SSH session that
// went away) stops the run as Ctrl-C does: exit 130, the report flushed,
// and --resume ends it exact.
func TestHangupStopsLikeInterrupt(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 91, 4000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 50 * time.Millisecond})
	report := filepath.Join(dir, "report.csv")
	stopBySignal(t, bin, srv, url, 50, syscall.SIGHUP, "--input", in, "--report", report)
	ok := 0
	for _, l := range readReport(t, report) {
		if l.status == "ok" {
			ok++
		}
	}
	if ok == 0 {
		t.Fatal("the report of the stopped run holds no ok row")
	}
	cmd, out := startRun(t, bin, url, "--input", in, "--report", report, "--resume")
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	checkImport(t, srv, rows, report)
}

// TestClosedOutputNeverStopsTheRun: stdout and stderr are one pipe whose
// reader goes away after the first line (`2>&1 | head -1`). The run goes
// on to its end (the exit code of a run nobody watched), its report is
// exact, and its summary notes that output was lost.
func TestClosedOutputNeverStopsTheRun(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 92, 3000)
	srv, url := startEmulator(t, fakeim.Config{Latency: 20 * time.Millisecond})
	report, summary := filepath.Join(dir, "report.csv"), filepath.Join(dir, "s.json")
	cmd := exec.Command(bin, "run", "--input", in, "--report", report, "--summary", summary, "--endpoint", url,
		"--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--progress-every", "20ms")
	cmd.Env = append(os.Environ(), "MARKIMPORT_SECRET_KEY="+testKey)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	first, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	r.Close()
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1 (after %q)", code, first)
	}
	checkImport(t, srv, rows, report)
	notes, _ := readSummary(t, summary)["notes"].([]any)
	found := false
	for _, n := range notes {
		found = found || strings.HasPrefix(n.(string), "stderr could not be written")
	}
	if !found {
		t.Errorf("summary notes %v: want one that stderr was lost", notes)
	}
}

// TestShippedBinaryHasNoTestHooks: the binary as `go build` makes it does
// not react to the test hooks' environment: a run that commits its state
// with MARKIMPORT_TEST_STATE_KILL_AFTER set completes.
func TestShippedBinaryHasNoTestHooks(t *testing.T) {
	bin := buildBinary(t)
	dir, in, _ := newInput(t, 93, 300)
	_, url := startEmulator(t, fakeim.Config{})
	stateDir := filepath.Join(dir, "state")
	cmd, out := startRunEnv(t, bin, url, []string{"MARKIMPORT_TEST_STATE_KILL_AFTER=1"}, "--input", in, "--report", filepath.Join(dir, "r.csv"), "--state", stateDir)
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "MANIFEST.json")); err != nil {
		t.Errorf("no state committed: %v", err)
	}
}

// TestNoTestHooksInTheDefaultBuild: the files of the default build (no
// tags) of the command and of the state neither declare KillAfter nor read
// a MARKIMPORT_TEST_ variable: the hooks that kill the process are
// compiled only with the markimport_testhooks tag.
func TestNoTestHooksInTheDefaultBuild(t *testing.T) {
	for _, dir := range []string{".", "../../pipeline/state"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range pkg.GoFiles {
			path := filepath.Join(dir, name)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "MARKIMPORT_TEST_") {
				t.Errorf("%s reads a MARKIMPORT_TEST_ variable in the default build", path)
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, b, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "KillAfter" {
					t.Errorf("%s declares KillAfter in the default build", path)
				}
			}
		}
	}
}
