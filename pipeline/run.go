package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/rejects"
	"markimport/pipeline/report"
	"markimport/pipeline/spill"
	"markimport/readers"

	"golang.org/x/sync/errgroup"
)

// Sender sends planned requests. Send receives requests from reqs until it is
// closed or ctx is done, and calls done exactly once for every request it
// received, with one Outcome per item in order. done may be called from
// several goroutines. Send returns when every received request is done; it
// returns a *mark.FatalError when the API answered with an error that stops the
// run, or ctx.Err() when interrupted.
type Sender interface {
	Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error
}

// Options configure Run.
type Options struct {
	Input string
	// Files is the input's list of files; when nil, Input is the one file.
	Files  *readers.Input
	Reader readers.Options
	// DryRun validates and plans but sends nothing; rows that would be sent
	// are reported "valid".
	DryRun bool
	Report report.Writer
	Sender Sender // unused when DryRun
	// Rate is the request rate, used to estimate the time a plan takes.
	Rate     float64
	Counters *mark.Counters
	Log      *slog.Logger
	// SyncEvery is how often the report is made durable; 0 means 1 s.
	SyncEvery time.Duration
	// Done holds the rows a previous run already reported ok (--resume):
	// they are planned with the rest, so merging and limits come out as for
	// an uninterrupted run, but neither sent again nor reported again.
	Done mark.Rows
	// MemoryBudget bounds the memory that holds the valid changes while the
	// input is grouped by user; beyond it they spill to temporary files in
	// TempDir (default os.TempDir()). 0 means no bound.
	MemoryBudget int64
	TempDir      string
	// Rejects, when not nil, collects the rows that did not end ok, for
	// rejects.WriteCSV and rejects.WriteParquet.
	Rejects *rejects.Rows
	// MaxInvalid, when not nil, is the most invalid and rejected rows a run
	// tolerates: beyond it nothing is sent.
	MaxInvalid *Limit
	// InputRead, when set, is called once the input is known to hold no
	// input error: when it has been read whole (unsorted input), or right
	// before the first request is sent, or at the end of a dry run. The
	// report's journal takes its name then. An error stops the run.
	InputRead func() error
	// State, when set (--state), is the incremental state: an item it says
	// unchanged is reported unchanged and not sent, and an item the API
	// confirms (or a resumed run finds confirmed) is recorded in it.
	// Unsorted input only.
	State State
	// Gate, when set, admits each user's items right before they are
	// sent (run --backup: their marks are read back and backed up first).
	// GateWorkers is how many users it admits at once (default
	// DefaultGateWorkers).
	Gate        Gate
	GateWorkers int
	// GateAhead bounds the requests admitted by the gate and not yet
	// taken by the sender (default DefaultGateAhead): a user is read
	// shortly before its requests are sent.
	GateAhead int
	// ReadLatency, when set, is how long the gate's reads take once they
	// leave (a moving average): the gate reads that far ahead of the
	// sender, and no further.
	ReadLatency func() time.Duration
	// Sorted declares the input grouped by from_account: each user is
	// planned and sent as soon as its rows end, with no grouping store. A
	// user whose rows reappear later is reported invalid for those rows.
	Sorted bool
}

// State is what a run needs of the incremental state (pipeline/state).
type State interface {
	// Partition loads the state of the users of planner partition p; it
	// is called from the planner goroutines.
	Partition(p int) (StatePart, error)
	// Confirmed records that the API confirmed the item; it may be called
	// from several goroutines.
	Confirmed(from string, it *mark.Item)
}

// StatePart is the state of one partition's users.
type StatePart interface {
	// Unchanged reports whether the item of user from is what the API
	// last confirmed.
	Unchanged(from string, it *mark.Item) bool
	// Release is called once the partition's users are planned: the
	// part is not used again (its memory may serve the next one).
	Release()
}

