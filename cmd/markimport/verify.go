package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"markimport/pipeline"
	"markimport/pipeline/mark"
	"markimport/pipeline/report"
	"markimport/readers"
	"markimport/sink"
)

// cmdVerify reads back the marks of every conversation the input plans and
// compares them with what the rows asked for: markimport verify --input FILE
// --report FILE [--summary FILE] with the connection and reader flags of run.
// It exits 0 when every checked row matches, 1 when some do not, 2 on a
// usage or input error, 3 on a fatal API error and 130 when interrupted.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const name = "verify"
	fs, f := newImportFlags(name, false, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "markimport %s: %s\n", name, sink.Redact(fmt.Sprintf(format, a...)))
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	case f.input == "":
		return fail("--input is required")
	case f.report == "":
		return fail("--report is required")
	case f.rate <= 0:
		return fail("--rate must be positive")
	case f.fake:
		return fail("--fake: the built-in emulator starts empty, so there is nothing to read back; " +
			"run `markimport fake-server` and point run and verify at it with --endpoint")
	case f.rejects != "" || f.maxInvalid != "":
		return fail("--rejects and --max-invalid belong to validate and run; verify reports every row in --report")
	case f.resume:
		return fail("--resume: verify reads every row again; there is nothing to resume")
	}
	outs := []named{{"--report", f.report}, {"--report", f.report + ".tmp"}, {"--summary", f.summary}, {"--summary", f.summary + ".tmp"},
		{"--cpuprofile", f.cpuProfile}, {"--memprofile", f.memProfile}}
	if err := checkOutputs([]named{{"--input", f.input}}, outs); err != nil {
		return fail("%v", err)
	}
	if _, err := os.Lstat(f.report); err == nil && !f.overwrite {
		return fail("the verify report %s exists: pass --overwrite to replace it", f.report)
	}
	ropts, err := f.readerOptions()
	if err != nil {
		return fail("%v", err)
	}
	memLimit, err := parseSize(f.memoryLimit)
	if err != nil {
		return fail("--memory-limit: %v", err)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(memLimit))
	log, err := newLogger(stderr, f.logFormat, f.quiet, newRunID())
	if err != nil {
		return fail("%v", err)
	}
	ctr := &mark.Counters{}
	cfg, err := f.clientConfig()
	if err != nil {
		return fail("%v", err)
	}
	f.applyPacing(&cfg, ctr, log)
	reads, err := sink.NewReadClient(cfg)
	if err != nil {
		return fail("%v", err)
	}
	rep, err := report.CreateCSVVerify(f.report)
	if err != nil {
		return fail("%v", err)
	}

	progress := startProgress(ctr, stderr, f.quiet, f.progressEvery, log)
	sum, verr := pipeline.Verify(ctx, pipeline.VerifyOptions{
		Input:       f.input,
		Reader:      ropts,
		Report:      rep,
		Marks:       reads,
		Concurrency: cfg.Concurrency,
		Counters:    ctr,
		Log:         log,

		MemoryBudget: storeBudget(memLimit),
		TempDir:      f.tempDir,
		Sorted:       f.sorted,
	})
	progress.Stop()
	var inErr *readers.InputError
	if errors.As(verr, &inErr) {
		rep.Abort()
		fmt.Fprintf(stderr, "markimport %s: input error: %s\nNothing was read back.\n", name, sink.Redact(inErr.Error()))
		return exitUsage
	}
	if err := rep.Close(); err != nil && verr == nil {
		verr = fmt.Errorf("verify report %s: %w", f.report, err)
	}
	code := exitOK
	if !sum.AllMatch() {
		code = exitSomeNotOK
	}
	var fe *mark.FatalError
	switch {
	case errors.As(verr, &fe):
		code = exitFatal
		fmt.Fprintf(stderr, "markimport %s: stopped by a fatal API error %d: %s\nRows not read back are reported unread.\n", name, fe.Code, sink.Redact(fe.Error()))
	case verr != nil && ctx.Err() != nil:
		code = exitInterrupted
		fmt.Fprintf(stderr, "markimport %s: interrupted; rows not read back are reported unread\n", name)
	case verr != nil:
		fmt.Fprintf(stderr, "markimport %s: %s\n", name, sink.Redact(verr.Error()))
		code = max(code, exitSomeNotOK)
	}
	printVerifySummary(stdout, &sum)
	if f.summary != "" {
		out := struct {
			*pipeline.VerifySummary
			ExitCode int `json:"exit_code"`
		}{&sum, code}
		if err := writeJSONFile(f.summary, out); err != nil {
			fmt.Fprintf(stderr, "markimport %s: write summary: %v\n", name, err)
			code = max(code, exitSomeNotOK)
		}
	}
	return code
}

// printVerifySummary prints the rows by status and the reads it took.
func printVerifySummary(w io.Writer, s *pipeline.VerifySummary) {
	fmt.Fprintf(w, "verify of %s:\n", s.Input)
	fmt.Fprintf(w, "  rows           %d\n", s.Rows)
	for _, st := range report.VerifyStatuses {
		if n := s.Statuses[st]; n > 0 {
			fmt.Fprintf(w, "    %-12s %d\n", st, n)
		}
	}
	fmt.Fprintf(w, "  users          %d\n", s.Users)
	fmt.Fprintf(w, "  conversations  %d\n", s.Conversations)
	fmt.Fprintf(w, "  requests       %d planned (%d HTTP requests, %d retries, %d throttled)\n", s.Requests, s.HTTPRequests, s.Retries, s.Throttled)
	fmt.Fprintf(w, "  elapsed        %.1fs\n", s.ElapsedSeconds)
	if s.Stopped != "" {
		fmt.Fprintf(w, "  stopped        %s\n", sink.Redact(s.Stopped))
	}
}
