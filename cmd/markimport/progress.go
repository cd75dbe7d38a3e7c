package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"markimport/pipeline/mark"
	"markimport/pipeline/report"
)

// progress observes the run's counters: a bar on a terminal, a log line
// every few seconds otherwise (cron, CI, an orchestrator's log). It reads
// the counters the pipeline and the client bump, and never touches the
// run itself.
type progress struct {
	cancel context.CancelFunc
	g      errgroup.Group
	done   context.Context
}

func startProgress(ctr *mark.Counters, stderr io.Writer, quiet bool, every time.Duration, log *slog.Logger) *progress {
	ctx, cancel := context.WithCancel(context.Background())
	p := &progress{cancel: cancel, done: ctx}
	if quiet {
		return p
	}
	if s, ok := stderr.(*stream); ok {
		stderr = s.w
	}
	f, isFile := stderr.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	p.g.Go(func() error {
		if tty {
			// The terminal itself: the bar fits its width. Its writes
			// are its own to lose (a closed terminal also hangs up).
			p.bar(ctr, f)
		} else {
			p.logLines(ctr, every, log)
		}
		return nil
	})
	return p
}

// Stop ends the observer and waits for it.
func (p *progress) Stop() {
	p.cancel()
	p.g.Wait()
}

func (p *progress) bar(ctr *mark.Counters, w io.Writer) {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	total := int64(-1)
	start := time.Now()
	for {
		select {
		case <-p.done.Done():
			bar.Finish()
			return
		case <-t.C:
		}
		if tot := ctr.RowsTotal.Load(); tot > 0 && total < 0 {
			total = tot
			bar.ChangeMax64(tot)
			bar.Describe("rows done")
		}
		if total < 0 {
			bar.Set64(ctr.RowsRead.Load())
			continue
		}
		el := time.Since(start).Seconds()
		bar.Describe(barDescription(ctr, el))
		bar.Set64(ctr.RowsDone.Load())
	}
}

func (p *progress) logLines(ctr *mark.Counters, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	var lastReq int64
	last := start
	for {
		select {
		case <-p.done.Done():
			return
		case now := <-t.C:
			req := ctr.HTTPRequests.Load()
			done, total := ctr.RowsDone.Load(), ctr.RowsTotal.Load()
			args := []any{"rows_read", ctr.RowsRead.Load(), "rows_done", done, "rows_total", total,
				"requests_done", ctr.RequestsDone.Load(), "requests_planned", ctr.RequestsPlanned.Load(),
				"planning", planningState(ctr),
				"req_per_s", rateString(req-lastReq, now.Sub(last).Seconds()), "retries", ctr.Retries.Load(),
				"throttled", ctr.Throttled.Total(), "failed", failedRows(ctr)}
			args = append(args, metricsFields(ctr)...)
			if total > 0 && done > 0 && done < total {
				el := now.Sub(start)
				eta := time.Duration(float64(el) * float64(total-done) / float64(done))
				args = append(args, "eta", eta.Round(time.Second).String())
			}
			log.Info("progress", args...)
			lastReq, last = req, now
		}
	}
}

// barDescription is the bar's text once the rows are counted: the rate,
// and the throttled answers and failed rows so far.
func barDescription(ctr *mark.Counters, secs float64) string {
	return fmt.Sprintf("rows done, %s req/s, %d throttled, %d failed", rateString(ctr.HTTPRequests.Load(), secs), ctr.Throttled.Total(), failedRows(ctr))
}

// failedRows is the rows that did not get what they asked for and will
// not: failed (run), unread (verify, validate --online).
func failedRows(ctr *mark.Counters) int64 {
	return ctr.Statuses.Get(string(report.StatusFailed)) + ctr.Statuses.Get(string(report.VerifyUnread))
}

// metricsFields are the progress line's fields that the metrics carry,
// named as the summary names them: rows by status (markimport_rows_total),
// HTTP requests and throttles by code (markimport_http_requests_total,
// markimport_throttles_total), items sent (markimport_items_sent_total).
func metricsFields(ctr *mark.Counters) []any {
	return []any{"statuses", orEmpty(ctr.Statuses.Snapshot()), "http_requests_by_code", orEmpty(ctr.Answers.Snapshot()),
		"throttled_by_code", orEmpty(ctr.Throttled.Snapshot()), "items_sent", ctr.ItemsSent.Load()}
}

// orEmpty is m, or an empty map for nil (a JSON {} rather than null).
func orEmpty(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// planningState says whether requests_planned is final ("done") or a
// count so far ("in progress": planning runs beside sending).
func planningState(ctr *mark.Counters) string {
	if ctr.PlanDone.Load() {
		return "done"
	}
	return "in progress"
}

func rateString(n int64, secs float64) string {
	if secs <= 0 {
		return "0"
	}
	return strconvF(float64(n) / secs)
}

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