// Summary is the account of a run, printed at the end and written as JSON.
type Summary struct {
	Input           string                  `json:"input"`
	DryRun          bool                    `json:"dry_run"`
	Rows            int64                   `json:"rows"`
	Statuses        map[report.Status]int64 `json:"statuses"`
	FailureCodes    map[int]int64           `json:"failure_codes,omitempty"`
	Users           int64                   `json:"users"`
	Conversations   int64                   `json:"conversations"`
	RequestsPlanned int64                   `json:"requests_planned"`
	RequestsSent    int64                   `json:"requests_sent"`
	HTTPRequests    int64                   `json:"http_requests"`
	Retries         int64                   `json:"retries"`
	Throttled       int64                   `json:"throttled"`
	ElapsedSeconds  float64                 `json:"elapsed_seconds"`
	SendSeconds     float64                 `json:"send_seconds"`
	RequestsPerSec  float64                 `json:"requests_per_second"`
	PlanSeconds     float64                 `json:"estimated_send_seconds"`
	Resumed         int64                   `json:"resumed_ok_rows,omitempty"`
	// RequestsSaved is how many requests the items not sent because the
	// state found them unchanged (--state) or the server already held
	// marks for them (--mode insert) would have taken.
	RequestsSaved int64 `json:"requests_saved,omitempty"`
	// ReadToWrite is the time from each user's read-back (--backup,
	// --mode insert) to the answer of its last write.
	ReadToWrite *Window `json:"read_to_write,omitempty"`
	Spilled     bool    `json:"spilled,omitempty"`
	// BackupRows is how many restore rows the run wrote to --backup, and
	// ReadRequests how many search_contact_group requests it took to read
	// the conversations back first.
	BackupRows   int64 `json:"backup_rows,omitempty"`
	ReadRequests int64 `json:"read_requests,omitempty"`
	// Stopped says why sending stopped early: StoppedInterrupted,
	// StoppedMaxInvalid, StoppedReport (the report could not be written),
	// "fatal: CODE" (mark.FatalError.Stopped), or what a Stop error names
	// ("backup": its journal could not be written);
	// StopMessage says it in words.
	Stopped     string `json:"stopped,omitempty"`
	StopMessage string `json:"stop_message,omitempty"`
}

// Stop is an error that stops the sending and says why in
// Summary.Stopped: an output the run must write before a request may leave
// could not be written (the backup's journal: "backup"). A *mark.FatalError
// says it too.
type Stop interface {
	error
	Stopped() string
}

// Why a run stopped early, in Summary.Stopped.
const (
	StoppedInterrupted = "interrupted"
	StoppedMaxInvalid  = "max-invalid"
	// StoppedReport: the report could not be written (ReportError).
	StoppedReport = "report"
	// StoppedBackup: the backup's journal could not be written (the Stop
	// error of pipeline/backup).
	StoppedBackup = "backup"
)

// AllOK reports whether every row ended ok, unchanged or exists (or valid,
// in a dry run).
func (s *Summary) AllOK() bool {
	good := s.Statuses[report.StatusOK] + s.Statuses[report.StatusValid] + s.Statuses[report.StatusUnchanged] + s.Statuses[report.StatusExists]
	return good == s.Rows
}

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
	r := &run{opts: opts, log: opts.Log, ctr: opts.Counters}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.ctr == nil {
		r.ctr = &mark.Counters{}
	}
	r.rep = &lockedReport{w: opts.Report, counts: map[report.Status]int64{}, codes: map[int]int64{}, rejects: opts.Rejects, failed: r.reportFailed}
	if err := r.opts.resolve(); err != nil {
		return Summary{Input: opts.Input, DryRun: opts.DryRun}, err
	}
	r.sum = Summary{Input: r.opts.Input, DryRun: opts.DryRun}
	if r.opts.Done != nil && r.opts.Done.Len() == 0 {
		r.opts.Done = nil
	}
	r.proven, _ = r.opts.Done.(ProvenRows)
	if r.opts.Done != nil {
		n := r.opts.Done.Len()
		r.rep.counts[report.StatusOK] = n
		r.ctr.RowsDone.Add(n)
		r.sum.Resumed = n
	}
	if r.opts.State != nil && r.opts.Sorted {
		return r.sum, errors.New("the incremental state (--state) needs the grouping of unsorted input: drop --sorted")
	}
	stopSync := r.syncEvery(opts.SyncEvery)
	err := r.run(ctx)
	stopSync()
	r.sum.RequestsSaved = r.saved.Load()
	if r.gate != nil {
		r.sum.ReadToWrite = r.gate.delays.window()
	}
	if err != nil && ctx.Err() != nil && r.sum.Stopped == "" {
		r.sum.Stopped = StoppedInterrupted
	}
	r.rep.sync()
	if rerr := r.reportFailure(); rerr != nil {
		// Whatever else stopped the run, its report is what must be
		// fixed first.
		err = rerr
		r.sum.Stopped, r.sum.StopMessage = StoppedReport, rerr.Error()
	}
	sum := r.sum
	sum.Statuses = r.rep.counts
	sum.FailureCodes = r.rep.codes
	sum.HTTPRequests = r.ctr.HTTPRequests.Load()
	sum.Retries = r.ctr.Retries.Load()
	sum.Throttled = r.ctr.Throttled.Load()
	sum.ElapsedSeconds = time.Since(start).Seconds()
	sum.RequestsPerSec = r.ctr.Pace()
	if opts.Rate > 0 {
		sum.PlanSeconds = float64(sum.RequestsPlanned) / opts.Rate
	}
	return sum, err
}

