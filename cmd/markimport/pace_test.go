package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"markimport/sink"
	"markimport/sink/fakeim"
)

// TestPaceFileIsInput: a pace file that is not one timestamp of 20 digits
// and a line end (garbled, torn, with bytes after it, zero) or that is
// dated in the future is not believed: a warning names the file, the first
// request waits one window from now (never more), and the file is made
// writable again, so that the next run believes the time this one records.
// A good one holds the run a window after its time; none holds nothing.
func TestPaceFileIsInput(t *testing.T) {
	window := sink.NewPacer(200, sink.DefaultMargin).Window()
	recent := time.Now().Add(-300 * time.Millisecond)
	cases := []struct {
		name, content string
		believed      bool
	}{
		{"a new file", "", true},
		{"recent", fmt.Sprintf("%020d\n", recent.UnixNano()), true},
		{"garbled", "hello, world\n", false},
		{"torn", "00000017", false},
		{"no line end", fmt.Sprintf("%020d", recent.UnixNano()), false},
		{"bytes after it", fmt.Sprintf("%020d\n%020d\n", recent.UnixNano(), recent.UnixNano()), false},
		{"a letter", "0000000000000000000x\n", false},
		{"a sign", fmt.Sprintf("-%019d\n", recent.UnixNano()), false},
		{"zero", "00000000000000000000\n", false},
		{"in the future", fmt.Sprintf("%020d\n", time.Now().Add(time.Minute).UnixNano()), false},
		{"one digit flipped to 2058", fmt.Sprintf("%020d\n", time.Date(2058, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.csv.pace")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			p, err := openPace(path, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			nb := p.NotBefore(window)
			now := time.Now()
			switch {
			case tc.content == "":
				if !nb.IsZero() || logs.Len() > 0 {
					t.Errorf("a new file: waits until %v, logs %q", nb, logs.String())
				}
			case tc.believed:
				if !nb.Equal(recent.Add(window)) || logs.Len() > 0 {
					t.Errorf("waits until %v, want %v; logs %q", nb, recent.Add(window), logs.String())
				}
			default:
				if nb.After(now.Add(window)) || nb.Before(now.Add(window-time.Second)) {
					t.Errorf("waits %v, want one window (%v)", nb.Sub(now), window)
				}
				if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), path+" is not believed") {
					t.Errorf("no warning naming %s: %q", path, logs.String())
				}
			}
			// What this run records, the next believes.
			dep := time.Now().Add(-time.Millisecond)
			p.Record(dep)
			p.Close()
			var again bytes.Buffer
			p, err = openPace(path, slog.New(slog.NewTextHandler(&again, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if nb := p.NotBefore(window); !nb.Equal(time.Unix(0, dep.UnixNano()).Add(window)) || again.Len() > 0 {
				t.Errorf("after a departure was recorded: waits until %v, want %v; logs %q", nb, dep.Add(window), again.String())
			}
		})
	}
}

// TestFuturePaceFileDoesNotHoldTheRun: a run (--overwrite too) whose pace
// file is dated in 2058 warns and runs, instead of waiting until then.
func TestFuturePaceFileDoesNotHoldTheRun(t *testing.T) {
	dir, in, rows := newInput(t, 61, 300)
	report := filepath.Join(dir, "report.csv")
	for _, extra := range [][]string{nil, {"--overwrite"}} {
		os.WriteFile(report+".pace", fmt.Appendf(nil, "%020d\n", time.Date(2058, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()), 0o644)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		args := append([]string{"run", "--fake", "--input", in, "--report", report, "--quiet"}, extra...)
		code, _, stderr := runCLIContext(t, ctx, args...)
		cancel()
		if code != exitSomeNotOK {
			t.Fatalf("%v: exit %d, want 1 (the input has invalid rows); stderr %q", extra, code, stderr)
		}
		if !strings.Contains(stderr, report+".pace is not believed: it is dated 2058-01-01") {
			t.Errorf("%v: no warning naming the pace file: %q", extra, stderr)
		}
		if rep := readReport(t, report); len(rep) != len(rows) {
			t.Errorf("%v: %d rows reported, want %d", extra, len(rep), len(rows))
		}
	}
}

// TestRefusedRunLeavesNoPaceFile: a run refused after it opened its pace
// file (a --resume with no report to continue, a damaged state) sent
// nothing and leaves no REPORT.pace; a pace file it found is kept.
func TestRefusedRunLeavesNoPaceFile(t *testing.T) {
	dir, in, _ := newInput(t, 91, 100)
	_, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "r.csv")
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(state, "MANIFEST.json"), []byte("{not json"), 0o644)
	for _, extra := range [][]string{{"--resume"}, {"--state", state}} {
		code, _, stderr := runCLI(t, runArgs(url, append([]string{"--input", in, "--report", report}, extra...)...)...)
		if code != exitUsage {
			t.Fatalf("%v: exit %d, want 2\n%s", extra, code, stderr)
		}
		if _, err := os.Stat(report + ".pace"); !os.IsNotExist(err) {
			t.Errorf("%v: the refused run left %s.pace (%v)", extra, report, err)
		}
	}
	// One that was there stays.
	os.WriteFile(report+".pace", []byte("00000000000000000001\n"), 0o644)
	if code, _, stderr := runCLI(t, runArgs(url, "--input", in, "--report", report, "--resume")...); code != exitUsage {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(report + ".pace"); err != nil {
		t.Errorf("a pace file the run found was removed: %v", err)
	}
}
