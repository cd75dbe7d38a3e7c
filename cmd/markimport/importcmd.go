package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"

	"markimport/pipeline"
	"markimport/pipeline/mark"
	"markimport/pipeline/rejects"
	"markimport/pipeline/report"
	"markimport/pipeline/state"
	"markimport/pipeline/timeline"
	"markimport/readers"
	"markimport/sink"
)

// importRun is one validate or run: its flags, checked, and what it made.
type importRun struct {
	*command
	dry bool

	ropts      readers.Options
	maxInvalid *pipeline.Limit
	memLimit   int64
	files      report.Files   // of --report, when given
	objects    *objectOutputs // the outputs in object storage, or nil
}

// cmdImport runs validate (dry) or run.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks, dry bool) int {
	name := "run"
	if dry {
		name = "validate"
	}
	c, code, ok := parseCommand(name, args, stdout, stderr, h)
	if !ok {
		return code
	}
	r := &importRun{command: c, dry: dry}
	c.logStarted()
	return c.logFinished(r.checkAndRun(ctx))
}

// checkAndRun checks the flags, takes the outputs' locks and runs.
func (r *importRun) checkAndRun(ctx context.Context) int {
	err := r.check(ctx)
	if r.objects != nil {
		defer r.objects.close()
	}
	r.staged = r.objects.urls()
	if err != nil {
		return r.checkFailed(ctx, err)
	}
	release, err := r.claim()
	if err != nil {
		return r.fail("%v", err)
	}
	defer release()
	if r.objects != nil {
		if err := r.objects.refuseExisting(r.overwrite, r.resume); err != nil {
			return r.fail("%v", err)
		}
		releaseLeases, err := r.objects.takeLeases(r.hooks.leaseTTL)
		if err != nil {
			return r.fail("%v", err)
		}
		defer releaseLeases()
		if r.resume {
			if err := r.objects.pullReport(); err != nil {
				return r.fail("%v", err)
			}
			if err := r.objects.pullBackup(); err != nil {
				return r.fail("%v", err)
			}
		}
	}
	return r.saveMetrics(r.run(ctx))
}

// run does the work once the flags are known to be right: it sets up what
// the pipeline writes to and sends through, runs it, and finishes.
func (r *importRun) run(ctx context.Context) int {
	// The Go runtime collects harder as the process nears the limit; the
	// grouping store takes a share of it and spills beyond. While little
	// is live, the pacer lets the heap grow before collecting (heappace.go).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(r.memLimit))
	defer pacer.pace(r.memLimit)()
	stopProfiles, err := r.startProfiles()
	if err != nil {
		return r.fail("--cpuprofile: %v", err)
	}
	defer stopProfiles()
	s := &session{ctr: &mark.Counters{}, lines: report.Discard{}, timeline: timeline.New(r.start)}
	defer s.close()
	if code, ok := r.setUp(s); !ok {
		return code
	}
	progress := startProgress(s.ctr, r.stderr, r.quiet, r.progressEvery, r.log)
	stopMetrics := r.watchMetrics(s.ctr)
	sum, runErr := pipeline.Run(ctx, r.options(s))
	stopMetrics()
	progress.Stop()
	return r.finish(ctx, s, &sum, runErr)
}

// session is what a run opens before the pipeline starts, closed in the
// reverse order once the run is over.
type session struct {
	ctr     *mark.Counters
	sender  pipeline.Sender // nil: validate
	fake    *fakeRun        // --fake's emulator
	st      *state.Store    // --state
	journal *report.Journal // --report's journal
	done    *report.Done    // --resume: the rows the report has ok
	lines   report.Writer   // where the report's lines go
	bk      *backupRun      // --backup, --mode insert
	rejects *rejects.Rows   // --rejects
	// timeline counts the writes per interval (a run; validate sends
	// nothing).
	timeline *timeline.Recorder
	closers  []func()
}

// onClose has f run when the session closes.
func (s *session) onClose(f func()) { s.closers = append(s.closers, f) }

// close releases what the session opened, the last opened first.
func (s *session) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// setUp opens, in order, the connection (run), the state, the report and
// the read-back. When it returns false the run is over, with the exit code
// given, and nothing was sent.
func (r *importRun) setUp(s *session) (int, bool) {
	var readCfg sink.Config // the read-back's reads
	appID := ""             // validate: the state's own
	var err error
	switch {
	case !r.dry:
		readCfg, appID, err = r.connect(s)
	case r.online:
		readCfg, err = r.connectReads(s)
	}
	if err != nil {
		return r.fail("%v", err), false
	}
	if err := r.openState(s, appID); err != nil {
		return r.fail("%v", err), false
	}
	if err := r.openReport(s); err != nil {
		var ie *readers.InputError
		if errors.As(err, &ie) {
			return r.inputError(ie), false
		}
		return r.fail("%v", err), false
	}
	if err := r.startReadBack(s, readCfg); err != nil {
		if s.journal != nil {
			s.journal.Abandon()
		}
		return r.fail("%v", err), false
	}
	if r.rejects != "" {
		s.rejects = rejects.New()
	}
	return 0, true
}

