package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// stageRun is a real markimport process whose JSON log lines a test
// watches, to send SIGINT while a given stage runs.
type stageRun struct {
	cmd   *exec.Cmd
	lines chan map[string]any
}

func startStageRun(t *testing.T, bin string, env []string, args ...string) *stageRun {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--log-format", "json", "--progress-every", "20ms")...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &stageRun{cmd: cmd, lines: make(chan map[string]any, 1024)}
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				r.lines <- m
			}
		}
	}()
	return r
}

// waitFor returns the first log line that ok accepts.
func (r *stageRun) waitFor(t *testing.T, what string, ok func(map[string]any) bool) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case m, open := <-r.lines:
			if !open {
				t.Fatalf("the process ended before %s", what)
			}
			if ok(m) {
				return
			}
		case <-deadline:
			r.cmd.Process.Kill()
			t.Fatalf("no log line showed %s", what)
		}
	}
}

// interrupt sends SIGINT and returns the exit code.
func (r *stageRun) interrupt(t *testing.T) int {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGINT)
	for range r.lines {
	}
	return exitCode(r.cmd.Wait())
}

func num(m map[string]any, k string) float64 {
	switch v := m[k].(type) {
	case float64:
		return v
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

type stageSummary struct {
	Rows            int64            `json:"rows"`
	Statuses        map[string]int64 `json:"statuses"`
	RequestsPlanned int64            `json:"requests_planned"`
	RequestsSent    int64            `json:"requests_sent"`
	Stopped         string           `json:"stopped"`
	ExitCode        int              `json:"exit_code"`
}

func readStageSummary(t *testing.T, path string) stageSummary {
	t.Helper()
	var s stageSummary
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s stageSummary) reported() int64 {
	var n int64
	for _, c := range s.Statuses {
		n += c
	}
	return n
}

// TestInterruptEveryStage sends SIGINT to the real binary in each stage of
// a file large enough that the stage lasts seconds, and checks that the
// process exits 130 with the stage's work not done: it stopped, rather than
// finishing the stage first. (Time from signal to exit is a figure of make
// bench, not an assertion.)
func TestInterruptEveryStage(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 4M-row file")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	gen := filepath.Join(dir, "markgen")
	if out, err := exec.Command("go", "build", "-o", gen, "../markgen").CombinedOutput(); err != nil {
		t.Fatalf("build markgen: %v\n%s", err, out)
	}
	const n = 4_000_000
	in := filepath.Join(dir, "big.csv")
	if out, err := exec.Command(gen, "-n", strconv.Itoa(n), "-users", "1000000", "-seed", "11", "-o", in).CombinedOutput(); err != nil {
		t.Fatalf("markgen: %v\n%s", err, out)
	}
	summary := func(name string) string { return filepath.Join(dir, name+".json") }
	reading := func(m map[string]any) bool { return m["msg"] == "progress" && num(m, "rows_read") > 0 }
	planning := func(m map[string]any) bool { return m["msg"] == "input read" }

	t.Run("validate while reading", func(t *testing.T) {
		r := startStageRun(t, bin, nil, "validate", "--input", in, "--summary", summary("v-read"))
		r.waitFor(t, "reading", reading)
		if code := r.interrupt(t); code != exitInterrupted {
			t.Fatalf("exit %d, want 130", code)
		}
		if s := readStageSummary(t, summary("v-read")); s.Rows >= n || s.Stopped != "interrupted" || s.ExitCode != exitInterrupted {
			t.Fatalf("summary %+v: want fewer than %d rows read, stopped interrupted", s, n)
		}
	})
	t.Run("validate while planning", func(t *testing.T) {
		r := startStageRun(t, bin, nil, "validate", "--input", in, "--summary", summary("v-plan"))
		r.waitFor(t, "the input read", planning)
		if code := r.interrupt(t); code != exitInterrupted {
			t.Fatalf("exit %d, want 130", code)
		}
		if s := readStageSummary(t, summary("v-plan")); s.Rows != n || s.reported() >= n || s.Stopped != "interrupted" {
			t.Fatalf("summary %+v: want every row read and fewer than %d planned", s, n)
		}
	})
	t.Run("run while sending", func(t *testing.T) {
		report := filepath.Join(dir, "run.csv")
		r := startStageRun(t, bin, nil, "run", "--fake", "--input", in, "--report", report, "--summary", summary("r-send"))
		r.waitFor(t, "requests sent", func(m map[string]any) bool { return m["msg"] == "progress" && num(m, "requests_done") > 0 })
		if code := r.interrupt(t); code != exitInterrupted {
			t.Fatalf("exit %d, want 130", code)
		}
		s := readStageSummary(t, summary("r-send"))
		if s.RequestsSent == 0 || s.RequestsSent >= s.RequestsPlanned || s.reported() >= n || s.Stopped != "interrupted" {
			t.Fatalf("summary %+v: want some requests sent, not all, and not every row reported", s)
		}
		if _, err := os.Stat(report); err != nil {
			t.Fatalf("no report after the interrupt: %v", err)
		}
	})
	t.Run("run while reading", func(t *testing.T) {
		report := filepath.Join(dir, "run-read.csv")
		r := startStageRun(t, bin, nil, "run", "--fake", "--input", in, "--report", report, "--summary", summary("r-read"))
		r.waitFor(t, "reading", reading)
		if code := r.interrupt(t); code != exitInterrupted {
			t.Fatalf("exit %d, want 130", code)
		}
		if s := readStageSummary(t, summary("r-read")); s.Rows >= n || s.RequestsSent != 0 {
			t.Fatalf("summary %+v: want fewer than %d rows read and nothing sent", s, n)
		}
	})
	t.Run("verify while reading back", func(t *testing.T) {
		_, url := startEmulator(t, fakeim.Config{})
		r := startStageRun(t, bin, []string{"MARKIMPORT_SECRET_KEY=" + testKey}, append([]string{"verify", "--input", in,
			"--report", filepath.Join(dir, "verify.csv"), "--summary", summary("verify")}, append(connArgs(url)[:6], "--profile", testProfile())...)...)
		r.waitFor(t, "reads", func(m map[string]any) bool { return m["msg"] == "progress" && num(m, "requests_done") > 0 })
		if code := r.interrupt(t); code != exitInterrupted {
			t.Fatalf("exit %d, want 130", code)
		}
		if s := readStageSummary(t, summary("verify")); s.reported() >= n || s.Stopped != "interrupted" {
			t.Fatalf("summary %+v: want fewer than %d rows judged", s, n)
		}
	})
}
