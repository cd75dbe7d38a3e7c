package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline"
	"markimport/readers"
	"markimport/sink"
)

const usage = `markimport imports conversation marks into Tencent Cloud IM (v4/recentcontact/mark_contact).

Usage:
  markimport validate --input FILE [--report FILE] [--summary FILE]      dry run: nothing is sent
  markimport run      --input FILE --report FILE --sdkappid N --admin ID
                      (--region NAME | --endpoint URL) [--rate 200] [--concurrency N]
  markimport run      --fake --input FILE --report FILE                   rehearsal on the built-in emulator
  markimport fake-server --listen 127.0.0.1:8080 [flags]                  run the emulator
  markimport verify   --input FILE --report FILE --sdkappid N --admin ID
                      (--region NAME | --endpoint URL) [--rate 200]      read the marks back and compare
  markimport help

Run "markimport COMMAND -h" for the flags of a command.
Credentials come from MARKIMPORT_SECRET_KEY (or --secret-key-file), or a ready
usersig in MARKIMPORT_USERSIG (or --usersig-file); --sdkappid and --admin may
also come from MARKIMPORT_SDKAPPID and MARKIMPORT_ADMIN.

`

// run is the whole program: it parses args, runs a command and returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage, exitCodesHelp)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "validate":
		return cmdImport(ctx, rest, stdout, stderr, true)
	case "run":
		return cmdImport(ctx, rest, stdout, stderr, false)
	case "fake-server":
		return cmdFakeServer(ctx, rest, stdout, stderr)
	case "verify":
		return cmdVerify(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage, exitCodesHelp)
		return exitOK
	}
	fmt.Fprintf(stderr, "markimport: unknown command %q\n\n%s%s", cmd, usage, exitCodesHelp)
	return exitUsage
}

// mapFlag collects repeated --map old=new.
type mapFlag map[string]string

func (m mapFlag) String() string { return "" }
func (m mapFlag) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
		return fmt.Errorf("want input_name=column, e.g. legacy_user=from_account")
	}
	m[strings.TrimSpace(from)] = strings.TrimSpace(to)
	return nil
}

// importFlags are the flags of validate and run.
type importFlags struct {
	input, report, summary string
	format, delimiter      string
	maps                   mapFlag
	rate, rateMargin       float64
	quiet                  bool
	progressEvery          time.Duration
	memoryLimit            string
	rejects, maxInvalid    string
	logFormat              string
	sorted                 bool
	tempDir                string
	cpuProfile, memProfile string

	// run only
	fake, resume               bool
	sdkappid                   string
	admin, region, endpoint    string
	usersigFile, secretKeyFile string
	sigTTL                     time.Duration
	concurrency, maxAttempts   int
	timeout                    time.Duration
}

