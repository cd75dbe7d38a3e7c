package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
	"markimport/pipeline/timeline"
	"markimport/readers"
)

// Verification reads the marks back after an import and compares them with
// what the input file asked for. The input is planned exactly as Run plans
// it, so every row is judged by the item it was merged into: the bits the
// item sets must be 1, the bits it clears must be 0, and its custom mark, when
// it writes one, must be equal. Bits the file never mentions are not compared:
// the import did not touch them.

// MarkReader reads marks back from the server. Search is given one user and
// 1..MaxSearchItems distinct conversations, and returns the marks of those
// the server has; a conversation the user never marked is absent from the
// map. It returns a *mark.FatalError when the API answered with an error that
// makes every further read pointless, and ctx.Err() when ctx is done.
type MarkReader interface {
	Search(ctx context.Context, from string, convs []mark.Conversation) (map[mark.Conversation]mark.ServerMarks, error)
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Input string
	// Files is the input's list of files; when nil, Input is the one file.
	Files  *readers.Input
	Reader readers.Options
	Report report.VerifyWriter
	Marks  MarkReader
	// Exists holds the rows the run being verified reported exists (an
	// insert-only run did not send them): they are not checked.
	Exists mark.Rows
	// Sample, when not whole, is the share of users to check (--sample,
	// as given to the run being verified): the rows of every other user
	// are not checked.
	Sample mark.Sample
	// Concurrency is the number of reads in flight (default 16); the
	// MarkReader paces them.
	Concurrency int
	Counters    *mark.Counters
	Log         *slog.Logger
	// MemoryBudget, TempDir and Sorted plan the file as Run does.
	MemoryBudget int64
	TempDir      string
	Sorted       bool
	// Timeline, when set, is the reads' timeline (the reader's answers
	// feed it); the summary carries its series.
	Timeline *timeline.Recorder
}

// VerifySummary is the account of a verify, printed at the end and written
// as JSON.
type VerifySummary struct {
	Input         string                        `json:"input"`
	Rows          int64                         `json:"rows"`
	Statuses      map[report.VerifyStatus]int64 `json:"statuses"`
	Users         int64                         `json:"users"`
	Conversations int64                         `json:"conversations"`
	// Requests is the search_contact_group requests planned: one per user
	// per MaxSearchItems conversations.
	Requests     int64 `json:"requests_planned"`
	HTTPRequests int64 `json:"http_requests"`
	// HTTPRequestsByCode and ThrottledByCode are as Summary's.
	HTTPRequestsByCode map[string]int64 `json:"http_requests_by_code,omitempty"`
	Retries            int64            `json:"retries"`
	Throttled          int64            `json:"throttled"`
	ThrottledByCode    map[string]int64 `json:"throttled_by_code,omitempty"`
	ElapsedSeconds     float64          `json:"elapsed_seconds"`
	Stopped            string           `json:"stopped,omitempty"`
	StopMessage        string           `json:"stop_message,omitempty"`
	// Sample is the share of users checked (--sample; 1 when every user),
	// and UsersLeftOut how many users outside it were not checked.
	Sample       float64 `json:"sample"`
	UsersLeftOut int64   `json:"users_left_out,omitempty"`
	// Timeline is the reads over time (absent when none was made).
	Timeline *timeline.Series `json:"timeline,omitempty"`
}

// AllMatch reports whether every checked row matches: no row is a
// mismatch, missing or unread. Not-checked rows do not count.
func (s *VerifySummary) AllMatch() bool {
	return s.Statuses[report.VerifyMismatch]+s.Statuses[report.VerifyMissing]+s.Statuses[report.VerifyUnread] == 0
}

// Verify reads and plans the input as Run does, reads back the marks of
// every planned conversation with the fewest search requests (one per user
// per MaxSearchItems conversations, several in flight), and writes one report
// line per input row. It returns an *readers.InputError when the input
// cannot be read, a *mark.FatalError when the API stopped the reads, or ctx.Err()
// when interrupted; rows not read then are reported unread.
func Verify(ctx context.Context, opts VerifyOptions) (VerifySummary, error) {
	start := time.Now()
	v := newVerifier(opts)
	// The file is planned as run plans it, user by user; each user's reads
	// start as soon as it is planned. A fatal answer cancels gctx: reads in
	// flight end, no new one starts, and the rest is reported unread.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.workers)
	rows, err := planEach(ctx, Options{Input: v.opts.Input, Files: v.opts.Files, Reader: v.opts.Reader, Counters: v.ctr, Log: v.log,
		MemoryBudget: v.opts.MemoryBudget, TempDir: v.opts.TempDir, Sorted: v.opts.Sorted},
		v.invalid,
		func(reqs []mark.Request, rejected []plan.Rejected) error {
			v.planned(gctx, g, reqs, rejected)
			return nil
		})
	v.sum.Rows = rows
	v.ctr.PlanDone.Store(true)
	werr := g.Wait()
	if err == nil {
		err = werr
	}
	if err == nil {
		err = ctx.Err()
	}
	v.stopped(ctx, err)
	return v.finish(start, err)
}

