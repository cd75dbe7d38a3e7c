package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"markimport/pipeline"
	"markimport/pipeline/mark"
	"markimport/pipeline/report"
	"markimport/pipeline/timeline"
	"markimport/readers"
	"markimport/sink"
)

// cmdVerify reads back the marks of every conversation the input plans and
// compares them with what the rows asked for: markimport verify --input FILE
// --report FILE [--summary FILE] with the connection and reader flags of run.
// It exits 0 when every checked row matches, 1 when some do not, 2 on a
// usage or input error, 3 on a fatal API error and 130 when interrupted.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) int {
	c, code, ok := parseCommand("verify", args, stdout, stderr, h)
	if !ok {
		return code
	}
	v := &verifyRun{command: c}
	c.logStarted()
	return c.logFinished(v.checkAndRun(ctx))
}

// checkAndRun checks the flags, takes the outputs' locks and verifies.
func (v *verifyRun) checkAndRun(ctx context.Context) int {
	err := v.check(ctx)
	if v.objects != nil {
		defer v.objects.close()
	}
	v.staged = v.objects.urls()
	if err != nil {
		return v.checkFailed(ctx, err)
	}
	release, err := v.claim()
	if err != nil {
		return v.fail("%v", err)
	}
	defer release()
	releaseLeases, err := v.holdObjects(v.objects)
	if err != nil {
		return v.fail("%v", err)
	}
	defer releaseLeases()
	return v.saveMetrics(v.run(ctx))
}

// verifyRun is one verify: its flags, checked.
type verifyRun struct {
	*command
	ropts    readers.Options
	memLimit int64
	objects  *objectOutputs // the outputs in object storage, or nil
}

// check validates the flags together, before anything is opened or
// written. The checks run in this order, and the first that fails is the
// message the user sees.
func (v *verifyRun) check(ctx context.Context) error {
	return firstRefusal(
		v.checkPacing,
		v.checkRequired,
		v.checkFake,
		v.checkFlagHomes,
		v.localOnly,
		v.checkHTML,
		v.stageObjects,
		v.checkRunReport,
		func() error { return v.checkOutputs(ctx) },
		v.checkMetrics,
		func() error { return v.checkBackupInputs(ctx) },
		v.parseOptions,
		func() error { return v.checkProfile(true) },
	)
}

// checkPacing checks the flags of pacing, retries and timeouts.
func (v *verifyRun) checkPacing() error {
	return v.importFlags.checkPacing(false, v.log)
}

// checkRequired checks that --input and --report are given.
func (v *verifyRun) checkRequired() error {
	switch {
	case v.input == "":
		return errors.New("--input is required")
	case v.report == "":
		return errors.New("--report is required")
	}
	return nil
}

// checkFake checks that --fake has the marks of a rehearsal to read back.
func (v *verifyRun) checkFake() error {
	switch {
	case v.fake && v.fakeState == "":
		return errors.New("--fake: the built-in emulator starts empty, so there is nothing to read back; " +
			"give the --fake-state file of the rehearsal to verify, or run `markimport fake-server` and point run and verify at it with --endpoint")
	case v.fakeState != "" && !v.fake:
		return errors.New("--fake-state keeps the built-in emulator's marks between rehearsals: it needs --fake")
	}
	return nil
}

// checkRunReport checks that --run-report, when given, can be read.
func (v *verifyRun) checkRunReport() error {
	if v.runReport == "" {
		return nil
	}
	if _, err := os.Stat(v.runReport); err != nil {
		return fmt.Errorf("--run-report: %v", err)
	}
	return nil
}

// checkOutputs resolves the input and checks that no output is an input
// or another output: what verify reads beside the input (the run's
// report above all) is never one of its outputs.
func (v *verifyRun) checkOutputs(ctx context.Context) error {
	outs := []named{{"--report", v.report}, {"--report", v.report + ".tmp"}, {"--report", v.report + ".lock"}}
	outs = append(outs, v.metricsPaths()...)
	for _, o := range []named{{"--summary", v.summary}, {"--html", v.html}, {"--cpuprofile", v.cpuProfile}, {"--memprofile", v.memProfile}} {
		if o.path != "" {
			out := []named{o, {o.flag, o.path + ".lock"}}
			if o.flag == "--summary" || o.flag == "--html" {
				out = append(out, named{o.flag, o.path + ".tmp"})
			}
			outs = append(outs, out...)
		}
	}
	if err := v.resolveInput(ctx); err != nil {
		return err
	}
	ins := v.inputFiles()
	for _, o := range []named{{"--run-report", v.runReport}, {"--fake-state", v.fakeState}} {
		if o.path != "" {
			ins = append(ins, o)
		}
	}
	return checkOutputs(ins, outs, v.in.Roots)
}

