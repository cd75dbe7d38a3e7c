package pipeline

import (
	"context"
	"log/slog"
	"time"

	"markimport/pipeline/mark"
	"markimport/pipeline/rejects"
	"markimport/pipeline/report"
	"markimport/pipeline/timeline"
	"markimport/readers"
)

// The ports a run needs (a Sender, the incremental State, a set of rows
// already done) and the options that configure it.

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
	// GateWorkers is how many users it admits at once (default 256).
	Gate        Gate
	GateWorkers int
	// GateAhead bounds the requests admitted by the gate and not yet
	// taken by the sender (default 256): a user is read
	// shortly before its requests are sent.
	GateAhead int
	// ReadLatency, when set, is how long the gate's reads take once they
	// leave (a moving average): the gate reads that far ahead of the
	// sender, and no further.
	ReadLatency func() time.Duration
	// Sample, when not whole, is the share of users the run sends to
	// (--sample): the valid rows of every other user are reported
	// skipped and not sent; invalid and rejected rows are reported as
	// usual, whoever's they are.
	Sample mark.Sample
	// Sorted declares the input grouped by from_account: each user is
	// planned and sent as soon as its rows end, with no grouping store. A
	// user whose rows reappear later is reported invalid for those rows.
	Sorted bool
	// StrictBits makes a row that sets or clears a bit of 4–31, which the
	// client SDKs do not define, invalid (--strict-bits). Without it such
	// rows are valid, and the run logs one warning naming how many there
	// were and the first.
	StrictBits bool
	// Halt, when set, stops the sending once its Done channel closes, as
	// a fatal answer does: requests in flight finish, the rows not sent
	// are reported unsent, and Halt's Err (a Stop) is why.
	Halt Halt
	// Timeline, when set, counts the items confirmed and failed per
	// interval of the run (the sender's answers feed it too); the summary
	// carries its series.
	Timeline *timeline.Recorder
}

// Halt is a condition outside the run that must stop its sending (a
// lease in object storage lost): Done is closed once it holds, and Err
// then says why, as a Stop.
type Halt interface {
	Done() <-chan struct{}
	Err() Stop
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
	// Unchanged appends to dst, for each of items of user from,
	// whether it is what the API last confirmed, and returns dst.
	Unchanged(from string, items []mark.Item, dst []bool) []bool
	// Release is called once the partition's users are planned: the
	// part is not used again (its memory may serve the next one).
	Release()
}

// provenRows is a Done set that proves its rows against the input
// (report.Done): a resumed run checks, as it reads the input, that each
// row its report has ok holds the conversation the report names, since
// the report's row numbers mean nothing for another input.
type provenRows interface {
	mark.Rows
	// Check compares the conversation the input puts on row, a row of the
	// set, with the report's; invalid, when not empty, says the input's
	// row is invalid. It returns an error for a mismatch.
	Check(row int64, from, typ, peer, invalid string) error
	// Unchecked returns an error for a row of the set that Check never
	// saw: once the input was read whole, a row it does not have.
	Unchecked() error
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