// verifier is the state of one Verify.
type verifier struct {
	opts    VerifyOptions
	log     *slog.Logger
	ctr     *mark.Counters
	workers int
	rep     *verifyReport
	sum     VerifySummary
	// leftOut is the message of the rows of users outside the sample.
	leftOut string
}

// newVerifier fills in opts' defaults: a logger, counters, 16 reads in
// flight, the input described by its files.
func newVerifier(opts VerifyOptions) *verifier {
	v := &verifier{opts: opts, log: opts.Log, ctr: opts.Counters, workers: opts.Concurrency}
	if v.log == nil {
		v.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if v.ctr == nil {
		v.ctr = &mark.Counters{}
	}
	if v.workers <= 0 {
		v.workers = 16
	}
	v.rep = &verifyReport{w: opts.Report, ctr: v.ctr}
	if v.opts.Input == "" && v.opts.Files != nil {
		v.opts.Input = v.opts.Files.String()
	}
	v.sum = VerifySummary{Input: v.opts.Input}
	v.leftOut = fmt.Sprintf("skipped: the user is not in the sample (--sample %g)", opts.Sample.Fraction())
	return v
}

// invalid reports an invalid row not checked.
func (v *verifier) invalid(bad *plan.Invalid) {
	v.rep.write(report.VerifyLine{Row: bad.Row, From: bad.From, Type: bad.Type, Peer: bad.Peer, Status: report.VerifyNotChecked,
		Message: "invalid: " + bad.Message})
}

// planned takes the plan of one user: its rejected rows and the rows the
// run reported exists are not checked; its items are read back in the
// fewest search requests, each a task of g, or reported unread once gctx
// is done.
func (v *verifier) planned(gctx context.Context, g *errgroup.Group, reqs []mark.Request, rejected []plan.Rejected) {
	for _, rj := range rejected {
		v.rep.write(report.VerifyLine{Row: rj.Row, From: rj.From, Type: rj.Conv.TypeName(), Peer: rj.Conv.Peer, Status: report.VerifyNotChecked,
			Message: fmt.Sprintf("rejected: conversation beyond the limit of %d per user", mark.MaxConversations)})
	}
	if len(reqs) > 0 && !v.opts.Sample.Keeps(reqs[0].From) {
		v.sum.UsersLeftOut++
		for _, r := range reqs {
			for _, it := range r.Items {
				v.rep.writeRows(report.VerifyLine{From: r.From, Type: it.Conv.TypeName(), Peer: it.Conv.Peer, Status: report.VerifyNotChecked,
					Expected: expectedText(&it), Message: v.leftOut}, it.Rows)
			}
		}
		return
	}
	if v.opts.Exists != nil {
		reqs = notChecked(reqs, v.opts.Exists, v.rep)
	}
	if len(reqs) > 0 {
		v.sum.Users++
	}
	for i := range reqs {
		v.sum.Conversations += int64(len(reqs[i].Items))
	}
	stopped := func() bool { return gctx.Err() != nil }
	for _, b := range searchBatches(reqs) {
		v.sum.Requests++
		v.ctr.RequestsPlanned.Add(1)
		if stopped() {
			v.rep.unread(&b, notReadMessage(context.Cause(gctx)))
			continue
		}
		g.Go(func() error {
			defer v.ctr.RequestsDone.Add(1)
			if stopped() { // while this read waited for a worker
				v.rep.unread(&b, notReadMessage(context.Cause(gctx)))
				return nil
			}
			return readBack(gctx, v.opts.Marks, v.rep, &b, v.log)
		})
	}
}

// stopped says in the summary why the verify stopped, when err stopped it.
func (v *verifier) stopped(ctx context.Context, err error) {
	var fe *mark.FatalError
	switch {
	case errors.As(err, &fe):
		v.sum.Stopped, v.sum.StopMessage = fe.Stopped(), fe.Error()
	case err != nil && ctx.Err() != nil:
		v.sum.Stopped = stoppedInterrupted
	case err != nil:
		v.sum.Stopped, v.sum.StopMessage = "error", err.Error()
	}
}

// finish fills in the summary of a verify that began at start and
// returned err; a report that could not be written is the error then.
func (v *verifier) finish(start time.Time, err error) (VerifySummary, error) {
	if v.rep.err != nil && err == nil {
		err = fmt.Errorf("write verify report: %w", v.rep.err)
	}
	sum := v.sum
	sum.Statuses = statusCounts[report.VerifyStatus](&v.ctr.Statuses)
	sum.Sample = v.opts.Sample.Fraction()
	sum.HTTPRequests = v.ctr.HTTPRequests.Load()
	sum.Retries = v.ctr.Retries.Load()
	sum.Throttled = v.ctr.Throttled.Total()
	sum.HTTPRequestsByCode = v.ctr.Answers.Snapshot()
	sum.ThrottledByCode = v.ctr.Throttled.Snapshot()
	sum.ElapsedSeconds = time.Since(start).Seconds()
	sum.Timeline = v.opts.Timeline.Series()
	return sum, err
}

// notChecked reports not-checked the items whose rows the run reported
// exists, and returns the requests without them.
func notChecked(reqs []mark.Request, exists mark.Rows, rep *verifyReport) []mark.Request {
	out := reqs[:0]
	for _, r := range reqs {
		items := r.Items[:0]
		for _, it := range r.Items {
			if !exists.Has(it.Rows[0]) {
				items = append(items, it)
				continue
			}
			rep.writeRows(report.VerifyLine{From: r.From, Type: it.Conv.TypeName(), Peer: it.Conv.Peer, Status: report.VerifyNotChecked,
				Expected: expectedText(&it), Message: "exists: the run did not send it (--mode insert: the server already held marks)"}, it.Rows)
		}
		if len(items) > 0 {
			r.Items = items
			out = append(out, r)
		}
	}
	return out
}

// readBack reads one batch back and writes the report lines of its rows.
func readBack(ctx context.Context, marks MarkReader, rep *verifyReport, b *searchBatch, log *slog.Logger) error {
	got, err := marks.Search(ctx, b.from, b.convs())
	var fe *mark.FatalError
	switch {
	case errors.As(err, &fe):
		rep.unread(b, "read failed: "+err.Error())
		return err
	case err != nil && ctx.Err() != nil:
		rep.unread(b, notReadMessage(context.Cause(ctx)))
		return nil
	case err != nil:
		log.Warn("read failed", "from", b.from, "conversations", len(b.items), "err", err)
		rep.unread(b, "read failed: "+err.Error())
		return nil
	}
	for _, it := range b.items {
		m, found := got[it.Conv]
		l := compare(it, m, found)
		l.From, l.Type, l.Peer = b.from, it.Conv.TypeName(), it.Conv.Peer
		rep.writeRows(l, it.Rows)
	}
	return nil
}

// notReadMessage is the report message of rows a stopped verify never read.
func notReadMessage(cause error) string {
	var fe *mark.FatalError
	if errors.As(cause, &fe) {
		return fmt.Sprintf("not read: the verify stopped on API error %d", fe.Code)
	}
	return "not read: the verify was interrupted"
}

// searchBatch is one search request: up to MaxSearchItems items of one user.
type searchBatch struct {
	from  string
	items []*mark.Item
}

func (b *searchBatch) convs() []mark.Conversation {
	out := make([]mark.Conversation, len(b.items))
	for i, it := range b.items {
		out[i] = it.Conv
	}
	return out
}

// searchBatches packs the planned items into the fewest search requests:
// ceil(items/MaxSearchItems) per user. Plan gives each user's requests one
// after another, so a user's items are consecutive.
func searchBatches(reqs []mark.Request) []searchBatch {
	var out []searchBatch
	for i := range reqs {
		r := &reqs[i]
		for k := range r.Items {
			if n := len(out); n == 0 || out[n-1].from != r.From || len(out[n-1].items) == mark.MaxSearchItems {
				out = append(out, searchBatch{from: r.From})
			}
			last := &out[len(out)-1]
			last.items = append(last.items, &r.Items[k])
		}
	}
	return out
}

// verifyReport serialises writes from the read workers and counts statuses.
type verifyReport struct {
	mu  sync.Mutex
	w   report.VerifyWriter
	ctr *mark.Counters // counts the rows by status
	err error
}

// writeRows writes l once for each row.
func (r *verifyReport) writeRows(l report.VerifyLine, rows []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, row := range rows {
		l.Row = row
		if r.err == nil {
			r.err = r.w.Write(l)
		}
	}
	r.ctr.Statuses.Add(string(l.Status), int64(len(rows)))
	r.ctr.RowsDone.Add(int64(len(rows)))
}

func (r *verifyReport) write(l report.VerifyLine) { r.writeRows(l, []int64{l.Row}) }

// unread reports every row of a batch unread, with why.
func (r *verifyReport) unread(b *searchBatch, why string) {
	for _, it := range b.items {
		r.writeRows(report.VerifyLine{From: b.from, Type: it.Conv.TypeName(), Peer: it.Conv.Peer, Status: report.VerifyUnread,
			Expected: expectedText(it), Message: why}, it.Rows)
	}
}
