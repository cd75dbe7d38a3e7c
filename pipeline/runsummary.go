package pipeline

import (
	"context"
	"time"

	"markimport/pipeline/mark"
	"markimport/pipeline/report"
	"markimport/pipeline/timeline"
)

// Summary is the account of a run, printed at the end and written as JSON.
type Summary struct {
	Input        string                  `json:"input"`
	DryRun       bool                    `json:"dry_run"`
	Rows         int64                   `json:"rows"`
	Statuses     map[report.Status]int64 `json:"statuses"`
	FailureCodes map[int]int64           `json:"failure_codes,omitempty"`
	// Users and Conversations are the input's users and merged
	// conversations, planned (a resumed run's done rows left out), the
	// state's unchanged items and the users outside a sample included.
	Users           int64 `json:"users"`
	Conversations   int64 `json:"conversations"`
	RequestsPlanned int64 `json:"requests_planned"`
	RequestsSent    int64 `json:"requests_sent"`
	// ItemsSent is the items of the requests that left at least once.
	ItemsSent    int64 `json:"items_sent"`
	HTTPRequests int64 `json:"http_requests"`
	// HTTPRequestsByCode counts the requests that left by how their try
	// ended (mark.Counters.Answers), ThrottledByCode the throttled ones.
	HTTPRequestsByCode map[string]int64 `json:"http_requests_by_code,omitempty"`
	Retries            int64            `json:"retries"`
	Throttled          int64            `json:"throttled"`
	ThrottledByCode    map[string]int64 `json:"throttled_by_code,omitempty"`
	ElapsedSeconds     float64          `json:"elapsed_seconds"`
	SendSeconds        float64          `json:"send_seconds"`
	// ReadSeconds is the time the input took to read and group, whole,
	// before planning began (unsorted input; a sorted input is read as it
	// is sent, and has none).
	ReadSeconds    float64 `json:"read_seconds,omitempty"`
	RequestsPerSec float64 `json:"requests_per_second"`
	PlanSeconds    float64 `json:"estimated_send_seconds"`
	Resumed        int64   `json:"resumed_ok_rows,omitempty"`
	// RequestsSaved is how many requests the items not sent because the
	// state found them unchanged (--state) or the server already held
	// marks for them (--mode insert) would have taken.
	RequestsSaved int64 `json:"requests_saved,omitempty"`
	// RequestsToChange is, for validate --online, the mark_contact
	// requests the rows reported would-change take, packed at the lower
	// bound (absent without --online).
	RequestsToChange *int64 `json:"requests_to_change,omitempty"`
	// ReadToWrite is the time from each user's read-back (--backup,
	// --mode insert) to the answer of its last write.
	ReadToWrite *Window `json:"read_to_write,omitempty"`
	Spilled     bool    `json:"spilled,omitempty"`
	// Sample is the share of users the run was given (--sample; 1 when
	// every user), and UsersLeftOut how many users outside it had their
	// valid rows reported skipped.
	Sample       float64 `json:"sample"`
	UsersLeftOut int64   `json:"users_left_out,omitempty"`
	// BackupRows is how many restore rows the run wrote to --backup, and
	// ReadRequests how many search_contact_group requests it took to read
	// the conversations back first.
	BackupRows   int64 `json:"backup_rows,omitempty"`
	ReadRequests int64 `json:"read_requests,omitempty"`
	// Stopped says why sending stopped early: "interrupted",
	// "max-invalid" (too many bad rows), "report" (the report could not be
	// written), "fatal: CODE" (mark.FatalError.Stopped), what a Stop error
	// names ("backup": its journal could not be written; "lease": Options.Halt,
	// a lease in object storage lost), or "error";
	// StopMessage says it in words.
	Stopped     string `json:"stopped,omitempty"`
	StopMessage string `json:"stop_message,omitempty"`
	// Timeline is the sending over time: requests, throttles, items ok
	// and failed, and latency per interval (absent when nothing was sent).
	Timeline *timeline.Series `json:"timeline,omitempty"`
}

// statusCounts is the rows by status of a tally of statuses (none but
// those counted; never nil, so that the JSON says {} and not null).
func statusCounts[S ~string](t *mark.Tally) map[S]int64 {
	out := map[S]int64{}
	for k, n := range t.Snapshot() {
		out[S(k)] = n
	}
	return out
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
	stoppedInterrupted = "interrupted"
	stoppedMaxInvalid  = "max-invalid"
	// stoppedReport: the report could not be written (ReportError).
	stoppedReport = "report"
	// stoppedBackup: the backup's journal could not be written (the Stop
	// error of pipeline/backup).
	stoppedBackup = "backup"
)

// AllOK reports whether every row ended settled: ok, unchanged, exists,
// skipped (or valid, in a dry run).
func (s *Summary) AllOK() bool {
	var good int64
	for st, n := range s.Statuses {
		if st.Settled() {
			good += n
		}
	}
	return good == s.Rows
}

// summarise ends a Run that began at start and returned err: the report
// is made durable, its failure (which outranks any other error) recorded,
// and the summary filled in from the run's counts and counters.
func (r *run) summarise(ctx context.Context, start time.Time, err error) (Summary, error) {
	r.sum.RequestsSaved = r.saved.Load()
	r.sum.Sample = r.opts.Sample.Fraction()
	r.sum.UsersLeftOut = r.leftOut.Load()
	r.sum.Users, r.sum.Conversations = r.users.Load(), r.convs.Load()
	if r.previewing() {
		n := r.toChange.Load()
		r.sum.RequestsToChange = &n
	}
	if r.gate != nil {
		r.sum.ReadToWrite = r.gate.delays.window()
	}
	if err != nil && ctx.Err() != nil {
		r.stop.interrupted()
	}
	r.rep.sync()
	if rerr := r.reportFailure(); rerr != nil {
		// Whatever else stopped the run, its report is what must be
		// fixed first.
		err = rerr
		r.stop.reportFailed(rerr)
	}
	sum := r.sum
	r.stop.fill(&sum)
	sum.Statuses = statusCounts[report.Status](&r.ctr.Statuses)
	sum.FailureCodes = r.rep.codes
	sum.HTTPRequests = r.ctr.HTTPRequests.Load()
	sum.Retries = r.ctr.Retries.Load()
	sum.Throttled = r.ctr.Throttled.Total()
	sum.HTTPRequestsByCode = r.ctr.Answers.Snapshot()
	sum.ThrottledByCode = r.ctr.Throttled.Snapshot()
	sum.ItemsSent = r.ctr.ItemsSent.Load()
	sum.ElapsedSeconds = time.Since(start).Seconds()
	sum.RequestsPerSec = r.ctr.Pace()
	sum.Timeline = r.opts.Timeline.Series()
	if r.opts.Rate > 0 {
		sum.PlanSeconds = float64(sum.RequestsPlanned) / r.opts.Rate
	}
	return sum, err
}