// PlanEach reads, validates and plans the input exactly as Run does
// (grouping within MemoryBudget and spilling beyond it, or streaming a
// Sorted input, with Done rows left out), but sends and reports nothing:
// invalid receives each invalid row as it is read, and plan each user's
// requests and rejected rows as they are planned. It returns the rows read.
func PlanEach(ctx context.Context, opts Options, invalid func(*plan.Invalid), each func([]mark.Request, []plan.Rejected) error) (int64, error) {
	opts.DryRun, opts.Report, opts.Rejects, opts.MaxInvalid = true, report.Discard{}, nil, nil
	r := &run{opts: opts, log: opts.Log, ctr: opts.Counters, onInvalid: invalid, onPlan: each}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.ctr == nil {
		r.ctr = &mark.Counters{}
	}
	r.rep = &lockedReport{w: report.Discard{}, counts: map[report.Status]int64{}, codes: map[int]int64{}}
	if err := r.opts.resolve(); err != nil {
		return 0, err
	}
	err := r.run(ctx)
	return r.sum.Rows, err
}

// resolve makes Files the one file Input names when it is not given, and
// Input its description when only Files is given.
func (o *Options) resolve() error {
	if o.Files == nil {
		in, err := readers.SingleInput(o.Input, o.Reader.Format)
		if err != nil {
			return err
		}
		o.Files = in
	} else if o.Input == "" {
		o.Input = o.Files.String()
	}
	return nil
}

// run is the state of one Run.
type run struct {
	opts  Options
	saved atomic.Int64 // requests the state saved
	log   *slog.Logger
	ctr   *mark.Counters
	rep   *lockedReport
	sum   Summary

	// Hooks of PlanEach: when set, invalid rows and plans go to them
	// instead of the report and the sender.
	onInvalid func(*plan.Invalid)
	onPlan    func([]mark.Request, []plan.Rejected) error

	proven    ProvenRows             // Options.Done, when it can prove its rows
	inputRead bool                   // Options.InputRead was called
	seq       int64                  // requests planned so far
	ch        chan *mark.Request     // to the sender
	gate      *gateStage             // between emit and the sender, when Options.Gate is set
	stopped   context.Context        // done when no more requests may be sent
	why       atomic.Pointer[string] // why sending stopped

	// The report's first error stops the run (reportFailed): cancelRun
	// cancels the context every stage runs under.
	halt      sync.Mutex
	cancelRun context.CancelFunc
	reportErr error
}

// ProvenRows is a Done set that proves its rows against the input
// (report.Done): a resumed run checks, as it reads the input, that each
// row its report has ok holds the conversation the report names, since
// the report's row numbers mean nothing for another input.
type ProvenRows interface {
	mark.Rows
	// Check compares the conversation the input puts on row, a row of the
	// set, with the report's; invalid, when not empty, says the input's
	// row is invalid. It returns an error for a mismatch.
	Check(row int64, from, typ, peer, invalid string) error
	// Unchecked returns an error for a row of the set that Check never
	// saw: once the input was read whole, a row it does not have.
	Unchecked() error
}

