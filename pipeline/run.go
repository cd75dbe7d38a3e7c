package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"markimport/readers"
)

// Outcome is what became of one item of a request.
type Outcome struct {
	// Sent is false when the item never reached the API (the run stopped first).
	Sent bool
	// Code is 0 on success, else the API's or a local error code.
	Code    int
	Message string
	// Attempts counts the requests that carried the item.
	Attempts int
}

// Sender sends planned requests. Send receives requests from reqs until it is
// closed or ctx is done, and calls done exactly once for every request it
// received, with one Outcome per item in order. done may be called from
// several goroutines. Send returns when every received request is done; it
// returns a *FatalError when the API answered with an error that stops the
// run, or ctx.Err() when interrupted.
type Sender interface {
	Send(ctx context.Context, reqs <-chan *Request, done func(*Request, []Outcome)) error
}

// FatalError is an API answer that makes every further request pointless
// (wrong credentials, region or edition). The run stops.
type FatalError struct {
	Code int
	Info string // the API's ErrorInfo
	Hint string // what the user should fix
}

func (e *FatalError) Error() string {
	s := fmt.Sprintf("API error %d", e.Code)
	if e.Info != "" {
		s += ": " + e.Info
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Counters are bumped by the pipeline and the sender as work progresses; a
// progress observer reads them. All fields are updated atomically.
type Counters struct {
	RowsRead        atomic.Int64
	RowsTotal       atomic.Int64 // known once reading is done
	RowsDone        atomic.Int64 // rows with a final report line
	RequestsPlanned atomic.Int64
	RequestsDone    atomic.Int64
	HTTPRequests    atomic.Int64 // every request put on the wire, retries included
	Retries         atomic.Int64
	Throttled       atomic.Int64
}

// Options configure Run.
type Options struct {
	Input  string
	Reader readers.Options
	// DryRun validates and plans but sends nothing; rows that would be sent
	// are reported "valid".
	DryRun bool
	Report ReportWriter
	Sender Sender // unused when DryRun
	// Rate is the request rate, used to estimate the time a plan takes.
	Rate     float64
	Counters *Counters
	Log      *slog.Logger
	// SyncEvery is how often the report is made durable; 0 means 1 s.
	SyncEvery time.Duration
	// Done holds the rows a previous run already reported ok (--resume):
	// they are planned with the rest, so merging and limits come out as for
	// an uninterrupted run, but neither sent again nor reported again.
	Done *RowSet
}

// Summary is the account of a run, printed at the end and written as JSON.
type Summary struct {
	Input           string           `json:"input"`
	DryRun          bool             `json:"dry_run"`
	Rows            int64            `json:"rows"`
	Statuses        map[Status]int64 `json:"statuses"`
	FailureCodes    map[int]int64    `json:"failure_codes,omitempty"`
	Users           int64            `json:"users"`
	Conversations   int64            `json:"conversations"`
	RequestsPlanned int64            `json:"requests_planned"`
	RequestsSent    int64            `json:"requests_sent"`
	HTTPRequests    int64            `json:"http_requests"`
	Retries         int64            `json:"retries"`
	Throttled       int64            `json:"throttled"`
	ElapsedSeconds  float64          `json:"elapsed_seconds"`
	SendSeconds     float64          `json:"send_seconds"`
	RequestsPerSec  float64          `json:"requests_per_second"`
	PlanSeconds     float64          `json:"estimated_send_seconds"`
	Resumed         int64            `json:"resumed_ok_rows,omitempty"`
	Stopped         string           `json:"stopped,omitempty"`
}

// AllOK reports whether every row ended ok (or valid, in a dry run).
func (s *Summary) AllOK() bool {
	good := s.Statuses[StatusOK] + s.Statuses[StatusValid]
	return good == s.Rows
}

// Run reads the input, validates and plans it, sends the requests (unless
// DryRun) and writes one report line per row. It returns an *readers.InputError
// before anything is sent when the input cannot be read, a *FatalError when
// the API stopped the run, or ctx.Err() when interrupted; in every case the
// summary accounts for every row read.
func Run(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctr := opts.Counters
	if ctr == nil {
		ctr = &Counters{}
	}
	rep := &lockedReport{w: opts.Report, counts: map[Status]int64{}, codes: map[int]int64{}}
	sum := Summary{Input: opts.Input, DryRun: opts.DryRun}
	if n := opts.Done.Len(); n > 0 {
		rep.counts[StatusOK] = n
		ctr.RowsDone.Add(n)
		sum.Resumed = n
	}

	// Make the report durable at least every SyncEvery while the run goes on.
	every := opts.SyncEvery
	if every <= 0 {
		every = time.Second
	}
	syncDone := make(chan struct{})
	var syncWG sync.WaitGroup
	syncWG.Add(1)
	go func() {
		defer syncWG.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-syncDone:
				return
			case <-t.C:
				if err := rep.sync(); err != nil {
					log.Error("report write failed", "err", err)
				}
			}
		}
	}()
	finish := func(err error) (Summary, error) {
		close(syncDone)
		syncWG.Wait()
		if serr := rep.sync(); serr != nil && err == nil {
			err = fmt.Errorf("write report: %w", serr)
		}
		sum.Statuses = rep.counts
		sum.FailureCodes = rep.codes
		sum.HTTPRequests = ctr.HTTPRequests.Load()
		sum.Retries = ctr.Retries.Load()
		sum.Throttled = ctr.Throttled.Load()
		sum.ElapsedSeconds = time.Since(start).Seconds()
		if sum.SendSeconds > 0 {
			sum.RequestsPerSec = float64(sum.HTTPRequests) / sum.SendSeconds
		}
		return sum, err
	}

	// Read and validate every row. Invalid rows are reported at once.
	r, err := readers.Open(opts.Input, opts.Reader)
	if err != nil {
		return finish(err)
	}
	var changes []Change
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.Close()
			return finish(err)
		}
		sum.Rows++
		ctr.RowsRead.Add(1)
		c, bad := Validate(rec)
		if bad != nil {
			if !opts.Done.Has(bad.Row) {
				rep.write(Line{Row: bad.Row, From: bad.From, Type: bad.Type, Peer: bad.Peer, Status: StatusInvalid, Code: CodeInvalid, Message: bad.Message})
				ctr.RowsDone.Add(1)
			}
			continue
		}
		changes = append(changes, c)
	}
	r.Close()
	if sum.Rows == 0 {
		return finish(&readers.InputError{Path: opts.Input, Err: readers.ErrNoRows})
	}
	ctr.RowsTotal.Store(sum.Rows)

	reqs, rejected := Plan(changes, opts.Done)
	changes = nil
	for _, rj := range rejected {
		if opts.Done.Has(rj.Row) {
			continue
		}
		rep.write(Line{Row: rj.Row, From: rj.From, Type: rj.Conv.TypeName(), Peer: rj.Conv.Peer, Status: StatusRejected, Code: CodeTooManyConversations,
			Message: fmt.Sprintf("conversation beyond the limit of %d per user", MaxConversations)})
		ctr.RowsDone.Add(1)
	}
	users := map[string]struct{}{}
	for i := range reqs {
		users[reqs[i].From] = struct{}{}
		sum.Conversations += int64(len(reqs[i].Items))
	}
	sum.Users = int64(len(users))
	sum.RequestsPlanned = int64(len(reqs))
	ctr.RequestsPlanned.Store(sum.RequestsPlanned)
	if opts.Rate > 0 {
		sum.PlanSeconds = float64(len(reqs)) / opts.Rate
	}
	log.Info("plan ready", "rows", sum.Rows, "users", sum.Users, "conversations", sum.Conversations, "requests", sum.RequestsPlanned)

	if opts.DryRun {
		for i := range reqs {
			writeItems(rep, ctr, &reqs[i], nil, StatusValid)
		}
		return finish(nil)
	}

	// Send. done marks each finished request; what was never finished is
	// reported unsent afterwards.
	finished := make([]atomic.Bool, len(reqs))
	done := func(req *Request, out []Outcome) {
		finished[req.Seq-1].Store(true)
		writeItems(rep, ctr, req, out, "")
		ctr.RequestsDone.Add(1)
	}
	ch := make(chan *Request)
	sendCtx, cancelSend := context.WithCancel(ctx)
	defer cancelSend()
	go func() {
		defer close(ch)
		for i := range reqs {
			select {
			case ch <- &reqs[i]:
			case <-sendCtx.Done():
				return
			}
		}
	}()
	sendStart := time.Now()
	sendErr := opts.Sender.Send(sendCtx, ch, done)
	cancelSend()
	sum.SendSeconds = time.Since(sendStart).Seconds()
	why := "not sent"
	var fe *FatalError
	switch {
	case errors.As(sendErr, &fe):
		why = fmt.Sprintf("not sent: the run stopped on API error %d", fe.Code)
		sum.Stopped = fe.Error()
	case sendErr != nil:
		why = "not sent: the run was interrupted"
		sum.Stopped = sendErr.Error()
	}
	for i := range reqs {
		if !finished[i].Load() {
			writeItems(rep, ctr, &reqs[i], nil, StatusUnsent, why)
		} else {
			sum.RequestsSent++
		}
	}
	return finish(sendErr)
}

// writeItems writes the report lines of every row of a request: from its
// outcomes, or all with the given status when outcomes are nil.
func writeItems(rep *lockedReport, ctr *Counters, req *Request, out []Outcome, status Status, msg ...string) {
	for i := range req.Items {
		it := &req.Items[i]
		l := Line{From: req.From, Type: it.Conv.TypeName(), Peer: it.Conv.Peer}
		if out != nil {
			o := out[i]
			l.Code, l.Message, l.Attempts = o.Code, o.Message, o.Attempts
			switch {
			case !o.Sent:
				l.Status = StatusUnsent
			case o.Code == 0:
				l.Status = StatusOK
			default:
				l.Status = StatusFailed
			}
		} else {
			l.Status = status
			if len(msg) > 0 {
				l.Message = msg[0]
			}
		}
		for _, row := range it.Rows {
			l.Row = row
			rep.write(l)
		}
		ctr.RowsDone.Add(int64(len(it.Rows)))
	}
}
