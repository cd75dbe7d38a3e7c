package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"markimport/sink"
)

// newRunID names one run in every log line and in the summary.
func newRunID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newLogger builds the run's loggers: text or JSON lines on w (stderr),
// every line with the run id, every string value redacted of secrets. log
// leaves out what is below a warning under --quiet; always, which logs
// what an orchestrator reads of every run (run started, run finished),
// leaves out nothing.
func newLogger(w io.Writer, format string, quiet bool, runID string) (log, always *slog.Logger, err error) {
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelWarn
	}
	log, err = newHandlerLogger(w, format, level, runID)
	if err != nil {
		return nil, nil, err
	}
	always, err = newHandlerLogger(w, format, slog.LevelInfo, runID)
	return log, always, err
}

func newHandlerLogger(w io.Writer, format string, level slog.Level, runID string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindString {
			a.Value = slog.StringValue(sink.Redact(a.Value.String()))
		}
		return a
	}}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
	return slog.New(h).With("run_id", runID), nil
}

// logFormatIn is the --log-format a command line asks for, read without
// the flag parser: a command line the parser refuses is reported in the
// format it asked for.
func logFormatIn(args []string) string {
	format := ""
	for i, a := range args {
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "log-format" {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		format = value
	}
	return format
}

// logStarted logs the first line an orchestrator's log holds of a run,
// under --quiet too, and has a signal said in the run's log format.
func (c *command) logStarted() {
	say := func(msg string) { c.tell(slog.LevelWarn, msg, "") }
	signalNotice.Store(&say)
	c.always.Info("run started", "command", c.name, "input", c.input, "report", c.report)
}

// logFinished logs the last line an orchestrator's log holds of a run,
// under --quiet too: the exit code and, when the command got as far as a
// summary, its counts. It returns code.
func (c *command) logFinished(code int) int {
	c.always.Info("run finished", append([]any{"command", c.name, "exit_code", code}, c.counts...)...)
	return code
}
