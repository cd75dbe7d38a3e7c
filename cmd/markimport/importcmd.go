package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline"
	"markimport/pipeline/backup"
	"markimport/pipeline/mark"
	"markimport/pipeline/rejects"
	"markimport/pipeline/report"
	"markimport/pipeline/state"
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
	log    *slog.Logger
	runID  string
	start  time.Time
	in     *readers.Input // the input's files, once resolved
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

// inputs are the files the command reads, for the check that no output is
// one of them.
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

// parseCommand parses a command's flags into its configuration. When it
// returns false the command is over, with the exit code given.
func parseCommand(name string, dry bool, args []string, stdout, stderr io.Writer) (*command, int, bool) {
	fs, f := newImportFlags(name, dry, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	c := &command{importFlags: f, name: name, args: args, stdout: stdout, stderr: stderr, runID: newRunID(), start: time.Now()}
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

// importRun is one validate or run: its flags, checked, and what it made.
type importRun struct {
	*command
	dry bool

	ropts      readers.Options
	maxInvalid *pipeline.Limit
	memLimit   int64
	files      report.Files // of --report, when given
}

// cmdImport runs validate (dry) or run.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer, dry bool) int {
	name := "run"
	if dry {
		name = "validate"
	}
	c, code, ok := parseCommand(name, dry, args, stdout, stderr)
	if !ok {
		return code
	}
	r := &importRun{command: c, dry: dry}
	if err := r.check(); err != nil {
		return r.fail("%v", err)
	}
	release, err := r.claim()
	if err != nil {
		return r.fail("%v", err)
	}
	defer release()
	return r.run(ctx)
}

// fail reports a usage or configuration error: exit 2, nothing sent, no
// output touched.
func (c *command) fail(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "markimport %s: %s\n", c.name, sink.Redact(fmt.Sprintf(format, a...)))
	return exitUsage
}

// check validates the flags together, before anything is opened or
// written.
func (r *importRun) check() error {
	f := r.importFlags
	if err := f.checkPacing(r.dry, r.log); err != nil {
		return err
	}
	switch {
	case f.input == "":
		return errors.New("--input is required")
	case !r.dry && f.report == "":
		return errors.New("--report is required")
	case f.resume && f.overwrite:
		return errors.New("--resume continues the report and --overwrite replaces it: give one of them")
	case f.resume && f.report == "":
		return errors.New("--resume needs the --report of the interrupted run")
	case f.resume && f.input == "-":
		return errors.New("--resume needs an input file, not standard input: it checks that the input is the same")
	case f.rejects != "" && f.input == "-":
		return errors.New("--rejects needs an input file: standard input cannot be read twice")
	case f.stateDir != "" && f.sorted:
		return errors.New("--state looks items up partition by partition as the grouping plans them; --sorted plans user by user in file order: drop --sorted")
	case f.full && f.stateDir == "":
		return errors.New("--full refreshes the state: it needs --state")
	case f.fakeState != "" && !f.fake:
		return errors.New("--fake-state keeps the built-in emulator's marks between rehearsals: it needs --fake")
	case f.runReport != "":
		return errors.New("--run-report belongs to verify")
	case f.mode != "upsert" && f.mode != "insert":
		return fmt.Errorf("--mode %q: upsert (write every item) or insert (leave conversations that already hold marks alone)", f.mode)
	case f.mode == "insert" && r.dry:
		return errors.New("--mode insert: validate cannot know which conversations already hold marks on the server (run reads them back before writing); rehearse it with run --fake --mode insert")
	case f.backup != "" && r.dry:
		return errors.New("--backup: validate sends nothing, so there is nothing to back up and no server to read; rehearse the backup with run --fake --backup")
	case f.backup != "" && (strings.HasSuffix(f.backup, ".gz") || strings.HasSuffix(f.backup, ".zst")):
		return fmt.Errorf("--backup %s: the backup is written as plain CSV or Parquet (.parquet): drop the compression suffix", f.backup)
	case f.maxInvalid != "" && f.input == "-":
		return errors.New("--max-invalid needs an input file: standard input cannot be read twice")
	}
	var err error
	if r.ropts, err = f.readerOptions(); err != nil {
		return err
	}
	if _, err := readers.FormatOf("", f.format); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if err := r.resolveInput(); err != nil {
		return err
	}
	inFormat := r.in.Format
	if f.rejects != "" {
		if err := rejects.Check(r.in, r.ropts); err != nil {
			return err
		}
	}
	if f.rejects != "" && (inFormat == readers.Parquet) != readers.IsParquetName(f.rejects) {
		if inFormat == readers.Parquet {
			return fmt.Errorf("--rejects %s: a Parquet input gives a Parquet rejects file: name it .parquet", f.rejects)
		}
		return fmt.Errorf("--rejects %s: a CSV input gives a CSV rejects file: do not name it .parquet", f.rejects)
	}
	if f.maxInvalid != "" {
		if r.maxInvalid, err = pipeline.ParseLimit(f.maxInvalid); err != nil {
			return fmt.Errorf("--max-invalid: %v", err)
		}
	}
	if r.memLimit, err = parseSize(f.memoryLimit); err != nil {
		return fmt.Errorf("--memory-limit: %v", err)
	}
	if f.rate > sink.DefaultRate && !r.dry {
		r.log.Warn(fmt.Sprintf("--rate %g is above the API's limit of %d requests/s: unless the app's quota was raised, the excess is throttled (60007) and the run is slower than at %d",
			f.rate, sink.DefaultRate, sink.DefaultRate))
	}
	if f.report != "" {
		r.files = report.FilesOf(f.report)
	}
	// Whether an existing output may be replaced is judged under its lock
	// (claim).
	if err := checkOutputs(r.inputFiles(), r.outputs(), r.in.Roots); err != nil {
		return err
	}
	if !r.dry {
		return r.checkBackupInputs()
	}
	return nil
}