// stoppable returns ctx, cancelled also when the report fails.
func (r *run) stoppable(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	r.halt.Lock()
	r.cancelRun = cancel
	failed := r.reportErr != nil
	r.halt.Unlock()
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
		if guard, err = r.checkGuard(ctx); err != nil {
			return err
		}
	}
	in, err := r.opts.Files.Open(r.opts.Reader)
	if err != nil {
		return err
	}
	defer in.Close()

	var produce func(context.Context) error
	if r.opts.Sorted {
		produce = func(ctx context.Context) error { return r.streamSorted(ctx, in) }
	} else {
		st := spill.New(r.opts.MemoryBudget, r.opts.TempDir)
		defer st.Close()
		if err := r.read(ctx, in, true, st.Add); err != nil {
			return err
		}
		if r.sum.Rows == 0 {
			return &readers.InputError{Path: r.opts.Input, Err: readers.ErrNoRows}
		}
		r.ctr.RowsTotal.Store(r.sum.Rows)
		if err := r.markInputRead(); err != nil {
			return err
		}
		r.sum.Spilled = st.Spilled()
		if st.Spilled() {
			r.log.Info("input read", "rows", r.sum.Rows, "spilled", true, "spilled_rows", st.SpilledRows())
		} else {
			r.log.Info("input read", "rows", r.sum.Rows, "spilled", false, "held_bytes", st.Held())
		}
		produce = func(ctx context.Context) error {
			// Plans are done with once emitted unless they go to the
			// sender or to a PlanEach hook.
			reuse := (r.opts.DryRun || guard != nil) && r.onPlan == nil
			done, filter := r.opts.Done, partFilter(nil)
			if r.opts.State != nil {
				// The state's filter leaves done rows out, recording
				// their items. What it hands on to the sender is its
				// own copy, never the planner's memory: plans can be
				// made in reused memory on a real run too (a night
				// whose items are nearly all unchanged plans them all
				// only to drop them).
				done, filter = nil, r.stateFilter
				reuse = r.onPlan == nil
			}
			return planAhead(ctx, st, done, reuse, filter, r.emit)
		}
	}

	if r.opts.DryRun || guard != nil {
		r.stopped = ctx
		if guard != nil && !r.opts.DryRun {
			// Too many bad rows: plan as usual, send nothing, report the
			// rest unsent with the reason.
			why := "not sent: " + guard.Error()
			r.why.Store(&why)
			stopped, cancel := context.WithCancel(ctx)
			cancel()
			r.stopped = stopped
			r.sum.Stopped, r.sum.StopMessage = StoppedMaxInvalid, guard.Error()
		}
		if err := produce(ctx); err != nil {
			return err
		}
		if r.sum.Rows == 0 {
			return &readers.InputError{Path: r.opts.Input, Err: readers.ErrNoRows}
		}
		if err := r.markInputRead(); err != nil {
			return err
		}
		if guard != nil {
			return guard
		}
		return nil
	}

	// The producer plans and hands requests to the sender; once sending
	// stops on a fatal answer it goes on planning, only to report the rest
	// unsent. An interrupt stops it too.
	sendCtx, cancelSend := context.WithCancel(ctx)
	defer cancelSend()
	r.stopped = sendCtx
	r.ch = make(chan *mark.Request)
	if r.opts.Gate != nil {
		r.gate = r.startGate(cancelSend)
	}
	var prodErr error
	var g errgroup.Group
	g.Go(func() error {
		defer close(r.ch)
		prodErr = produce(ctx)
		if r.gate != nil {
			close(r.gate.in)
			r.gate.g.Wait()
		}
		return nil
	})
	sendStart := time.Now()
	done := func(req *mark.Request, out []mark.Outcome) {
		if r.gate != nil {
			r.gate.answered(req)
		}
		writeItems(r.rep, r.ctr, req, out, "")
		if r.opts.State != nil {
			for i := range out {
				if out[i].Sent && out[i].Code == 0 {
					r.opts.State.Confirmed(req.From, &req.Items[i])
				}
			}
		}
		r.ctr.RequestsDone.Add(1)
		// A request counts as sent when it left at least once.
		for i := range out {
			if out[i].Attempts > 0 {
				atomic.AddInt64(&r.sum.RequestsSent, 1)
				break
			}
		}
	}
	sendErr := r.opts.Sender.Send(sendCtx, r.ch, done)
	if r.gate != nil {
		// A gate that failed stopped the sending: it is why the run
		// stopped, unless the sender stopped on its own.
		var fe *mark.FatalError
		if gerr := r.gate.error(); gerr != nil && !errors.As(sendErr, &fe) && parent.Err() == nil {
			sendErr = gerr
		}
	}
	var fe *mark.FatalError
	var stop Stop
	switch {
	case errors.As(sendErr, &fe):
		why := fmt.Sprintf("not sent: the run stopped on API error %d", fe.Code)
		if fe.Code == mark.CodeUnreachable {
			why = "not sent: the API cannot be reached"
		}
		r.why.Store(&why)
		r.sum.Stopped, r.sum.StopMessage = fe.Stopped(), fe.Error()
	case sendErr != nil && parent.Err() != nil:
		r.sum.Stopped = StoppedInterrupted
	case errors.As(sendErr, &stop):
		r.sum.Stopped, r.sum.StopMessage = stop.Stopped(), sendErr.Error()
	case sendErr != nil:
		r.sum.Stopped, r.sum.StopMessage = "error", sendErr.Error()
	}
	cancelSend()
	g.Wait()
	r.sum.SendSeconds = time.Since(sendStart).Seconds()
	if sendErr != nil {
		return sendErr
	}
	if prodErr == nil && r.sum.Rows == 0 {
		prodErr = &readers.InputError{Path: r.opts.Input, Err: readers.ErrNoRows}
	}
	if prodErr != nil && parent.Err() != nil {
		r.sum.Stopped = StoppedInterrupted
	}
	return prodErr
}

