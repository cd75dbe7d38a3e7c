package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline"
	"markimport/pipeline/durable"
	"markimport/pipeline/durable/bucket"
	"markimport/pipeline/mark"
	"markimport/pipeline/report"
	"markimport/sink"
)

// printSummary prints the human summary (and, for validate, the plan).
func printSummary(w io.Writer, s *pipeline.Summary, dry bool, rate float64) {
	heading := "run of " + s.Input
	if dry {
		heading = "plan for " + s.Input
	}
	printRows(w, heading, s.Rows, report.Statuses, s.Statuses, s.Users, s.Conversations)
	printSample(w, s.Sample, s.UsersLeftOut, "skipped")
	fmt.Fprintf(w, "  requests       %d planned", s.RequestsPlanned)
	if s.RequestsSaved > 0 {
		fmt.Fprintf(w, " (%d saved: items unchanged since confirmed, or already marked on the server)", s.RequestsSaved)
	}
	if dry {
		fmt.Fprintf(w, ", %s at %g requests/s\n", time.Duration(s.PlanSeconds*float64(time.Second)).Round(time.Second), rate)
		if n := s.RequestsToChange; n != nil {
			fmt.Fprintf(w, "  online         %d search_contact_group requests read the planned conversations; the changes take %d requests, %s at %g requests/s\n",
				s.ReadRequests, *n, time.Duration(float64(*n)/rate*float64(time.Second)).Round(time.Second), rate)
		}
	} else {
		fmt.Fprintf(w, ", %d sent (%d HTTP requests, %d retries, %d throttled)\n", s.RequestsSent, s.HTTPRequests, s.Retries, s.Throttled)
		fmt.Fprintf(w, "  rate           %.1f requests/s over %.1fs\n", s.RequestsPerSec, s.SendSeconds)
		if s.ReadRequests > 0 || s.BackupRows > 0 {
			fmt.Fprintf(w, "  read back      %d search_contact_group requests", s.ReadRequests)
			if s.BackupRows > 0 {
				fmt.Fprintf(w, "; %d backup rows written", s.BackupRows)
			}
			fmt.Fprintln(w)
		}
		if rw := s.ReadToWrite; rw != nil {
			fmt.Fprintf(w, "  read to write  p50 %.2fs, p99 %.2fs, max %.2fs over %d users\n", rw.P50, rw.P99, rw.Max, rw.Users)
		}
	}
	printEnd(w, s.ElapsedSeconds, s.Stopped)
}

// printVerifySummary prints the rows by status and the reads it took.
func printVerifySummary(w io.Writer, s *pipeline.VerifySummary) {
	printRows(w, "verify of "+s.Input, s.Rows, report.VerifyStatuses, s.Statuses, s.Users, s.Conversations)
	printSample(w, s.Sample, s.UsersLeftOut, "not-checked")
	fmt.Fprintf(w, "  requests       %d planned (%d HTTP requests, %d retries, %d throttled)\n", s.Requests, s.HTTPRequests, s.Retries, s.Throttled)
	printEnd(w, s.ElapsedSeconds, s.Stopped)
}

// printRows prints a summary's heading and its rows by status (in the
// report's order, those with none left out), users and conversations.
func printRows[S comparable](w io.Writer, heading string, rows int64, order []S, counts map[S]int64, users, conversations int64) {
	fmt.Fprintf(w, "%s:\n", heading)
	fmt.Fprintf(w, "  rows           %d\n", rows)
	for _, st := range order {
		if n := counts[st]; n > 0 {
			fmt.Fprintf(w, "    %-12v %d\n", st, n)
		}
	}
	fmt.Fprintf(w, "  users          %d\n", users)
	fmt.Fprintf(w, "  conversations  %d\n", conversations)
}

// printSample prints the sample's line when the command had one.
func printSample(w io.Writer, fraction float64, leftOut int64, status string) {
	if fraction > 0 && fraction < 1 {
		fmt.Fprintf(w, "  sample         %g of users; %d users outside it, their valid rows %s\n", fraction, leftOut, status)
	}
}

// printEnd prints a summary's last lines: the time taken and why it
// stopped early, if it did.
func printEnd(w io.Writer, elapsed float64, stopped string) {
	fmt.Fprintf(w, "  elapsed        %.1fs\n", elapsed)
	if stopped != "" {
		fmt.Fprintf(w, "  stopped        %s\n", sink.Redact(stopped))
	}
}

