package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline"
	"markimport/pipeline/report"
	"markimport/sink"
)

// printSummary prints the human summary (and, for validate, the plan).
func printSummary(w io.Writer, s *pipeline.Summary, dry bool, rate float64) {
	if dry {
		fmt.Fprintf(w, "plan for %s:\n", s.Input)
	} else {
		fmt.Fprintf(w, "run of %s:\n", s.Input)
	}
	fmt.Fprintf(w, "  rows           %d\n", s.Rows)
	for _, st := range report.Statuses {
		if n := s.Statuses[st]; n > 0 {
			fmt.Fprintf(w, "    %-12s %d\n", st, n)
		}
	}
	fmt.Fprintf(w, "  users          %d\n", s.Users)
	fmt.Fprintf(w, "  conversations  %d\n", s.Conversations)
	fmt.Fprintf(w, "  requests       %d planned", s.RequestsPlanned)
	if dry {
		fmt.Fprintf(w, ", %s at %g requests/s\n", time.Duration(s.PlanSeconds*float64(time.Second)).Round(time.Second), rate)
	} else {
		fmt.Fprintf(w, ", %d sent (%d HTTP requests, %d retries, %d throttled)\n", s.RequestsSent, s.HTTPRequests, s.Retries, s.Throttled)
		fmt.Fprintf(w, "  rate           %.1f requests/s over %.1fs\n", s.RequestsPerSec, s.SendSeconds)
	}
	fmt.Fprintf(w, "  elapsed        %.1fs\n", s.ElapsedSeconds)
	if s.Stopped != "" {
		fmt.Fprintf(w, "  stopped        %s\n", sink.Redact(s.Stopped))
	}
}

// writeSummary writes the summary JSON with the run id, the times and the
// exit code, for orchestrators.
func writeSummary(path string, s *pipeline.Summary, code int, runID string, started time.Time) error {
	out := struct {
		RunID     string    `json:"run_id"`
		StartedAt time.Time `json:"started_at"`
		EndedAt   time.Time `json:"ended_at"`
		*pipeline.Summary
		PeakRSS  int64 `json:"peak_rss_bytes,omitempty"`
		ExitCode int   `json:"exit_code"`
	}{runID, started.UTC(), time.Now().UTC(), s, peakRSS(), code}
	return writeJSONFile(path, out)
}

// peakRSS is the most memory the process has held (VmHWM of Linux's
// /proc/self/status), or 0 where that is not known. Unlike getrusage's
// maxrss it does not count what the parent held before this program was
// started.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// writeJSONFile writes v as indented JSON, with every secret redacted,
// beside path and renamed into place.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return report.WriteFileAtomic(path, append([]byte(sink.Redact(string(b))), '\n'))
}

// resumeCommand is the command line that continues this run.
func resumeCommand(args []string) string {
	parts := []string{"markimport", "run"}
	resume := false
	for _, a := range args {
		switch a {
		case "--resume", "-resume":
			resume = true
		case "--overwrite", "-overwrite":
			continue // the resumed run continues the report it made
		}
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	if !resume {
		parts = append(parts[:2], append([]string{"--resume"}, parts[2:]...)...)
	}
	return strings.Join(parts, " ")
}