// connect makes the client a run sends through, paced to start no sooner
// than the report's pace file allows, and returns the configuration of
// the reads (--backup, --mode insert) and the app's id.
func (r *importRun) connect(s *session) (readCfg sink.Config, appID string, err error) {
	cfg, fake, err := r.connection()
	if err != nil {
		return readCfg, "", err
	}
	if fake != nil {
		s.fake = fake
		s.onClose(fake.Close)
	}
	r.applyPacing(&cfg, s.ctr, r.log)
	cfg.OnDeparture = r.hooks.departure
	cfg.OnAnswer = s.timeline.Exchange
	if r.report != "" {
		pace, err := openPace(r.files.Pace, r.log)
		if err != nil {
			return readCfg, "", err
		}
		s.onClose(func() { pace.Close() })
		cfg.NotBefore = pace.NotBefore(sink.NewPacer(cfg.Rate, cfg.Margin).Window())
		cfg.OnDeparture = chainDepartures(pace.Record, r.hooks.departure)
	}
	readCfg = r.readConfig(cfg, r.hooks.readDeparture)
	client, err := sink.New(cfg)
	if err != nil {
		return readCfg, "", err
	}
	s.sender = client
	return readCfg, strconv.FormatUint(cfg.SDKAppID, 10), nil
}

// connectReads makes the configuration of validate --online's reads: it
// writes nothing, so it has no client of the writes and no pace file, and
// --fake's emulator is not saved to --fake-state at the end.
func (r *importRun) connectReads(s *session) (sink.Config, error) {
	cfg, fake, err := r.connection()
	if err != nil {
		return cfg, err
	}
	if fake != nil {
		fake.state = "" // read, never written back
		s.fake = fake
		s.onClose(fake.Close)
	}
	r.applyPacing(&cfg, s.ctr, r.log)
	return r.readConfig(cfg, r.hooks.readDeparture), nil
}

// openState opens --state (locked by claim). validate of a state that
// does not exist yet reads nothing and creates nothing.
func (r *importRun) openState(s *session, appID string) error {
	if r.stateDir == "" {
		return nil
	}
	if err := r.pullState(); err != nil {
		return err
	}
	st, err := state.Open(r.stateDir, appID, state.Options{Full: r.full, Dry: r.dry})
	if err != nil {
		return fmt.Errorf("--state: %v", r.objects.stateError(err))
	}
	s.st = st
	s.onClose(func() { st.Close() })
	if n := st.Notice(); n != "" {
		r.tell(slog.LevelWarn, "--state: "+n, "")
	}
	r.log.Info("state opened", "state", r.stateDir, "conversations", st.Entries(), "full", r.full)
	return nil
}

// openReport opens --report's journal, which a second signal makes
// durable before the process exits.
func (r *importRun) openReport(s *session) error {
	if r.report == "" {
		return nil
	}
	journal, done, err := r.openJournal()
	if err != nil {
		return err
	}
	s.journal, s.done, s.lines = journal, done, journal.Writer()
	setEmergencyFlush(func() { journal.Sync() })
	s.onClose(func() { setEmergencyFlush(nil) })
	if done != nil {
		for _, note := range done.Notes {
			r.log.Warn(note)
		}
		r.log.Info("resuming", "report", r.report, "rows_already_ok", done.Len())
	}
	return nil
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
		fp.Reading, err = r.reading()
		return fp, err
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

// startReadBack starts the read-back that --backup, --mode insert and
// --skip-unchanged put before the writes, and validate --online in their
// place.
func (r *importRun) startReadBack(s *session, readCfg sink.Config) error {
	if r.backup == "" && r.mode != "insert" && !r.skipUnchanged && !r.online {
		return nil
	}
	bk, err := r.startGate(readCfg, s.done)
	if err != nil {
		return err
	}
	s.bk = bk
	return nil
}

// options are the pipeline's options for the session.
func (r *importRun) options(s *session) pipeline.Options {
	opts := pipeline.Options{
		Input:    r.in.String(),
		Files:    r.in,
		Reader:   r.ropts,
		DryRun:   r.dry,
		Report:   s.lines,
		Sender:   s.sender,
		Rate:     r.rate,
		Counters: s.ctr,
		Log:      r.log,
		Done:     s.done,

		MemoryBudget: storeBudget(r.memLimit),
		TempDir:      r.tempDir,
		Sorted:       r.sorted,
		StrictBits:   r.strictBits,
		Sample:       r.sample.Sample,
		Rejects:      s.rejects,
		MaxInvalid:   r.maxInvalid,
	}
	if !r.dry {
		opts.Timeline = s.timeline
	}
	if s.st != nil {
		opts.State = statePort{s.st}
	}
	if s.bk != nil {
		opts.Gate = s.bk.gate
		opts.ReadLatency = s.bk.reads.Latency
	}
	opts.Halt = r.objects.halt()
	if s.journal != nil {
		opts.InputRead = s.journal.Commit
	}
	return opts
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
