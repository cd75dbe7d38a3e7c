package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
)

// Gate decides, user by user, right before a user's requests are sent,
// whether each of its items may go (the read-back of run --backup and
// --mode insert).
// Admit is called from several goroutines, each with one user's planned
// items, and returns one verdict per item; it returns a *mark.FatalError
// when the run must stop, ctx.Err() when interrupted, or another error
// when nothing more may be sent (a backup that cannot be written).
type Gate interface {
	Admit(ctx context.Context, from string, items []mark.Item) ([]mark.Verdict, error)
}

// defaultGateWorkers is how many users the gate admits at once, and
// defaultGateAhead the most requests it lets be admitted and wait for the
// sender: enough that reads answered in over a second still keep the
// writes at 200/s with one request per user. Within it, the bound follows
// how long admissions take (aheadLimit), so that a user is read shortly
// before it is sent.
const (
	defaultGateWorkers = 256
	defaultGateAhead   = 256
)

// gateStage runs the gate between the planner and the sender: emit hands
// it each user's requests; workers admit them and hand the requests whose
// items may go to the sender, and report the rows of held items.
type gateStage struct {
	r     *run
	in    chan []mark.Request
	g     errgroup.Group
	stop  context.CancelFunc // stops sending: the gate failed
	err   atomic.Pointer[error]
	ahead *aheadLimit // requests admitted and not yet taken

	mu     sync.Mutex
	users  map[*mark.Request]*userWindow // requests sent, not yet answered
	delays windowHistogram
}

// userWindow is one user's read-to-write window while its requests are
// answered.
type userWindow struct {
	start time.Time // its read-back was answered
	left  int       // requests not yet answered
}

// startGate starts the gate's workers; stop cancels sending.
func (r *run) startGate(stop context.CancelFunc) *gateStage {
	n := r.opts.GateWorkers
	if n <= 0 {
		n = defaultGateWorkers
	}
	ahead := int64(r.opts.GateAhead)
	if ahead <= 0 {
		ahead = defaultGateAhead
	}
	rate := r.opts.Rate
	if rate <= 0 {
		rate = 200
	}
	gs := &gateStage{r: r, in: make(chan []mark.Request), stop: stop, ahead: newAheadLimit(rate, ahead, r.opts.ReadLatency),
		users: map[*mark.Request]*userWindow{}}
	for range n {
		gs.g.Go(func() error {
			for reqs := range gs.in {
				gs.admit(reqs)
			}
			return nil
		})
	}
	return gs
}

// answered records that the sender is done with req.
func (gs *gateStage) answered(req *mark.Request) {
	gs.mu.Lock()
	u := gs.users[req]
	delete(gs.users, req)
	last := false
	if u != nil {
		u.left--
		last = u.left == 0
	}
	gs.mu.Unlock()
	if last {
		gs.delays.add(time.Since(u.start))
	}
}

// error is the gate's error, if it stopped the run.
func (gs *gateStage) error() error {
	if p := gs.err.Load(); p != nil {
		return *p
	}
	return nil
}

// admit puts one user's requests through the gate: it waits for room
// ahead of the sender, asks the gate for a verdict on every item, reports
// the items held and hands the requests of the rest on to the sender.
func (gs *gateStage) admit(reqs []mark.Request) {
	r := gs.r
	weight := int64(len(reqs))
	if err := gs.ahead.acquire(r.stopped, weight); err != nil {
		r.unsent(reqs)
		return
	}
	defer gs.ahead.release(weight)
	var items []mark.Item
	for i := range reqs {
		items = append(items, reqs[i].Items...)
	}
	verdicts, err := r.opts.Gate.Admit(r.stopped, reqs[0].From, items)
	read := time.Now() // the window starts: what was read may change now
	if err != nil {
		gs.failed(err)
		r.unsent(reqs)
		return
	}
	gs.handOn(gs.judged(reqs, items, verdicts), read)
}