// printSummary prints the summary on stdout: as text (text), or with
// --log-format json as one JSON object, a log line of its own ("msg":
// "summary") with the fields of the --summary file but the exit code.
func (c *command) printSummary(body any, text func()) {
	if !c.json {
		text()
		return
	}
	head := struct {
		Time    time.Time `json:"time"`
		Level   string    `json:"level"`
		Msg     string    `json:"msg"`
		RunID   string    `json:"run_id"`
		Command string    `json:"command"`
	}{time.Now(), "INFO", "summary", c.runID, c.name}
	b, err := mergeObjects(head, body)
	if err != nil {
		c.tell(slog.LevelError, "summary: "+err.Error(), "")
		return
	}
	fmt.Fprintln(c.stdout, sink.Redact(string(b)))
}

// summaryJSON is the summary JSON of a command for orchestrators: the
// run id and times, then the fields of body (a command's summary struct),
// then how it was run (invocation), the peak memory, what could not be
// written to stdout or stderr, and the exit code; indented, secrets
// redacted.
func (c *command) summaryJSON(body any, code int) ([]byte, error) {
	head := struct {
		RunID     string    `json:"run_id"`
		StartedAt time.Time `json:"started_at"`
		EndedAt   time.Time `json:"ended_at"`
	}{c.runID, c.start.UTC(), time.Now().UTC()}
	tail := struct {
		PeakRSS  int64    `json:"peak_rss_bytes,omitempty"`
		Notes    []string `json:"notes,omitempty"`
		ExitCode int      `json:"exit_code"`
	}{peakRSS(), lostOutput(c.stdout, c.stderr), code}
	return indentedJSON(head, body, c.invocation(), tail)
}

// saveSummary writes --summary and then --html, each when given, from one
// summary JSON, and returns the exit code: code, or at least 1 when one
// could not be written.
func (c *command) saveSummary(body any, code int) int {
	if c.summary == "" && c.html == "" {
		return code
	}
	b, err := c.summaryJSON(body, code)
	if err == nil && c.summary != "" {
		err = durable.WriteFile(nil, c.summary, b)
	}
	if err != nil {
		c.tell(slog.LevelError, "write summary: "+err.Error(), "")
		return max(code, exitSomeNotOK)
	}
	return c.savePage(b, code)
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

// indentedJSON is the fields of the objects one after another as one
// indented JSON object, with every secret redacted.
func indentedJSON(objects ...any) ([]byte, error) {
	b, err := mergeObjects(objects...)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return []byte(sink.Redact(out.String())), nil
}

// mergeObjects is one JSON object of the fields of the objects, one after
// another, on one line.
func mergeObjects(objects ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, o := range objects {
		part, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		if len(part) < 2 || part[0] != '{' {
			return nil, fmt.Errorf("summary: %T is not an object", o)
		}
		if inner := part[1 : len(part)-1]; len(inner) > 0 {
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			b.Write(inner)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
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

// ending is what a command prints when it stops early, after the cause.
type ending struct {
	unreachable string // when no request reached the endpoint ("" : as fatal)
	fatal       string // when the API answered a fatal error
	interrupted string // the whole message on Ctrl-C
}

// endCode is the exit code of a command whose rows were all as wanted or
// not (allOK) and which ended with err, and prints why it stopped early,
// if it did. The messages go to stderr under --quiet too.
func (c *command) endCode(ctx context.Context, allOK bool, err error, e ending) int {
	code := exitOK
	if !allOK {
		code = exitSomeNotOK
	}
	var fe *mark.FatalError
	switch {
	case errors.As(err, &fe) && fe.Code == mark.CodeUnreachable && e.unreachable != "":
		c.tell(slog.LevelError, fe.Error(), e.unreachable)
		return exitFatal
	case errors.As(err, &fe) && fe.Code < 0:
		c.tell(slog.LevelError, "stopped: "+fe.Error(), e.fatal)
		return exitFatal
	case errors.As(err, &fe):
		c.tell(slog.LevelError, fmt.Sprintf("stopped by a fatal API error %d: %s", fe.Code, fe.Error()), e.fatal)
		return exitFatal
	case err != nil && ctx.Err() != nil:
		msg, detail, _ := strings.Cut(e.interrupted, "\n")
		c.tell(slog.LevelWarn, msg, detail)
		return exitInterrupted
	case errors.As(err, new(*bucket.LostError)):
		c.tell(slog.LevelError, "stopped: "+err.Error(), "Rows not sent are reported unsent.")
		return exitFatal
	case errors.As(err, new(pipeline.Stop)):
		// An output that must be written before a request leaves could
		// not be: the run stopped sending, as on a fatal answer.
		c.tell(slog.LevelError, "stopped: "+err.Error(), "Rows not sent are reported unsent; fix the cause (a full disk, say), then run again with --resume.")
		return exitFatal
	case err != nil:
		c.tell(slog.LevelError, err.Error(), "")
		return max(code, exitSomeNotOK)
	}
	return code
}
