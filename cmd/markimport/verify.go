package main

import (
	"context"
	"errors"
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
	c, code, ok := parseCommand("verify", false, args, stdout, stderr)
	if !ok {
		return code
	}
	v := &verifyRun{command: c}
	if err := v.check(); err != nil {
		return v.fail("%v", err)
	}
	release, err := v.claim()
	if err != nil {
		return v.fail("%v", err)
	}
	defer release()
	return v.run(ctx)
}

// verifyRun is one verify: its flags, checked.
type verifyRun struct {
	*command
	ropts    readers.Options
	memLimit int64
}

// check validates the flags together, before anything is opened or
// written.
func (v *verifyRun) check() error {
	f := v.importFlags
	if err := f.checkPacing(false, v.log); err != nil {
		return err
	}
	switch {
	case f.input == "":
		return errors.New("--input is required")
	case f.report == "":
		return errors.New("--report is required")
	case f.fake && f.fakeState == "":
		return errors.New("--fake: the built-in emulator starts empty, so there is nothing to read back; " +
			"give the --fake-state file of the rehearsal to verify, or run `markimport fake-server` and point run and verify at it with --endpoint")
	case f.fakeState != "" && !f.fake:
		return errors.New("--fake-state keeps the built-in emulator's marks between rehearsals: it needs --fake")
	case f.rejects != "" || f.maxInvalid != "":
		return errors.New("--rejects and --max-invalid belong to validate and run; verify reports every row in --report")
	case f.resume:
		return errors.New("--resume: verify reads every row again; there is nothing to resume")
	case f.mode != "upsert":
		return errors.New("--mode belongs to run: to verify an insert-only run, give its report with --run-report (rows it reported exists are not checked)")
	case f.backup != "":
		return errors.New("--backup belongs to run: verify changes nothing, so there is nothing to back up (to check a rollback, verify --input BACKUP)")
	case f.stateDir != "" || f.full:
		return errors.New("--state and --full belong to validate and run; verify reads every row back, unchanged ones too")
	}
	if f.runReport != "" {
		if _, err := os.Stat(f.runReport); err != nil {
			return fmt.Errorf("--run-report: %v", err)
		}
	}
	outs := []named{{"--report", f.report}, {"--report", f.report + ".tmp"}, {"--report", f.report + ".lock"}}
	for _, o := range []named{{"--summary", f.summary}, {"--cpuprofile", f.cpuProfile}, {"--memprofile", f.memProfile}} {
		if o.path != "" {
			out := []named{o, {o.flag, o.path + ".lock"}}
			if o.flag == "--summary" {
				out = append(out, named{o.flag, o.path + ".tmp"})
			}
			outs = append(outs, out...)
		}
	}
	if err := v.resolveInput(); err != nil {
		return err
	}
	// What verify reads beside the input is never one of its outputs:
	// the run's report above all.
	ins := v.inputFiles()
	for _, o := range []named{{"--run-report", f.runReport}, {"--fake-state", f.fakeState}} {
		if o.path != "" {
			ins = append(ins, o)
		}
	}
	if err := checkOutputs(ins, outs, v.in.Roots); err != nil {
		return err
	}
	if err := v.checkBackupInputs(); err != nil {
		return err
	}
	var err error
	if v.ropts, err = f.readerOptions(); err != nil {
		return err
	}
	if v.memLimit, err = parseSize(f.memoryLimit); err != nil {
		return fmt.Errorf("--memory-limit: %v", err)
	}
	return nil
}

// run reads back and writes the verify report.
func (v *verifyRun) run(ctx context.Context) int {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(v.memLimit))
	ctr := &mark.Counters{}
	cfg, fake, err := v.connection()
	if err != nil {
		return v.fail("%v", err)
	}
	if fake != nil {
		defer fake.Close()
	}
	v.applyPacing(&cfg, ctr, v.log)
	cfg.OnDeparture = traceOf(ctx).Departure
	reads, err := sink.NewReadClient(cfg)
	if err != nil {
		return v.fail("%v", err)
	}
	var exists mark.Rows
	if v.runReport != "" {
		fp, err := report.DigestInput(v.in)
		if err != nil {
			return v.fail("%v", err)
		}
		rows, err := report.RowsWithStatus(v.runReport, v.in, fp, report.StatusExists)
		if err != nil {
			return v.fail("%v", err)
		}
		exists = rows
	}
	rep, err := report.CreateCSVVerify(v.report, v.in)
	if err != nil {
		return v.fail("%v", err)
	}
	progress := startProgress(ctr, v.stderr, v.quiet, v.progressEvery, v.log)
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
	})
	progress.Stop()
	var inErr *readers.InputError
	if errors.As(verr, &inErr) {
		rep.Abort()
		fmt.Fprintf(v.stderr, "markimport %s: input error: %s\nNothing was read back.\n", v.name, sink.Redact(inErr.Error()))
		return exitUsage
	}
	if err := rep.Close(); err != nil && verr == nil {
		verr = fmt.Errorf("verify report %s: %w", v.report, err)
	}
	code := v.exitCode(ctx, &sum, verr)
	printVerifySummary(v.stdout, &sum)
	if v.summary != "" {
		if err := v.writeSummary(&sum, code); err != nil {
			fmt.Fprintf(v.stderr, "markimport %s: write summary: %v\n", v.name, err)
			code = max(code, exitSomeNotOK)
		}
	}
	return code
}

// exitCode decides the exit code and says why the verify stopped, if it
// did.
func (v *verifyRun) exitCode(ctx context.Context, sum *pipeline.VerifySummary, verr error) int {
	return v.endCode(ctx, sum.AllMatch(), verr, ending{
		fatal:       "Rows not read back are reported unread.",
		interrupted: "interrupted; rows planned and not read back are reported unread",
	})
}
