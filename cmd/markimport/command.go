package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"markimport/readers"
	"markimport/sink"
)

// command is what every command starts from: its flags, parsed, and
// where it writes.
type command struct {
	*importFlags
	name   string
	args   []string
	stdout io.Writer
	stderr io.Writer
	hooks  hooks
	log    *slog.Logger
	runID  string
	start  time.Time
	in     *readers.Input // the input's files, once resolved
}

// parseCommand parses a command's flags into its configuration. When it
// returns false the command is over, with the exit code given.
func parseCommand(name string, dry bool, args []string, stdout, stderr io.Writer, h hooks) (*command, int, bool) {
	fs, f := newImportFlags(name, dry, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	c := &command{importFlags: f, name: name, args: args, stdout: stdout, stderr: stderr, hooks: h, runID: newRunID(), start: time.Now()}
	log, err := newLogger(stderr, f.logFormat, f.quiet, c.runID)
	if err != nil {
		return nil, c.fail("%v", err), false
	}
	c.log = log
	f.input = strings.Join(f.inputs, ", ")
	if fs.NArg() > 0 {
		if len(f.inputs) > 0 {
			return nil, c.fail("unexpected argument %q: to read several files, quote a glob so that markimport matches it in natural order (--input 'exports/*.parquet'), give a folder, or repeat --input", fs.Arg(0)), false
		}
		return nil, c.fail("unexpected argument %q", fs.Arg(0)), false
	}
	return c, 0, true
}

// fail reports a usage or configuration error: exit 2, nothing sent, no
// output touched.
func (c *command) fail(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "markimport %s: %s\n", c.name, sink.Redact(fmt.Sprintf(format, a...)))
	return exitUsage
}

// keepFirst is how a command's finishing steps report what went wrong:
// err, when not nil, is printed at once (format places it in the message:
// "%v" prints it as it is), and the error the command ends with is *first,
// the first of them, which decides the exit code.
func (c *command) keepFirst(first *error, err error, format string) {
	if err == nil {
		return
	}
	fmt.Fprintf(c.stderr, "markimport %s: %s\n", c.name, sink.Redact(fmt.Sprintf(format, err)))
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

// resolveInput lists the input's files: a file, folders, globs.
func (c *command) resolveInput() error {
	in, err := readers.ResolveInput(c.inputs, c.format)
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