// parseOptions parses the flags of the readers and --memory-limit.
func (v *verifyRun) parseOptions() error {
	var err error
	if v.ropts, err = v.readerOptions(); err != nil {
		return err
	}
	if v.memLimit, err = parseSize(v.memoryLimit); err != nil {
		return fmt.Errorf("--memory-limit: %v", err)
	}
	return nil
}

// run reads back and writes the verify report.
func (v *verifyRun) run(ctx context.Context) int {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(v.memLimit))
	defer pacer.pace(v.memLimit)()
	ctr := &mark.Counters{}
	cfg, fake, err := v.connection()
	if err != nil {
		return v.fail("%v", err)
	}
	if fake != nil {
		defer fake.Close()
	}
	v.applyPacing(&cfg, ctr, v.log)
	cfg.OnDeparture = v.hooks.departure
	cfg.BitOrder = v.bitOrder // checked by checkProfile
	tl := timeline.New(v.start)
	cfg.OnAnswer = tl.Exchange
	reads, err := sink.NewReadClient(cfg)
	if err != nil {
		return v.fail("%v", err)
	}
	exists, err := v.reportedExists()
	if err != nil {
		return v.fail("%v", err)
	}
	rep, err := report.CreateCSVVerify(v.report, v.in)
	if err != nil {
		return v.fail("%v", err)
	}
	progress := startProgress(ctr, v.stderr, v.quiet, v.progressEvery, v.log)
	stopMetrics := v.watchMetrics(ctr)
	sum, verr := pipeline.Verify(ctx, pipeline.VerifyOptions{
		Input:       v.in.String(),
		Files:       v.in,
		Reader:      v.ropts,
		Report:      rep,
		Marks:       reads,
		Exists:      exists,
		Concurrency: cfg.Concurrency,
		Counters:    ctr,
		Log:         v.log,

		MemoryBudget: storeBudget(v.memLimit),
		TempDir:      v.tempDir,
		Sorted:       v.sorted,
		Sample:       v.sample.Sample,
		Timeline:     tl,
	})
	stopMetrics()
	progress.Stop()
	return v.finish(ctx, rep, &sum, verr)
}

// reportedExists are the rows --run-report reported exists (left alone
// by --mode insert), which verify does not check; nil without it.
func (v *verifyRun) reportedExists() (mark.Rows, error) {
	if v.runReport == "" {
		return nil, nil
	}
	fp, err := report.DigestInput(v.in)
	if err != nil {
		return nil, err
	}
	return report.RowsWithStatus(v.runReport, v.in, fp, report.StatusExists)
}

// finish ends a verify once the pipeline has returned: the report is
// closed (removed after an input error), the exit code decided, the
// summary printed and written.
func (v *verifyRun) finish(ctx context.Context, rep *report.CSVVerify, sum *pipeline.VerifySummary, verr error) int {
	if v.emptyAllowed(verr) {
		verr, sum.Stopped, sum.StopMessage = nil, "", "" // nothing stopped it: there was nothing to read
	}
	var inErr *readers.InputError
	if errors.As(verr, &inErr) {
		rep.Abort()
		v.tell(slog.LevelError, "input error: "+inErr.Error(), "Nothing was read back.")
		return exitUsage
	}
	if err := rep.Close(); err != nil && verr == nil {
		verr = fmt.Errorf("verify report %s: %w", v.report, err)
	}
	v.publishReport(&verr)
	code := v.exitCode(ctx, sum, verr)
	v.printSummary(sum, func() { printVerifySummary(v.stdout, sum) })
	v.counts = verifyCounts(sum)
	v.endMetrics(verifyMetrics(sum))
	return v.uploadSummary(v.objects, v.saveSummary(sum, code))
}

// verifyCounts are the summary's counts that "run finished" logs: rows,
// rows per status, requests.
func verifyCounts(sum *pipeline.VerifySummary) []any {
	return statusCounts([]any{"rows", sum.Rows, "requests", sum.Requests}, report.VerifyStatuses, sum.Statuses)
}

// exitCode decides the exit code and says why the verify stopped, if it
// did.
func (v *verifyRun) exitCode(ctx context.Context, sum *pipeline.VerifySummary, verr error) int {
	return v.endCode(ctx, sum.AllMatch(), verr, ending{
		fatal:       "Rows not read back are reported unread.",
		interrupted: "interrupted; rows planned and not read back are reported unread",
	})
}
