package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"markimport/pipeline"
	"markimport/pipeline/backup"
	"markimport/pipeline/rejects"
	"markimport/pipeline/report"
	"markimport/pipeline/state"
	"markimport/readers"
	"markimport/sink"
)

// check validates the flags together, before anything is opened or
// written. The checks run in this order, and the first that fails is the
// message the user sees.
func (r *importRun) check(ctx context.Context) error {
	return firstRefusal(
		r.checkPacing,
		r.checkRequired,
		r.checkFlagHomes,
		r.localOnly,
		r.checkHTML,
		r.checkResume,
		r.stageObjects,
		r.checkRejectsInput,
		r.checkStateFlags,
		r.checkFakeState,
		r.checkOnline,
		r.checkMode,
		r.checkBackupFlag,
		r.checkMaxInvalidInput,
		r.parseReading,
		func() error { return r.resolveInput(ctx) },
		func() error { return r.checkRejects(ctx) },
		r.parseLimits,
		func() error { return r.checkOutputs(ctx) },
		r.checkMetrics,
		r.checkReadsProfile,
	)
}

// checkReadsProfile checks the service profile when the command reads
// marks back (validate --online; run --backup, --mode insert,
// --skip-unchanged).
func (r *importRun) checkReadsProfile() error {
	if r.dry && !r.online {
		return nil
	}
	return r.checkProfile(r.online || r.backup != "" || r.mode == "insert" || r.skipUnchanged)
}

// connectionFlags are the flags of a connection to the service: validate
// takes them with --online only.
var connectionFlags = []string{"profile", "fake", "fake-state", "region", "endpoint", "usersig-file", "secret-key-file",
	"sig-ttl", "concurrency", "rate-margin", "max-attempts", "timeout"}

// checkOnline refuses the connection flags to a validate that does not
// read the service (--online), and checks what --online cannot go with.
func (r *importRun) checkOnline() error {
	if !r.dry {
		return nil
	}
	if !r.online {
		for _, name := range connectionFlags {
			if r.given[name] {
				return fmt.Errorf("--%s: validate connects to the service only with --online (to preview what the import would change); without it, it reads the file alone", name)
			}
		}
	}
	return nil
}

// checkPacing checks the flags of pacing, retries and timeouts.
func (r *importRun) checkPacing() error {
	return r.importFlags.checkPacing(r.dry && !r.online, r.log)
}

// checkRequired checks that the flags a command cannot run without are
// given.
func (r *importRun) checkRequired() error {
	switch {
	case r.input == "":
		return errors.New("--input is required")
	case !r.dry && r.report == "":
		return errors.New("--report is required")
	}
	return nil
}

// checkResume checks that --resume has what it continues: the report, and
// an input that can be read again.
func (r *importRun) checkResume() error {
	switch {
	case r.resume && r.overwrite:
		return errors.New("--resume continues the report and --overwrite replaces it: give one of them")
	case r.resume && r.report == "":
		return errors.New("--resume needs the --report of the interrupted run")
	case r.resume && r.input == "-":
		return errors.New("--resume needs an input file, not standard input: it checks that the input is the same")
	}
	return nil
}

// checkRejectsInput checks that --rejects can read the input again.
func (r *importRun) checkRejectsInput() error {
	if r.rejects != "" && r.input == "-" {
		return errors.New("--rejects needs an input file: standard input cannot be read twice")
	}
	return nil
}

// checkStateFlags checks --state and --full together.
func (r *importRun) checkStateFlags() error {
	switch {
	case r.stateDir != "" && r.sorted:
		return errors.New("--state looks items up partition by partition as the grouping plans them; --sorted plans user by user in file order: drop --sorted")
	case r.full && r.stateDir == "":
		return errors.New("--full refreshes the state: it needs --state")
	}
	return nil
}

// checkFakeState checks that --fake-state has the emulator it keeps.
func (r *importRun) checkFakeState() error {
	if r.fakeState != "" && !r.fake {
		return errors.New("--fake-state keeps the built-in emulator's marks between rehearsals: it needs --fake")
	}
	return nil
}