func newImportFlags(name string, dry bool, stderr io.Writer) (*flag.FlagSet, *importFlags) {
	f := &importFlags{maps: mapFlag{}}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.input, "input", "", "input file: .csv, .csv.gz, .csv.zst, .parquet, or - for stdin")
	fs.StringVar(&f.report, "report", "", "report file, one line per input row (CSV)")
	fs.StringVar(&f.summary, "summary", "", "write the summary as JSON to this file")
	fs.StringVar(&f.format, "format", "", "input format csv|parquet (default: from the file name)")
	fs.StringVar(&f.delimiter, "delimiter", ",", "CSV field separator: a single character, or \"tab\"")
	fs.Var(f.maps, "map", "rename an input column: legacy_name=from_account (repeatable)")
	fs.Float64Var(&f.rate, "rate", sink.DefaultRate, "requests per second across all workers (the API allows 200)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output, and only warnings and errors in the log")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json (one JSON object per line)")
	fs.StringVar(&f.rejects, "rejects", "", "write every row that did not end ok, with its original columns plus status, code, message (in the input's format)")
	fs.StringVar(&f.maxInvalid, "max-invalid", "", "send nothing if more rows than this are invalid or rejected: a count (100) or a share (0.5%)")
	fs.DurationVar(&f.progressEvery, "progress-every", 10*time.Second, "progress log interval when stderr is not a terminal")
	fs.StringVar(&f.memoryLimit, "memory-limit", "1GiB", "memory for grouping rows by user (e.g. 256MiB, 2GiB, bytes); beyond it rows spill to temporary files")
	fs.BoolVar(&f.sorted, "sorted", false, "the input is grouped by from_account: plan and send a user at a time, without grouping")
	fs.StringVar(&f.tempDir, "temp-dir", "", "directory for spill files (default $TMPDIR)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile to this file at the end")
	if !dry {
		fs.BoolVar(&f.fake, "fake", false, "rehearse against the built-in emulator on loopback (no credentials needed)")
		fs.BoolVar(&f.resume, "resume", false, "continue an interrupted run: keep the report's ok rows, send the rest")
		fs.StringVar(&f.sdkappid, "sdkappid", os.Getenv("MARKIMPORT_SDKAPPID"), "the app's SDKAppID (env MARKIMPORT_SDKAPPID)")
		fs.StringVar(&f.admin, "admin", os.Getenv("MARKIMPORT_ADMIN"), "an App admin account (env MARKIMPORT_ADMIN)")
		fs.StringVar(&f.region, "region", "", "data centre: "+strings.Join(sink.RegionNames(), ", "))
		fs.StringVar(&f.endpoint, "endpoint", "", "API base URL instead of --region (https; http only on loopback)")
		fs.StringVar(&f.usersigFile, "usersig-file", "", "file holding a ready usersig (or env MARKIMPORT_USERSIG)")
		fs.StringVar(&f.secretKeyFile, "secret-key-file", "", "file holding the app's secret key (or env MARKIMPORT_SECRET_KEY)")
		fs.DurationVar(&f.sigTTL, "sig-ttl", 24*time.Hour, "lifetime of usersigs made from the secret key")
		fs.IntVar(&f.concurrency, "concurrency", 0, "requests in flight (default rate+16)")
		fs.Float64Var(&f.rateMargin, "rate-margin", sink.DefaultMargin, "share of --rate left unused as headroom for network jitter (0.01 = 1%)")
		fs.IntVar(&f.maxAttempts, "max-attempts", sink.DefaultMaxAttempts, "tries per item before it is reported failed")
		fs.DurationVar(&f.timeout, "timeout", sink.DefaultTimeout, "timeout of one HTTP request")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of markimport %s:\n", name)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n", exitCodesHelp)
	}
	return fs, f
}

func (f *importFlags) readerOptions() (readers.Options, error) {
	o := readers.Options{Format: f.format, Map: f.maps}
	switch d := f.delimiter; {
	case d == "tab" || d == `\t`:
		o.Delimiter = '\t'
	case len([]rune(d)) == 1:
		o.Delimiter = []rune(d)[0]
	default:
		return o, fmt.Errorf("--delimiter %q: want one character or \"tab\"", d)
	}
	return o, nil
}