// Limit is a bound on bad rows: a count, or a percentage of the rows.
type Limit struct {
	Count   int64
	Percent float64 // used when positive, instead of Count
}

// ParseLimit reads "100" or "0.5%".
func ParseLimit(s string) (*Limit, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 || v > 100 {
			return nil, fmt.Errorf("%q: want a count such as 100 or a share such as 0.5%%", s)
		}
		return &Limit{Percent: v}, nil
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%q: want a count such as 100 or a share such as 0.5%%", s)
	}
	return &Limit{Count: n}, nil
}

func (l *Limit) exceeded(bad, rows int64) bool {
	if l.Percent > 0 {
		return float64(bad) > l.Percent/100*float64(rows)
	}
	return bad > l.Count
}

func (l *Limit) String() string {
	if l.Percent > 0 {
		return strconv.FormatFloat(l.Percent, 'g', -1, 64) + "%"
	}
	return strconv.FormatInt(l.Count, 10)
}

// GuardError says that validation found more invalid and rejected rows
// than --max-invalid allows: nothing was sent.
type GuardError struct {
	Invalid, Rejected, Rows int64
	Limit                   string
}

func (e *GuardError) Error() string {
	return fmt.Sprintf("%d invalid and %d rejected rows of %d exceed --max-invalid %s", e.Invalid, e.Rejected, e.Rows, e.Limit)
}

// checkGuard validates and plans the input once without sending or
// reporting anything, to count the invalid and rejected rows before the
// first request. It returns a *GuardError when there are too many.
func (r *run) checkGuard(ctx context.Context) (*GuardError, error) {
	if r.opts.Input == "-" {
		return nil, errors.New("--max-invalid needs an input file: standard input cannot be read twice")
	}
	o := r.opts
	o.DryRun, o.Report, o.Rejects, o.MaxInvalid, o.Counters, o.Log, o.InputRead = true, report.Discard{}, nil, nil, nil, nil, nil
	sum, err := Run(ctx, o)
	if err != nil {
		return nil, err
	}
	bad := sum.Statuses[report.StatusInvalid] + sum.Statuses[report.StatusRejected]
	if !r.opts.MaxInvalid.exceeded(bad, sum.Rows) {
		return nil, nil
	}
	g := &GuardError{Invalid: sum.Statuses[report.StatusInvalid], Rejected: sum.Statuses[report.StatusRejected], Rows: sum.Rows, Limit: r.opts.MaxInvalid.String()}
	r.log.Warn("too many bad rows: nothing will be sent", "invalid", g.Invalid, "rejected", g.Rejected, "rows", g.Rows, "max_invalid", g.Limit)
	return g, nil
}

