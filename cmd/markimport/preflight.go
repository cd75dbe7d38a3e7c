package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
	"markimport/pipeline/preflight"
	"markimport/sink"
)

// cmdPreflight proves on one scratch conversation that the service behaves
// as markimport assumes where the API's documentation is silent, prints
// what it found, and writes the service profile: markimport preflight
// --scratch FROM:TYPE:PEER [--profile FILE] with the connection flags of
// run. It exits 0 when every finding is one markimport works with (the
// profile is written), 1 when one is not or the scratch conversation could
// not be restored (no profile), 2 on a usage error, 3 when the first read
// or a write meets a fatal answer, and 130 when interrupted (the scratch
// conversation is restored first).
func cmdPreflight(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) int {
	c, scratch, ok, code := parsePreflight(args, stdout, stderr)
	if !ok {
		return code
	}
	c.logStarted()
	return c.logFinished(preflightRun(ctx, c, scratch, h))
}

// preflightRun is preflight once its flags are parsed.
func preflightRun(ctx context.Context, c *command, scratch string, h hooks) int {
	cfg, err := c.clientConfig()
	if err != nil {
		return c.fail("%v", err)
	}
	sc, err := preflight.ParseScratch(scratch)
	if err != nil {
		return c.fail("--scratch: %v", err)
	}
	if c.report == "" {
		c.report = fmt.Sprintf("markimport-profile-%d.json", cfg.SDKAppID)
	}
	release, err := claim([]output{c.replaceable("--profile", c.report)})
	if err != nil {
		return c.fail("%v", err)
	}
	defer release()
	svc, err := newSinkService(cfg, h)
	if err != nil {
		return c.fail("%v", err)
	}
	ghost, err := ghostAccount()
	if err != nil {
		return c.fail("%v", err)
	}
	switch {
	case c.json:
		c.always.Info("preflight on a scratch conversation (it is changed, then restored)", "scratch", sc.String())
	case !c.quiet:
		fmt.Fprintf(c.stdout, "preflight on %s (it is changed, then restored)\n", sc)
	}
	res, runErr := preflight.Run(ctx, svc, sc, preflight.Options{Rate: sink.DefaultRate, DefaultConcurrency: sink.DefaultConcurrency(sink.DefaultRate),
		Ghost: ghost, LatencyReads: 20, RestoreTimeout: 2 * time.Minute})
	if res != nil {
		c.printChecks(res)
		if !res.Restored {
			c.tell(slog.LevelError, "THE SCRATCH CONVERSATION IS NOT AS IT WAS: "+res.Restore, "")
		}
	}
	if runErr != nil {
		return preflightStopped(c, runErr)
	}
	if res.Failed() {
		c.tell(slog.LevelError, "the service does not behave as markimport needs (see the checks marked FAILS); no profile written", "")
		return exitSomeNotOK
	}
	p := &preflight.Profile{Format: preflight.ProfileFormat, Tool: "markimport", SDKAppID: cfg.SDKAppID,
		Endpoint: strings.TrimRight(cfg.Endpoint, "/"), Region: strings.ToLower(strings.TrimSpace(c.region)),
		Date: time.Now().UTC().Truncate(time.Second), Version: version(), Scratch: sc.String(), Findings: res.Findings}
	if err := preflight.WriteProfile(durable.Local, c.report, p); err != nil {
		c.tell(slog.LevelError, err.Error(), "")
		return exitUsage
	}
	if c.json {
		c.always.Info("service profile written", "profile", c.report, "bit_order", res.Findings.BitOrder)
	} else {
		fmt.Fprintf(c.stdout, "service profile written to %s (bit order %s)\n", c.report, res.Findings.BitOrder)
	}
	return exitOK
}

// preflightAbout and preflightExits are preflight's help.
const (
	preflightAbout = "markimport preflight proves on one scratch conversation that the service behaves as markimport\n" +
		"assumes where the API's documentation is silent (the bit order of StandardMark above all), prints\n" +
		"what it found and writes the service profile that verify, --backup, --mode insert and validate\n" +
		"--online read."
	preflightExits = "Exit codes:\n  0    profile written\n  1    a finding markimport cannot work with, or the scratch conversation not restored (no profile)\n" +
		"  2    usage\n  3    fatal API answer\n  130  interrupted (the scratch conversation is restored first)\n"
)

// preflightFlags defines preflight's flags into f and scratch: the
// connection flags of run, --scratch, --profile, --overwrite, --config.
func preflightFlags(f *importFlags, scratch *string) *flag.FlagSet {
	fs := flag.NewFlagSet("preflight", flag.ContinueOnError)
	fs.StringVar(scratch, "scratch", "", "FROM:TYPE:PEER, a conversation preflight may change and restores, e.g. test_a:c2c:test_b (required)")
	fs.StringVar(&f.report, "profile", "", "write the service profile to this file (default markimport-profile-SDKAPPID.json)")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace an existing profile")
	f.defineConnection(fs)
	fs.DurationVar(&f.timeout, "timeout", sink.DefaultTimeout, "timeout of one HTTP request")
	fs.BoolVar(&f.quiet, "quiet", false, "print only the table, the result and errors")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json (every line on stdout and stderr one JSON object)")
	fs.StringVar(&f.config, "config", "", configHelp("preflight"))
	return fs
}