// cmdImport runs validate (dry) or run.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer, dry bool) int {
	name := "run"
	if dry {
		name = "validate"
	}
	fs, f := newImportFlags(name, dry, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	runID := newRunID()
	log, err := newLogger(stderr, f.logFormat, f.quiet, runID)
	if err != nil {
		fmt.Fprintf(stderr, "markimport %s: %v\n", name, err)
		return exitUsage
	}
	started := time.Now()
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "markimport %s: %s\n", name, sink.Redact(fmt.Sprintf(format, a...)))
		return exitUsage
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if f.input == "" {
		return fail("--input is required")
	}
	if !dry && f.report == "" {
		return fail("--report is required")
	}
	if f.rate <= 0 {
		return fail("--rate must be positive")
	}
	ropts, err := f.readerOptions()
	if err != nil {
		return fail("%v", err)
	}
	var maxInvalid *pipeline.Limit
	if f.maxInvalid != "" {
		if maxInvalid, err = pipeline.ParseLimit(f.maxInvalid); err != nil {
			return fail("--max-invalid: %v", err)
		}
	}
	if f.rejects != "" && f.input == "-" {
		return fail("--rejects needs an input file: standard input cannot be read twice")
	}
	if f.rejects != "" && isParquetInput(f.input, f.format) && !isParquetInput(f.rejects, "") {
		return fail("--rejects %s: a Parquet input gives a Parquet rejects file: name it .parquet", f.rejects)
	}
	memLimit, err := parseSize(f.memoryLimit)
	if err != nil {
		return fail("--memory-limit: %v", err)
	}
	// The Go runtime collects harder as the process nears the limit; the
	// grouping store takes a share of it and spills beyond.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(memLimit))
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return fail("--cpuprofile: %v", err)
		}
		defer stopProfile()
	}
	if f.memProfile != "" {
		defer writeHeapProfile(f.memProfile, stderr)
	}

	ctr := &pipeline.Counters{}
	var sender pipeline.Sender
	var fake *fakeRun
	if !dry {
		var cfg sink.Config
		if f.fake {
			fake, err = startFake()
			if err != nil {
				return fail("start the emulator: %v", err)
			}
			defer fake.Close()
			cfg = fake.clientConfig()
		} else {
			cfg, err = f.clientConfig()
			if err != nil {
				return fail("%v", err)
			}
		}
		f.applyPacing(&cfg, ctr, log)
		client, err := sink.New(cfg)
		if err != nil {
			return fail("%v", err)
		}
		sender = client
	}

	var report pipeline.ReportWriter = pipeline.Discard{}
	var done *pipeline.RowSet
	if f.report != "" {
		release, err := lockReport(f.report)
		if err != nil {
			return fail("%v", err)
		}
		defer release()
		// A Parquet report is made at the end from a CSV journal, which is
		// what is written as results arrive and what --resume reads.
		csvPath := f.report
		if pipeline.IsParquetPath(f.report) {
			csvPath = pipeline.JournalPath(f.report)
		}
		var rep *pipeline.CSVReport
		if f.resume {
			if rep, done, err = resumeReport(f.input, csvPath); err != nil {
				return fail("%v", err)
			}
			log.Info("resuming", "report", f.report, "rows_already_ok", done.Len())
		} else {
			if rep, err = newReport(f.input, csvPath, dry); err != nil {
				return fail("%v", err)
			}
		}
		report = rep
		setEmergencyFlush(func() { rep.Sync() })
		defer setEmergencyFlush(nil)
	} else if f.resume {
		return fail("--resume needs the --report of the interrupted run")
	}

	var rejects *pipeline.Rejects
	if f.rejects != "" {
		rejects = pipeline.NewRejects()
	}
	log.Info("run started", "command", name, "input", f.input, "report", f.report)
	progress := startProgress(ctr, stderr, f.quiet, f.progressEvery, log)
	sum, runErr := pipeline.Run(ctx, pipeline.Options{
		Input:    f.input,
		Reader:   ropts,
		DryRun:   dry,
		Report:   report,
		Sender:   sender,
		Rate:     f.rate,
		Counters: ctr,
		Log:      log,
		Done:     done,

		MemoryBudget: storeBudget(memLimit),
		TempDir:      f.tempDir,
		Sorted:       f.sorted,
		Rejects:      rejects,
		MaxInvalid:   maxInvalid,
	})
	progress.Stop()
	if err := report.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("report %s: %w", f.report, err)
	}
	if f.report != "" && pipeline.IsParquetPath(f.report) {
		if err := pipeline.WriteParquetReport(pipeline.JournalPath(f.report), f.report); err != nil {
			fmt.Fprintf(stderr, "markimport %s: write the Parquet report %s: %v (the CSV journal %s holds the same lines)\n", name, f.report, err, pipeline.JournalPath(f.report))
			if runErr == nil {
				runErr = err
			}
		}
	}

	var inErr *readers.InputError
	if errors.As(runErr, &inErr) {
		fmt.Fprintf(stderr, "markimport %s: input error: %s\nNothing was sent.\n", name, sink.Redact(inErr.Error()))
		return exitUsage
	}
	if rejects != nil {
		var n int64
		var err error
		if isParquetInput(f.input, f.format) {
			n, err = pipeline.WriteRejectsParquet(f.input, f.rejects, rejects)
		} else {
			n, err = pipeline.WriteRejectsCSV(f.input, ropts, f.rejects, rejects)
		}
		if err != nil {
			fmt.Fprintf(stderr, "markimport %s: %s\n", name, sink.Redact(err.Error()))
			if runErr == nil {
				runErr = err
			}
		} else {
			log.Info("rejects written", "path", f.rejects, "rows", n)
		}
	}
	code := exitOK
	if !sum.AllOK() {
		code = exitSomeNotOK
	}
	var fe *pipeline.FatalError
	var ge *pipeline.GuardError
	switch {
	case errors.As(runErr, &ge):
		fmt.Fprintf(stderr, "markimport %s: %s: nothing was sent (see the report%s)\n", name, ge.Error(), map[bool]string{true: " and " + f.rejects, false: ""}[f.rejects != ""])
		code = exitSomeNotOK
	case errors.As(runErr, &fe):
		code = exitFatal
	case runErr != nil && ctx.Err() != nil:
		code = exitInterrupted
	case runErr != nil:
		fmt.Fprintf(stderr, "markimport %s: %s\n", name, sink.Redact(runErr.Error()))
		if code == exitOK {
			code = exitSomeNotOK
		}
	}
	printSummary(stdout, &sum, dry, f.rate)
	if fake != nil {
		fmt.Fprintf(stdout, "emulator now holds: %s\n", fake.describe())
	}
	if fe != nil {
		fmt.Fprintf(stderr, "markimport run: stopped by a fatal API error %d: %s\nRows not sent are reported unsent; fix the cause, then run again with --resume.\n", fe.Code, sink.Redact(fe.Error()))
	}
	if code == exitInterrupted {
		fmt.Fprintf(stderr, "markimport run: interrupted; the report %s accounts for every row so far. To continue:\n  %s\n", f.report, resumeCommand(args))
	}
	if f.summary != "" {
		if err := writeSummary(f.summary, &sum, code, runID, started); err != nil {
			fmt.Fprintf(stderr, "markimport %s: write summary: %v\n", name, err)
			if code == exitOK {
				code = exitSomeNotOK
			}
		}
	}
	// The last line an orchestrator's log holds of the run.
	fields := []any{"command", name, "exit_code", code, "rows", sum.Rows, "requests_sent", sum.RequestsSent}
	for _, st := range pipeline.Statuses {
		if n := sum.Statuses[st]; n > 0 {
			fields = append(fields, string(st), n)
		}
	}
	log.Info("run finished", fields...)
	return code
}

