package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"markimport/readers"
	"markimport/sink"
)

// command is what every command starts from: its flags, parsed, and
// where it writes.
type command struct {
	*importFlags
	flags  *flag.FlagSet // parsed, the environment and config file applied
	name   string
	args   []string
	stdout io.Writer
	stderr io.Writer
	hooks  hooks
	log    *slog.Logger // warnings only under --quiet
	always *slog.Logger // every level: run started, run finished, refusals
	json   bool         // --log-format json: every line on stdout and stderr is a JSON object
	counts []any        // the summary's counts, for "run finished"
	runID  string
	start  time.Time
	in     *readers.Input // the input's files, once resolved
	// metrics is where --metrics-file and --metrics-push go.
	metrics metricsOut
	// staged is the object URL each output staged in --temp-dir stands
	// for, by its local path: what the command says of it names the object.
	staged map[string]string
}

// parseCommand parses a command's flags into its configuration. When it
// returns false the command is over, with the exit code given.
func parseCommand(name string, args []string, stdout, stderr io.Writer, h hooks) (*command, int, bool) {
	fs, f := newImportFlags(name)
	c := &command{importFlags: f, flags: fs, name: name, args: args, stdout: stdout, stderr: stderr, hooks: h, runID: newRunID(), start: time.Now()}
	inCommand := func(flag string) bool { return takes(name, flag) }
	help, perr := parseFlags(name, fs, args, inCommand)
	if help {
		printHelp(stdout, commandHelp[name].about, commandHelp[name].usage, fs, inCommand, helpNote(name), exitCodesHelp)
		return nil, exitOK, false
	}
	if perr != nil {
		// The parser stopped at the mistake: take the format it asked for
		// from the command line itself.
		f.logFormat = logFormatIn(args)
	} else {
		// What the command line gave; the environment and the config
		// file fill in the rest, before the log starts (its format may
		// come from them).
		perr = f.applySettings(name, fs)
	}
	if err := c.startLog(); err != nil {
		return nil, c.fail("%v", err), false
	}
	if perr != nil {
		return nil, c.refuse(perr), false
	}
	f.input = strings.Join(f.inputs, ", ")
	if fs.NArg() > 0 {
		if len(f.inputs) > 0 {
			return nil, c.fail("unexpected argument %q: to read several files, quote a glob so that markimport matches it in natural order (--input 'exports/*.parquet'), give a folder, or repeat --input", fs.Arg(0)), false
		}
		return nil, c.fail("unexpected argument %q", fs.Arg(0)), false
	}
	return c, 0, true
}

// applySettings records the flags the command line gave and sets the
// others from the environment and the config file (see settings.go). A
// setting that cannot be used is a *usageError.
func (f *importFlags) applySettings(command string, fs *flag.FlagSet) error {
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	var err error
	if f.settings, err = applySettings(command, fs, f.given, os.LookupEnv); err != nil {
		if f.logFormat != "json" {
			f.logFormat = "text" // a bad one from the environment or file
		}
		hint := fmt.Sprintf("See \"markimport config %s\" for the settings and where each comes from.", command)
		if !slices.Contains(importCommands, command) {
			hint = "Settings come from the command line, then MARKIMPORT_<FLAG>, then the --config file."
		}
		return &usageError{err.Error(), hint}
	}
	return nil
}

// helpNote is what help adds to a flag of the command: validate takes the
// connection flags with --online only (checkOnline).
func helpNote(command string) func(string) string {
	if command != "validate" {
		return nil
	}
	return func(flag string) string {
		if slices.Contains(connectionFlags, flag) {
			return " (validate: with --online only)"
		}
		return ""
	}
}

// startLog makes the command's loggers by --log-format and --quiet (the
// text format when --log-format is wrong, to say so).
func (c *command) startLog() error {
	var err error
	if c.log, c.always, err = newLogger(c.stderr, c.logFormat, c.quiet, c.runID); err != nil {
		c.log, c.always, _ = newLogger(c.stderr, "text", c.quiet, c.runID)
		return err
	}
	c.json = strings.EqualFold(c.logFormat, "json")
	return nil
}

// fail reports a usage or configuration error: exit 2, nothing sent, no
// output touched.
func (c *command) fail(format string, a ...any) int {
	c.tell(slog.LevelError, fmt.Sprintf(format, a...), "")
	return exitUsage
}

// checkFailed reports a check that refused the command: exit 2, or 130
// when an interrupt stopped it (listing a bucket that does not answer,
// say), since then nothing was refused.
func (c *command) checkFailed(ctx context.Context, err error) int {
	if ctx.Err() != nil {
		c.tell(slog.LevelWarn, "interrupted before the run started; nothing was read or sent", "")
		return exitInterrupted
	}
	return c.fail("%v", err)
}

// refuse reports a command line the flag parser refused: what is wrong and
// where to look, exit 2.
func (c *command) refuse(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		c.tell(slog.LevelError, ue.msg, ue.hint)
		return exitUsage
	}
	return c.fail("%v", err)
}

// tell says what the user must know, under --quiet too, on stderr: in the
// text format as "markimport COMMAND: msg" then the lines of detail, in
// the JSON format as one object at level, with detail in its field
// "detail". Secrets are redacted either way.
func (c *command) tell(level slog.Level, msg, detail string, attrs ...any) {
	msg, detail = sink.Redact(msg), sink.Redact(detail)
	if c.json {
		attrs = append([]any{"command", c.name}, attrs...)
		if detail != "" {
			attrs = append(attrs, "detail", detail)
		}
		c.always.Log(context.Background(), level, msg, attrs...)
		return
	}
	fmt.Fprintf(c.stderr, "markimport %s: %s\n", c.name, msg)
	if detail != "" {
		fmt.Fprintln(c.stderr, detail)
	}
}

// keepFirst is how a command's finishing steps report what went wrong:
// err, when not nil, is printed at once (format places it in the message:
// "%v" prints it as it is), and the error the command ends with is *first,
// the first of them, which decides the exit code. The error *first is
// already, met again by a later step (a lost lease refuses every upload),
// is not printed again: the command's end says it.
func (c *command) keepFirst(first *error, err error, format string) {
	if err == nil || *first != nil && errors.Is(err, *first) {
		return
	}
	c.tell(slog.LevelError, fmt.Sprintf(format, err), "")
	if *first == nil {
		*first = err
	}
}

// firstRefusal runs a command's checks in order and returns the first
// error: the refusal the user sees.
func firstRefusal(checks ...func() error) error {
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// resolveInput lists the input's files: a file, folders, globs (objects
// in a bucket listed under ctx).
func (c *command) resolveInput(ctx context.Context) error {
	in, err := readers.ResolveInputContext(ctx, c.inputs, c.format)
	if err != nil {
		return err
	}
	c.in = in
	return nil
}

// inputFiles are the files the command reads, for the check that no
// output is one of them.
func (c *command) inputFiles() []named {
	if c.in == nil {
		return []named{{"--input", c.input}}
	}
	out := make([]named, len(c.in.Parts))
	for i, p := range c.in.Parts {
		out[i] = named{"--input", p.Path}
	}
	return out
}

// connection is the client configuration of a real run, or of the
// emulator started for --fake.
func (c *command) connection() (sink.Config, *fakeRun, error) {
	if !c.fake {
		cfg, err := c.clientConfig()
		return cfg, nil, err
	}
	fake, err := startFake(c.fakeState)
	if err != nil {
		return sink.Config{}, nil, fmt.Errorf("start the emulator: %v", err)
	}
	return fake.clientConfig(), fake, nil
}