// parsePreflight parses preflight's flags, then fills in those the
// command line did not give from the environment and the config file.
// When ok is false the command is over with code.
func parsePreflight(args []string, stdout, stderr io.Writer) (c *command, scratch string, ok bool, code int) {
	f := &importFlags{}
	fs := preflightFlags(f, &scratch)
	c = &command{importFlags: f, name: "preflight", args: args, stdout: stdout, stderr: stderr, runID: newRunID(), start: time.Now()}
	all := func(string) bool { return true }
	help, perr := parseFlags("preflight", fs, args, all)
	if help {
		printHelp(stdout, preflightAbout, "  markimport preflight --scratch FROM:TYPE:PEER --sdkappid N --admin ID (--region NAME | --endpoint URL) [flags]\n",
			fs, all, nil, preflightExits)
		return nil, "", false, exitOK
	}
	if perr != nil {
		f.logFormat = logFormatIn(args)
	} else {
		perr = f.applySettings("preflight", fs)
	}
	if err := c.startLog(); err != nil {
		return nil, "", false, c.fail("%v", err)
	}
	if perr != nil {
		return nil, "", false, c.refuse(perr)
	}
	switch {
	case fs.NArg() > 0:
		return nil, "", false, c.fail("unexpected argument %q", fs.Arg(0))
	case scratch == "":
		return nil, "", false, c.fail("--scratch FROM:TYPE:PEER is required: a conversation of test accounts that preflight may change (it restores it)")
	}
	if err := sink.CheckTimeout(f.timeout); err != nil {
		return nil, "", false, c.fail("--timeout: %v", err)
	}
	return c, scratch, true, 0
}

// preflightStopped reports a preflight that a fatal answer, an
// interruption or an unreachable endpoint stopped.
func preflightStopped(c *command, err error) int {
	var fatal *mark.FatalError
	switch {
	case errors.As(err, &fatal):
		c.tell(slog.LevelError, "stopped: "+fatal.Error(), "")
		return exitFatal
	case errors.Is(err, context.Canceled):
		c.tell(slog.LevelWarn, "interrupted; no profile written", "")
		return exitInterrupted
	}
	c.tell(slog.LevelError, err.Error(), "")
	return exitFatal
}

// printChecks prints the table: check, expected, found, consequence (in
// JSON, one log line a check).
func (c *command) printChecks(res *preflight.Result) {
	if c.json {
		for _, ck := range res.Checks {
			c.always.Info("check", "check", ck.Name, "expected", ck.Expected, "found", ck.Found, "consequence", ck.Consequence, "fails", ck.Fails)
		}
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tEXPECTED\tFOUND\tCONSEQUENCE")
	for _, ck := range res.Checks {
		mark := ""
		if ck.Fails {
			mark = "FAILS: "
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", ck.Name, ck.Expected, ck.Found, mark, ck.Consequence)
	}
	tw.Flush()
}

// ghostAccount is an account name that no app has imported, to learn what
// the service does with one.
func ghostAccount() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "markimport-pf-" + hex.EncodeToString(b), nil // 30 bytes: a valid UserID
}

// sinkService is preflight's Service over the API client: writes through
// the one retry loop, reads through the read client.
type sinkService struct {
	w *sink.Client
	r *sink.ReadClient
}

func newSinkService(cfg sink.Config, h hooks) (*sinkService, error) {
	cfg.Rate, cfg.Concurrency = sink.DefaultRate, 1
	cfg.OnDeparture = h.departure
	w, err := sink.New(cfg)
	if err != nil {
		return nil, err
	}
	cfg.OnDeparture = h.readDeparture
	// Preflight finds the order from the text the service sent
	// (ServerMarks.Text); reading with bit 0 last only checks the
	// characters, which no order changes.
	cfg.BitOrder = mark.BitZeroLast
	r, err := sink.NewReadClient(cfg)
	if err != nil {
		return nil, err
	}
	return &sinkService{w: w, r: r}, nil
}

// Write sends one request of one item and returns its result.
func (s *sinkService) Write(ctx context.Context, from string, it mark.Item) (int, string, error) {
	reqs := make(chan *mark.Request, 1)
	reqs <- &mark.Request{Seq: 1, From: from, Items: []mark.Item{it}}
	close(reqs)
	var got []mark.Outcome
	err := s.w.Send(ctx, reqs, func(_ *mark.Request, out []mark.Outcome) { got = out })
	if err != nil {
		return 0, "", err
	}
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	if len(got) != 1 || !got[0].Sent {
		return 0, "", errors.New("mark_contact: the item was not confirmed")
	}
	return got[0].Code, got[0].Message, nil
}

// Read reads one conversation.
func (s *sinkService) Read(ctx context.Context, from string, c mark.Conversation) (preflight.Marks, error) {
	got, err := s.r.Search(ctx, from, []mark.Conversation{c})
	if err != nil {
		return preflight.Marks{}, err
	}
	m, found := got[c]
	return preflight.Marks{Found: found, Standard: m.Text, Custom: m.Custom}, nil
}