func (r *run) invalid(bad *plan.Invalid) {
	if r.onInvalid != nil {
		r.onInvalid(bad)
		return
	}
	if r.opts.Done != nil && r.opts.Done.Has(bad.Row) {
		return
	}
	r.rep.write(report.Line{Row: bad.Row, From: bad.From, Type: bad.Type, Peer: bad.Peer, Status: report.StatusInvalid, Code: mark.CodeInvalid, Message: bad.Message})
	r.ctr.RowsDone.Add(1)
}

// streamSorted plans input grouped by user as it is read: a user is planned
// when its rows end. A user seen again after other users cannot be merged
// with its earlier rows, which may already be sent: those rows are invalid.
func (r *run) streamSorted(ctx context.Context, in readers.Reader) error {
	seen := spill.NewHashSet()
	var group []mark.Change
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		seen.Add(spill.Hash(group[0].From))
		reqs, rej := plan.PlanUser(group, mark.MaxConversations, r.opts.Done)
		group = group[:0]
		return r.emit(reqs, rej)
	}
	err := r.read(ctx, in, false, func(c *mark.Change, _ int) error {
		if len(group) > 0 && group[0].From == c.From {
			group = append(group, *c)
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		if seen.Has(spill.Hash(c.From)) {
			r.invalid(&plan.Invalid{Row: c.Row, From: c.From, Type: c.Conv.TypeName(), Peer: c.Conv.Peer,
				Message: fmt.Sprintf("from_account: %q appeared earlier, separated from this row by other users; with --sorted each user's rows must be contiguous", c.From)})
			return nil
		}
		group = append(group, *c)
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	r.ctr.RowsTotal.Store(r.sum.Rows)
	return nil
}

// emit takes the plan of one user: its rejected rows are reported, its
// requests sent (or, in a dry run or once sending stopped, reported).
func (r *run) emit(reqs []mark.Request, rejected []plan.Rejected) error {
	if r.onPlan != nil {
		return r.onPlan(reqs, rejected)
	}
	if len(reqs) > 0 || len(rejected) > 0 {
		r.sum.Users++
	}
	if len(rejected) > 0 {
		r.rep.mu.Lock()
		var n int64
		for _, rj := range rejected {
			if r.opts.Done != nil && r.opts.Done.Has(rj.Row) {
				continue
			}
			r.rep.writeRowsLocked(report.Line{Row: rj.Row, From: rj.From, Type: rj.Conv.TypeName(), Peer: rj.Conv.Peer, Status: report.StatusRejected,
				Code: mark.CodeTooManyConversations, Message: rejectedMessage}, []int64{rj.Row})
			n++
		}
		r.rep.mu.Unlock()
		r.ctr.RowsDone.Add(n)
	}
	for i := range reqs {
		req := &reqs[i]
		r.seq++
		req.Seq = r.seq
		r.sum.RequestsPlanned++
		r.sum.Conversations += int64(len(req.Items))
		r.ctr.RequestsPlanned.Add(1)
		if r.opts.DryRun {
			writeItems(r.rep, r.ctr, req, nil, report.StatusValid)
		}
	}
	if r.opts.DryRun || len(reqs) == 0 {
		return nil
	}
	if r.stopped.Err() == nil {
		if err := r.markInputRead(); err != nil {
			return err
		}
	}
	if r.gate != nil {
		// The gate hands the user's requests on once it admits them.
		select {
		case r.gate.in <- reqs:
		case <-r.stopped.Done():
			r.unsent(reqs)
		}
		return nil
	}
	for i := range reqs {
		select {
		case r.ch <- &reqs[i]:
			continue
		case <-r.stopped.Done():
		}
		r.unsent(reqs[i:])
		return nil
	}
	return nil
}

// stateFilter returns the filter of the users of partition p (called
// in a planner goroutine): an item whose rows all ended ok in the run
// being resumed is recorded as confirmed and left out (its rows are not
// reported again); an item the state finds unchanged is reported
// unchanged and left out; the rest is packed again, 100 items a request,
// so that requests stay at the lower bound of what is sent. The requests
// it returns are its own memory (items and rows copied), so that the
// plans it is given may be in a planner's reused arena.
func (r *run) stateFilter(p int) (func([]mark.Request) []mark.Request, func(), error) {
	part, err := r.opts.State.Partition(p)
	if err != nil {
		return nil, nil, err
	}
	// The items of a user are looked at, and its unchanged ones
	// reported, before the next user's (in this goroutine): buffers
	// reused from user to user serve them all, which spares a copy of
	// every item of a night's file, and its lines are formatted here,
	// by both planners at once, outside the report's lock.
	var all, same []mark.Item
	var lines []byte // the report lines of a user's unchanged items
	return func(reqs []mark.Request) []mark.Request {
		from := reqs[0].From
		all = all[:0]
		for i := range reqs {
			all = append(all, reqs[i].Items...)
		}
		items := all
		if r.opts.Done != nil {
			confirmed := func(it *mark.Item) { r.opts.State.Confirmed(from, it) }
			if r.opts.DryRun {
				confirmed = nil
			}
			items = plan.DropDone(items, r.opts.Done, confirmed)
		}
		same = same[:0]
		var kept []mark.Item
		nRows := 0
		for i := range items {
			it := &items[i]
			if part.Unchanged(from, it) {
				same = append(same, *it)
			} else {
				kept = append(kept, *it)
				nRows += len(it.Rows)
			}
		}
		if len(same) > 0 {
			// The status says it: no message, which costs a report of
			// tens of millions of unchanged rows nothing.
			lines = r.rep.writeItemsAs(lines, r.ctr, from, same, report.StatusUnchanged)
		}
		clear(all) // nothing kept alive past the user
		clear(same)
		if len(kept) > 0 {
			// The rows leave the planner's memory with the items.
			rows := make([]int64, 0, nRows)
			for i := range kept {
				k := len(rows)
				rows = append(rows, kept[i].Rows...)
				kept[i].Rows = rows[k:len(rows):len(rows)]
			}
		}
		out := plan.Pack(nil, from, kept)
		if saved := len(reqs) - len(out); saved > 0 && r.opts.Done == nil {
			r.saved.Add(int64(saved))
		}
		return out
	}, part.Release, nil
}

// markInputRead calls Options.InputRead the first time.
func (r *run) markInputRead() error {
	if r.inputRead || r.opts.InputRead == nil || r.onPlan != nil {
		return nil
	}
	r.inputRead = true
	err := r.opts.InputRead()
	var we *report.WriteError
	if errors.As(err, &we) {
		// The journal could not take its name: as any report failure.
		r.rep.mu.Lock()
		r.rep.fail(err)
		r.rep.mu.Unlock()
	}
	return err
}

// rejectedMessage is the report's message for a row beyond the limit.
var rejectedMessage = fmt.Sprintf("conversation beyond the limit of %d per user", mark.MaxConversations)

// writeItems writes the report lines of every row of a request: from its
// outcomes, or all with the given status when outcomes are nil.
func writeItems(rep *lockedReport, ctr *mark.Counters, req *mark.Request, out []mark.Outcome, status report.Status, msg ...string) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for i := range req.Items {
		it := &req.Items[i]
		l := report.Line{From: req.From, Type: it.Conv.TypeName(), Peer: it.Conv.Peer}
		if out != nil {
			o := out[i]
			l.Code, l.Message, l.Attempts = o.Code, o.Message, o.Attempts
			switch {
			case !o.Sent:
				l.Status = report.StatusUnsent
			case o.Code == 0:
				l.Status = report.StatusOK
			default:
				l.Status = report.StatusFailed
			}
		} else {
			l.Status = status
			if len(msg) > 0 {
				l.Message = msg[0]
			}
		}
		rep.writeRowsLocked(l, it.Rows)
		ctr.RowsDone.Add(int64(len(it.Rows)))
	}
}