// outputs are the files the run may write, each with the file written
// beside it before the rename.
func (r *importRun) outputs() []named {
	var out []named
	if r.report != "" {
		for _, p := range r.files.All() {
			out = append(out, named{"--report", p})
		}
	}
	for _, o := range []named{{"--summary", r.summary}, {"--rejects", r.rejects}, {"--fake-state", r.fakeState}} {
		if o.path != "" {
			out = append(out, o, named{o.flag, o.path + ".tmp"}, named{o.flag, o.path + ".lock"})
		}
	}
	if r.backup != "" {
		for _, p := range backup.FilesOf(r.backup).All() {
			out = append(out, named{"--backup", p})
		}
	}
	if r.stateDir != "" {
		out = append(out, named{"--state", filepath.Join(r.stateDir, state.LockName)}, named{"--state", filepath.Join(r.stateDir, "MANIFEST.json")})
	}
	for _, o := range []named{{"--cpuprofile", r.cpuProfile}, {"--memprofile", r.memProfile}} {
		if o.path != "" {
			out = append(out, o, named{o.flag, o.path + ".lock"})
		}
	}
	return out
}

// run does the work once the flags are known to be right.
func (r *importRun) run(ctx context.Context) int {
	// The Go runtime collects harder as the process nears the limit; the
	// grouping store takes a share of it and spills beyond.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(r.memLimit))
	if r.cpuProfile != "" {
		stop, err := startCPUProfile(r.cpuProfile)
		if err != nil {
			return r.fail("--cpuprofile: %v", err)
		}
		defer stop()
	}
	if r.memProfile != "" {
		defer writeHeapProfile(r.memProfile, r.stderr)
	}

	ctr := &mark.Counters{}
	var sender pipeline.Sender
	var readCfg sink.Config // --backup's reads
	appID := ""             // validate: the state's own
	var fake *fakeRun
	var pace *paceFile
	if !r.dry {
		cfg, closeFake, err := r.connection()
		if err != nil {
			return r.fail("%v", err)
		}
		fake = closeFake
		if fake != nil {
			defer fake.Close()
		}
		r.applyPacing(&cfg, ctr, r.log)
		tr := traceOf(ctx)
		cfg.OnDeparture = tr.Departure
		if r.report != "" {
			if pace, err = openPace(r.files.Pace, r.log); err != nil {
				return r.fail("%v", err)
			}
			defer pace.Close()
			cfg.NotBefore = pace.NotBefore(sink.NewPacer(cfg.Rate, cfg.Margin).Window())
			cfg.OnDeparture = chainDepartures(pace.Record, tr.Departure)
		}
		readCfg = r.readConfig(cfg, tr.ReadDeparture)
		client, err := sink.New(cfg)
		if err != nil {
			return r.fail("%v", err)
		}
		sender = client
		appID = strconv.FormatUint(cfg.SDKAppID, 10)
	}
	var st *state.Store
	if r.stateDir != "" {
		// Locked (claim). validate of a state that does not exist yet
		// reads nothing and creates nothing.
		var err error
		if st, err = state.Open(r.stateDir, appID, state.Options{Full: r.full, Dry: r.dry}); err != nil {
			return r.fail("--state: %v", err)
		}
		defer st.Close()
		if n := st.Notice(); n != "" {
			fmt.Fprintf(r.stderr, "markimport %s: --state: %s\n", r.name, n)
		}
		r.log.Info("state opened", "state", r.stateDir, "conversations", st.Entries(), "full", r.full)
	}

	var journal *report.Journal
	var done *report.Done
	var lines report.Writer = report.Discard{}
	if r.report != "" {
		var err error
		if journal, done, err = r.openJournal(); err != nil {
			var ie *readers.InputError
			if errors.As(err, &ie) {
				return r.inputError(ie)
			}
			return r.fail("%v", err)
		}
		lines = journal.Writer()
		setEmergencyFlush(func() { journal.Sync() })
		defer setEmergencyFlush(nil)
		if done != nil {
			for _, note := range done.Notes {
				r.log.Warn(note)
			}
			r.log.Info("resuming", "report", r.report, "rows_already_ok", done.Len())
		}
	}

	var bk *backupRun
	if r.backup != "" || r.mode == "insert" {
		var err error
		if bk, err = r.startGate(readCfg, done); err != nil {
			if journal != nil {
				journal.Abandon()
			}
			return r.fail("%v", err)
		}
	}

	var rej *rejects.Rows
	if r.rejects != "" {
		rej = rejects.New()
	}
	r.log.Info("run started", "command", r.name, "input", r.input, "report", r.report)
	progress := startProgress(ctr, r.stderr, r.quiet, r.progressEvery, r.log)
	opts := pipeline.Options{
		Input:    r.in.String(),
		Files:    r.in,
		Reader:   r.ropts,
		DryRun:   r.dry,
		Report:   lines,
		Sender:   sender,
		Rate:     r.rate,
		Counters: ctr,
		Log:      r.log,
		Done:     done,

		MemoryBudget: storeBudget(r.memLimit),
		TempDir:      r.tempDir,
		Sorted:       r.sorted,
		Rejects:      rej,
		MaxInvalid:   r.maxInvalid,
	}
	if st != nil {
		opts.State = statePort{st}
	}
	if bk != nil {
		opts.Gate = bk.gate
		opts.ReadLatency = bk.reads.Latency
	}
	if journal != nil {
		opts.InputRead = journal.Commit
	}
	sum, runErr := pipeline.Run(ctx, opts)
	progress.Stop()

	var inErr *readers.InputError
	var mismatch *report.MismatchError
	if errors.As(runErr, &inErr) || errors.As(runErr, &mismatch) {
		if journal != nil {
			journal.Abandon()
		}
		if bk != nil && bk.w != nil {
			bk.w.Abandon()
		}
		if mismatch != nil {
			return r.resumeMismatch(mismatch, &sum)
		}
		return r.inputError(inErr)
	}
	// A report that could not be written is kept as it is on disk, for
	// --resume once the disk is fixed, and stored nowhere else.
	var reportErr *pipeline.ReportError
	reportFailed := errors.As(runErr, &reportErr)
	if bk != nil {
		sum.ReadRequests = bk.gate.Reads.Load()
	}
	runErr = r.endBackup(ctx, bk, &sum, runErr, reportFailed)
	if journal != nil && reportFailed {
		journal.Abandon()
	} else if journal != nil {
		if err := journal.Finish(); err != nil {
			fmt.Fprintf(r.stderr, "markimport %s: %s\n", r.name, sink.Redact(err.Error()))
			if runErr == nil {
				runErr = err
			}
		}
	}
	if st != nil && !r.dry && ctx.Err() == nil && !reportFailed {
		// After the report: the state holds only items whose ok lines are
		// durable. A run stopped by a fatal answer stores what it
		// confirmed; an interrupted one stops at once (merging a state of
		// millions of conversations takes seconds): its --resume records
		// what its report has ok, and a run without --resume sends those
		// items again.
		if err := st.Commit(); err != nil {
			fmt.Fprintf(r.stderr, "markimport %s: the state was not updated: %v (the next run sends these items again)\n", r.name, err)
			if runErr == nil {
				runErr = err
			}
		} else if n := st.Added(); n > 0 {
			r.log.Info("state updated", "state", r.stateDir, "confirmed_items", n, "conversations", st.Entries())
		}
	}
	if rej != nil {
		if err := r.writeRejects(rej); err != nil && runErr == nil {
			runErr = err
		}
	}
	code := r.exitCode(ctx, &sum, runErr, journal)
	printSummary(r.stdout, &sum, r.dry, r.rate)
	if fake != nil {
		fmt.Fprintf(r.stdout, "emulator now holds: %s\n", fake.describe())
		if err := fake.save(); err != nil {
			fmt.Fprintf(r.stderr, "markimport %s: %v\n", r.name, err)
			code = max(code, exitSomeNotOK)
		}
	}
	if r.summary != "" {
		if err := r.writeSummary(&sum, code); err != nil {
			fmt.Fprintf(r.stderr, "markimport %s: write summary: %v\n", r.name, err)
			code = max(code, exitSomeNotOK)
		}
	}
	// The last line an orchestrator's log holds of the run.
	fields := []any{"command", r.name, "exit_code", code, "rows", sum.Rows, "requests_sent", sum.RequestsSent}
	for _, st := range report.Statuses {
		if n := sum.Statuses[st]; n > 0 {
			fields = append(fields, string(st), n)
		}
	}
	r.log.Info("run finished", fields...)
	return code
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

// openJournal starts the report's journal, or continues it with --resume,
// fingerprinting the input for the check of a later --resume: before
// anything else to resume (the journal must be of this input), while
// the run reads the input for a fresh run (the journal records the
// fingerprint when it is committed, before the first request is sent).
func (r *importRun) openJournal() (*report.Journal, *report.Done, error) {
	fingerprint := func() (report.InputDigest, error) {
		fp, err := report.DigestInput(r.in)
		if err != nil {
			return fp, &readers.InputError{Path: r.input, Err: err}
		}
		return fp, nil
	}
	switch {
	case r.dry || r.input == "-":
		j, err := report.StartJournal(r.files, nil, r.in)
		return j, nil, err
	case r.resume:
		fp, err := fingerprint()
		if err != nil {
			return nil, nil, err
		}
		return report.ResumeJournal(r.files, fp, r.in)
	}
	j, err := report.StartJournalDigesting(r.files, fingerprint, r.in)
	return j, nil, err
}

// inputError reports an input error: exit 2, nothing sent, every existing
// output as it was.
func (r *importRun) inputError(e *readers.InputError) int {
	fmt.Fprintf(r.stderr, "markimport %s: input error: %s\nNothing was sent.\n", r.name, sink.Redact(e.Error()))
	return exitUsage
}

// resumeMismatch reports a resumed report whose ok rows are not the
// input's: exit 2.
func (r *importRun) resumeMismatch(e *report.MismatchError, sum *pipeline.Summary) int {
	fmt.Fprintf(r.stderr, "markimport %s: %s\n", r.name, sink.Redact(e.Error()))
	if sum.RequestsSent > 0 {
		// Sorted input is sent as it is read.
		fmt.Fprintf(r.stderr, "%d requests were sent before the row was read.\n", sum.RequestsSent)
	} else {
		fmt.Fprintln(r.stderr, "Nothing was sent.")
	}
	return exitUsage
}

// reportUnwritable says that the run stopped because its report could not
// be written, and what to do.
func (r *importRun) reportUnwritable(e *pipeline.ReportError, journal *report.Journal) {
	msg := sink.Redact(e.Error())
	switch {
	case r.dry:
		fmt.Fprintf(r.stderr, "markimport %s: %s\nThe run stopped. Free space on that disk (or fix it), then run again.\n", r.name, msg)
	case journal == nil || !journal.Committed():
		fmt.Fprintf(r.stderr, "markimport %s: %s\nThe run stopped before sending anything; the new journal was removed. Free space on that disk (or fix it), then run again.\n", r.name, msg)
	default:
		fmt.Fprintf(r.stderr, "markimport %s: %s\nSending stopped at once: no request left after it, and those on the wire finished. The journal %s keeps every result made durable; the others are sent again (which changes nothing already applied). Free space on that disk (or fix it), then continue:\n  %s\n",
			r.name, msg, r.files.Journal, resumeCommand(r.args))
	}
}

// writeRejects writes the rejects file in the input's format.
func (r *importRun) writeRejects(rej *rejects.Rows) error {
	var n int64
	var err error
	if r.in.Format == readers.Parquet {
		n, err = rejects.WriteParquet(r.in, r.rejects, rej)
	} else {
		n, err = rejects.WriteCSV(r.in, r.ropts, r.rejects, rej)
	}
	if err != nil {
		fmt.Fprintf(r.stderr, "markimport %s: %s\n", r.name, sink.Redact(err.Error()))
		return err
	}
	r.log.Info("rejects written", "path", r.rejects, "rows", n)
	return nil
}

// exitCode decides the exit code from the rows and how the run ended, and
// prints what the user must know about the end: a fatal answer, an
// interrupt, too many bad rows. These go to stderr under --quiet too.
func (r *importRun) exitCode(ctx context.Context, sum *pipeline.Summary, runErr error, journal *report.Journal) int {
	var re *pipeline.ReportError
	if errors.As(runErr, &re) {
		r.reportUnwritable(re, journal)
		return exitFatal
	}
	var ge *pipeline.GuardError
	if errors.As(runErr, &ge) {
		also := ""
		if r.rejects != "" {
			also = " and " + r.rejects
		}
		fmt.Fprintf(r.stderr, "markimport %s: %s: nothing was sent (see the report%s)\n", r.name, ge.Error(), also)
		return exitSomeNotOK
	}
	interrupted := fmt.Sprintf("interrupted; the report %s accounts for every row so far.", r.report)
	if !r.dry {
		interrupted += " To continue:\n  " + resumeCommand(r.args)
	}
	return r.endCode(ctx, sum.AllOK(), runErr, ending{
		unreachable: "No request reached it; every row not sent is reported unsent. Fix the cause, then run again with --resume.",
		fatal:       "Rows not sent are reported unsent; fix the cause, then run again with --resume.",
		interrupted: interrupted,
	})
}

// statePort is the state as the pipeline's port.
type statePort struct{ *state.Store }

// Partition loads the state of planner partition p.
func (s statePort) Partition(p int) (pipeline.StatePart, error) {
	part, err := s.Store.Partition(p)
	if err != nil {
		return nil, err
	}
	return part, nil
}