// clientConfig builds the connection settings of a real run from flags and
// the environment.
// applyPacing sets the flags of pacing, retries and timeouts, which run and
// verify share, on cfg; the concurrency, when not given, is the default
// for the rate.
func (f *importFlags) applyPacing(cfg *sink.Config, ctr *pipeline.Counters, log *slog.Logger) {
	cfg.Rate = f.rate
	cfg.Margin = f.rateMargin
	cfg.Concurrency = f.concurrency
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = sink.DefaultConcurrency(f.rate)
	}
	cfg.MaxAttempts = f.maxAttempts
	cfg.Timeout = f.timeout
	cfg.Counters = ctr
	cfg.Log = log
}

func (f *importFlags) clientConfig() (sink.Config, error) {
	var cfg sink.Config
	if f.sdkappid == "" {
		return cfg, errors.New("--sdkappid (or MARKIMPORT_SDKAPPID) is required")
	}
	id, err := strconv.ParseUint(strings.TrimSpace(f.sdkappid), 10, 64)
	if err != nil || id == 0 {
		return cfg, fmt.Errorf("--sdkappid %q is not a positive number", f.sdkappid)
	}
	cfg.SDKAppID = id
	cfg.Admin = strings.TrimSpace(f.admin)
	if cfg.Admin == "" {
		return cfg, errors.New("--admin (or MARKIMPORT_ADMIN) is required")
	}
	switch {
	case f.region != "" && f.endpoint != "":
		return cfg, errors.New("give --region or --endpoint, not both")
	case f.region != "":
		if cfg.Endpoint, err = sink.RegionEndpoint(f.region); err != nil {
			return cfg, err
		}
	case f.endpoint != "":
		cfg.Endpoint = f.endpoint
	default:
		return cfg, fmt.Errorf("--region or --endpoint is required (regions: %s)", strings.Join(sink.RegionNames(), ", "))
	}
	key, err := secretFrom(f.secretKeyFile, "MARKIMPORT_SECRET_KEY", "--secret-key-file")
	if err != nil {
		return cfg, err
	}
	sig, err := secretFrom(f.usersigFile, "MARKIMPORT_USERSIG", "--usersig-file")
	if err != nil {
		return cfg, err
	}
	switch {
	case key != "":
		cfg.Credentials, err = sink.NewKeyedSig(key, id, cfg.Admin, f.sigTTL)
	case sig != "":
		cfg.Credentials, err = sink.NewStaticSig(sig)
	default:
		err = errors.New("no credentials: set MARKIMPORT_SECRET_KEY or --secret-key-file (usersigs are then made and renewed), or MARKIMPORT_USERSIG or --usersig-file")
	}
	return cfg, err
}