// failed stops the sending on the gate's first error, unless it already
// stopped: nothing more is sent, and the error is why. The cause is set
// before this worker reports its rows unsent, also when another worker's
// error came first (the cause keeps the first): workers failing on one
// group commit report their rows with the reason, never before it is known.
func (gs *gateStage) failed(err error) {
	if gs.r.stopped.Err() != nil {
		return
	}
	gs.r.stop.setError(err)
	gs.err.CompareAndSwap(nil, &err)
	gs.stop()
}

// judged reports the rows of the items a verdict holds back and returns
// the requests of the items let go: reqs itself when none is held, else
// the rest packed again (under reqs' sequence numbers), at the lower
// bound of what is sent. The requests spared by items held because the
// server already has their marks are counted saved.
func (gs *gateStage) judged(reqs []mark.Request, items []mark.Item, verdicts []mark.Verdict) []mark.Request {
	r := gs.r
	from := reqs[0].From
	if r.opts.DryRun {
		gs.previewed(from, items, verdicts)
		return nil
	}
	kept := items[:0:0]
	saved := false // an item held needs no request: not a failure
	for i := range items {
		v := verdicts[i]
		req := mark.Request{From: from, Items: items[i : i+1]}
		switch v.Hold {
		case mark.Send:
			kept = append(kept, items[i])
		case mark.HoldExists:
			saved = true
			writeItems(r.rep, r.ctr, &req, nil, report.StatusExists, v.Message)
		case mark.HoldSame:
			// The read-back confirms the item as a sent one would.
			saved = true
			writeItems(r.rep, r.ctr, &req, nil, report.StatusUnchanged, v.Message)
			if r.opts.State != nil {
				r.opts.State.Confirmed(from, &items[i])
			}
		default:
			writeItems(r.rep, r.ctr, &req, []mark.Outcome{{Code: v.Code, Message: v.Message}}, "")
		}
	}
	if len(kept) == len(items) {
		return reqs
	}
	packed := plan.Pack(nil, from, kept)
	for i := range packed {
		packed[i].Seq = reqs[i].Seq
	}
	if saved {
		r.saved.Add(int64(len(reqs) - len(packed)))
	}
	return packed
}

// previewed reports the rows of a user's items as a preview judged them
// (validate --online, where the gate holds every item): would-change,
// already, or unread when its read failed; the requests the changes would
// take, at the lower bound, are counted. Nothing is handed on, nor
// recorded in the state (a dry run only reads it).
func (gs *gateStage) previewed(from string, items []mark.Item, verdicts []mark.Verdict) {
	r := gs.r
	change := 0
	for i := range items {
		v := verdicts[i]
		req := mark.Request{From: from, Items: items[i : i+1]}
		switch v.Hold {
		case mark.HoldChange:
			change++
			writeItems(r.rep, r.ctr, &req, nil, report.StatusWouldChange, v.Message)
		case mark.HoldSame:
			writeItems(r.rep, r.ctr, &req, nil, report.StatusAlready, v.Message)
		default:
			// The preview reads and sends nothing: a verdict that is not
			// about the marks read is its read's failure.
			writeItemsLine(r.rep, r.ctr, &req, report.Line{Status: report.StatusUnread, Code: v.Code, Message: v.Message})
		}
	}
	r.toChange.Add(int64((change + mark.MaxItemsPerRequest - 1) / mark.MaxItemsPerRequest))
}

// handOn hands a user's admitted requests to the sender, its read-to-write
// window started at read; once sending stopped, the rest is reported
// unsent.
func (gs *gateStage) handOn(reqs []mark.Request, read time.Time) {
	r := gs.r
	if len(reqs) > 0 {
		u := &userWindow{start: read, left: len(reqs)}
		gs.mu.Lock()
		for i := range reqs {
			gs.users[&reqs[i]] = u
		}
		gs.mu.Unlock()
	}
	for i := range reqs {
		select {
		case r.ch <- &reqs[i]:
		case <-r.stopped.Done():
			gs.mu.Lock()
			for k := i; k < len(reqs); k++ {
				delete(gs.users, &reqs[k])
			}
			gs.mu.Unlock()
			r.unsent(reqs[i:])
			return
		}
	}
}
