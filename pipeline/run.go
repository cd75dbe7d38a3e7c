package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
	"markimport/readers"
)

// Run reads the input, validates and plans it, sends the requests (unless
// DryRun) and writes one report line per row. It returns an
// *readers.InputError before anything is sent when the input cannot be read
// (with Sorted, a read error after sending began also stops the run), a
// *mark.FatalError when the API stopped the run, or ctx.Err() when interrupted;
// in every case the report accounts for every row read.
//
// Unsorted input is read whole first (grouping needs every row of a user),
// into a store that spills to disk beyond MemoryBudget; then partitions of
// users are planned one after another and their requests go to the sender
// as they are planned. Sorted input is planned and sent a user at a time.
func Run(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	r, err := newRun(opts)
	if err != nil {
		return r.sum, err
	}
	stopSync := r.syncEvery(opts.SyncEvery)
	err = r.run(ctx)
	stopSync()
	return r.summarise(ctx, start, err)
}

// planEach reads, validates and plans the input exactly as Run does
// (grouping within MemoryBudget and spilling beyond it, or streaming a
// Sorted input, with Done rows left out), but sends and reports nothing:
// invalid receives each invalid row as it is read, and plan each user's
// requests and rejected rows as they are planned. It returns the rows read
// and the seconds reading took before planning (0 for a Sorted input).
func planEach(ctx context.Context, opts Options, invalid func(*plan.Invalid), each func([]mark.Request, []plan.Rejected) error) (int64, float64, error) {
	opts.DryRun, opts.Report, opts.Rejects, opts.MaxInvalid = true, report.Discard{}, nil, nil
	r, err := newRun(opts)
	if err != nil {
		return 0, 0, err
	}
	r.onInvalid, r.onPlan = invalid, each
	err = r.run(ctx)
	return r.sum.Rows, r.sum.ReadSeconds, err
}

// run is the state of one Run, of one planEach, or of the pass that counts
// bad rows for --max-invalid.
type run struct {
	opts     Options
	saved    atomic.Int64 // requests the state saved
	leftOut  atomic.Int64 // users outside the sample
	toChange atomic.Int64 // requests a preview's changes would take
	users    atomic.Int64 // users planned (seen)
	convs    atomic.Int64 // their conversations
	log      *slog.Logger
	ctr      *mark.Counters
	rep      *lockedReport
	sum      Summary
	stop     stopCause // why sending stopped, once it did

	undefined undefinedBits // valid rows using bits 4–31, for one warning

	// Hooks of planEach: when set, invalid rows and plans go to them
	// instead of the report and the sender.
	onInvalid func(*plan.Invalid)
	onPlan    func([]mark.Request, []plan.Rejected) error

	proven    provenRows         // Options.Done, when it can prove its rows
	inputRead bool               // Options.InputRead was called
	seq       int64              // requests planned so far
	ch        chan *mark.Request // to the sender
	gate      *gateStage         // between emit and the sender, when Options.Gate is set
	stopped   context.Context    // done when no more requests may be sent

	// The report's first error stops the run (reportFailed): cancelRun
	// cancels the context every stage runs under. reportMu guards both.
	reportMu  sync.Mutex
	cancelRun context.CancelFunc
	reportErr error
}

// newRun builds the state of a run from opts, as Run, planEach and the
// --max-invalid pass all need it: a logger and counters when none are
// given, the report behind its lock, the input's files, and the rows a
// resumed run already has ok counted as ok. The summary it starts is
// returned with an error too.
func newRun(opts Options) (*run, error) {
	r := &run{opts: opts, log: opts.Log, ctr: opts.Counters, sum: Summary{Input: opts.Input, DryRun: opts.DryRun}}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.ctr == nil {
		r.ctr = &mark.Counters{}
	}
	r.rep = &lockedReport{w: opts.Report, statuses: &r.ctr.Statuses, codes: map[int]int64{}, rejects: opts.Rejects, failed: r.reportFailed}
	if err := r.opts.resolve(); err != nil {
		return r, err
	}
	r.sum.Input = r.opts.Input
	if r.opts.Done != nil && r.opts.Done.Len() == 0 {
		r.opts.Done = nil
	}
	r.proven, _ = r.opts.Done.(provenRows)
	if r.opts.Done != nil {
		n := r.opts.Done.Len()
		r.rep.statuses.Add(string(report.StatusOK), n)
		r.ctr.RowsDone.Add(n)
		r.sum.Resumed = n
	}
	if r.opts.State != nil && r.opts.Sorted {
		return r, errors.New("the incremental state (--state) needs the grouping of unsorted input: drop --sorted")
	}
	return r, nil
}

// stoppable returns ctx, cancelled also when the report fails.
func (r *run) stoppable(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	r.reportMu.Lock()
	r.cancelRun = cancel
	failed := r.reportErr != nil
	r.reportMu.Unlock()
	if failed {
		cancel()
	}
	return ctx, cancel
}

// syncEvery makes the report durable at least every d (default 1 s) until
// the returned function is called.
func (r *run) syncEvery(d time.Duration) func() {
	if d <= 0 {
		d = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := r.rep.sync(); err != nil {
					// The run stops on it (reportFailed); nothing more
					// can be written.
					r.log.Error("report write failed", "err", err)
					return nil
				}
			}
		}
	})
	return func() { cancel(); g.Wait() }
}

// run reads, plans and sends. Every stage takes ctx: when the run is
// interrupted, reading and planning stop at their next batch or partition,
// the sender stops starting requests, and what finished is reported; rows
// not read or not planned by then have no line (--resume plans them).
// After a fatal answer, by contrast, planning goes on to report every row
// of the file unsent, so the report accounts for the whole file. When the
// report cannot be written, every stage stops as on an interrupt.
func (r *run) run(parent context.Context) error {
	ctx, cancel := r.stoppable(parent)
	defer cancel()
	var guard *GuardError
	if r.opts.MaxInvalid != nil {
		var err error
		if guard, err = r.countBad(ctx); err != nil {
			return err
		}
	}
	return r.pass(parent, ctx, guard)
}

// pass reads the input once: offline (a dry run, or a run whose guard
// found too many bad rows: guard) or sending. parent is the caller's
// context, ctx the run's (stoppable).
func (r *run) pass(parent, ctx context.Context, guard *GuardError) error {
	// The input's objects are read under ctx: an interrupt ends a read
	// that waits on a slow bucket, and is reported as an interrupt, not as
	// a bad input.
	in, err := r.opts.Files.OpenContext(ctx, r.opts.Reader)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	defer in.Close()
	offline := r.opts.DryRun || guard != nil
	var produce func(context.Context) error
	if r.opts.Sorted {
		produce = func(ctx context.Context) error { return r.streamSorted(ctx, in) }
	} else {
		// Unsorted input is read whole before planning starts: its
		// reading is a stage of its own, timed here. A sorted input is
		// read as it is planned and sent.
		read := time.Now()
		st, err := r.readGrouped(ctx, in)
		r.sum.ReadSeconds = time.Since(read).Seconds()
		if err != nil {
			return err
		}
		defer st.Close()
		produce = r.planGrouped(st, offline)
	}
	if r.onPlan == nil {
		// The progress lines say whether requests_planned is final.
		planned := produce
		produce = func(ctx context.Context) error {
			defer r.ctr.PlanDone.Store(true)
			return planned(ctx)
		}
	}
	if offline {
		return r.offline(ctx, produce, guard)
	}
	return r.send(parent, ctx, produce)
}

// noRows is the error of an input without a row.
func (r *run) noRows() error {
	return &readers.InputError{Path: r.opts.Input, Err: readers.ErrNoRows}
}