// secretFrom reads a secret from a file flag or else an environment variable.
func secretFrom(file, env, flagName string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %v", flagName, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s %s: the file is empty", flagName, file)
		}
		sink.RegisterSecret(s)
		return s, nil
	}
	s := strings.TrimSpace(os.Getenv(env))
	if s != "" {
		sink.RegisterSecret(s)
	}
	return s, nil
}

// printSummary prints the human summary (and, for validate, the plan).
func printSummary(w io.Writer, s *pipeline.Summary, dry bool, rate float64) {
	if dry {
		fmt.Fprintf(w, "plan for %s:\n", s.Input)
	} else {
		fmt.Fprintf(w, "run of %s:\n", s.Input)
	}
	fmt.Fprintf(w, "  rows           %d\n", s.Rows)
	for _, st := range pipeline.Statuses {
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
		ExitCode int `json:"exit_code"`
	}{runID, started.UTC(), time.Now().UTC(), s, code}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(sink.Redact(string(b))), '\n'), 0o644)
}

// newReport creates the report of a fresh run and records, beside it, the
// fingerprint of the input so that --resume can refuse a changed file.
func newReport(input, path string, dry bool) (*pipeline.CSVReport, error) {
	rep, err := pipeline.CreateCSVReport(path)
	if err != nil {
		return nil, err
	}
	if dry || input == "-" {
		os.Remove(pipeline.MetaPath(path))
		return rep, nil
	}
	fp, err := pipeline.FingerprintFile(input)
	if err != nil {
		rep.Close()
		return nil, &readers.InputError{Path: input, Err: err}
	}
	if err := pipeline.WriteReportMeta(path, fp); err != nil {
		rep.Close()
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	return rep, nil
}

// resumeReport reopens the report of an interrupted run after checking that
// the input is the same file.
func resumeReport(input, path string) (*pipeline.CSVReport, *pipeline.RowSet, error) {
	if input == "-" {
		return nil, nil, errors.New("--resume needs an input file, not standard input")
	}
	fp, err := pipeline.FingerprintFile(input)
	if err != nil {
		return nil, nil, &readers.InputError{Path: input, Err: err}
	}
	if err := pipeline.CheckReportMeta(path, fp); err != nil {
		return nil, nil, err
	}
	return pipeline.ResumeCSVReport(path)
}

// resumeCommand is the command line that continues this run.
func resumeCommand(args []string) string {
	parts := []string{"markimport", "run"}
	resume := false
	for _, a := range args {
		if a == "--resume" || a == "-resume" {
			resume = true
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

// isParquetInput tells the input's format as readers.Open does: --format,
// or else a .parquet or .pq name.
func isParquetInput(path, format string) bool {
	if format != "" {
		return strings.EqualFold(format, "parquet")
	}
	lower := strings.ToLower(path)
	return strings.HasSuffix(lower, ".parquet") || strings.HasSuffix(lower, ".pq")
}