// checkMode checks --mode's value (validate does not take it:
// checkFlagHomes).
func (r *importRun) checkMode() error {
	if r.mode != "upsert" && r.mode != "insert" {
		return fmt.Errorf("--mode %q: upsert (write every item) or insert (leave conversations that already hold marks alone)", r.mode)
	}
	return nil
}

// checkBackupFlag checks that --backup names a file it can be written as
// (validate does not take it: checkFlagHomes).
func (r *importRun) checkBackupFlag() error {
	switch {
	case r.backup != "" && (strings.HasSuffix(r.backup, ".gz") || strings.HasSuffix(r.backup, ".zst")):
		return fmt.Errorf("--backup %s: the backup is written as plain CSV or Parquet (.parquet): drop the compression suffix", r.backup)
	}
	return nil
}

// checkMaxInvalidInput checks that --max-invalid can read the input again.
func (r *importRun) checkMaxInvalidInput() error {
	if r.importFlags.maxInvalid != "" && r.input == "-" {
		return errors.New("--max-invalid needs an input file: standard input cannot be read twice")
	}
	return nil
}

// parseReading parses the flags of the readers: the delimiter, the
// column map, the format.
func (r *importRun) parseReading() error {
	var err error
	if r.ropts, err = r.readerOptions(); err != nil {
		return err
	}
	if _, err := readers.FormatOf("", r.format); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	return nil
}

// checkRejects checks that the input can be read again for --rejects, and
// that the rejects file is named for the input's format.
func (r *importRun) checkRejects(ctx context.Context) error {
	if r.rejects == "" {
		return nil
	}
	if err := rejects.Check(ctx, r.in, r.ropts); err != nil {
		return err
	}
	parquet := r.in.Format == readers.Parquet
	switch {
	case parquet && !readers.IsParquetName(r.rejects):
		return fmt.Errorf("--rejects %s: a Parquet input gives a Parquet rejects file: name it .parquet", r.rejects)
	case !parquet && readers.IsParquetName(r.rejects):
		return fmt.Errorf("--rejects %s: a CSV input gives a CSV rejects file: do not name it .parquet", r.rejects)
	}
	return nil
}

// parseLimits parses --max-invalid and --memory-limit, and warns of a
// --rate above the API's limit.
func (r *importRun) parseLimits() error {
	var err error
	if r.importFlags.maxInvalid != "" {
		if r.maxInvalid, err = pipeline.ParseLimit(r.importFlags.maxInvalid); err != nil {
			return fmt.Errorf("--max-invalid: %v", err)
		}
	}
	if r.memLimit, err = parseSize(r.memoryLimit); err != nil {
		return fmt.Errorf("--memory-limit: %v", err)
	}
	if r.rate > sink.DefaultRate && !r.dry {
		r.log.Warn(fmt.Sprintf("--rate %g is above the API's limit of %d requests/s: unless the app's quota was raised, the excess is throttled (60007) and the run is slower than at %d",
			r.rate, sink.DefaultRate, sink.DefaultRate))
	}
	return nil
}

// checkOutputs checks that no output is an input or another output, and
// (run) that no input is a backup that does not prove itself. Whether an
// existing output may be replaced is judged under its lock (claim).
func (r *importRun) checkOutputs(ctx context.Context) error {
	if r.report != "" {
		r.files = report.FilesOf(r.report)
		if !r.dry && r.input != "-" {
			r.objects.mirrorReport(&r.files, r.overwrite)
		}
	}
	if err := checkOutputs(r.inputFiles(), r.outputs(), r.in.Roots); err != nil {
		return err
	}
	if !r.dry {
		return r.checkBackupInputs(ctx)
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
	for _, o := range []named{{"--summary", r.summary}, {"--html", r.html}, {"--rejects", r.rejects}, {"--fake-state", r.fakeState}} {
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
	return append(out, r.metricsPaths()...)
}
