package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"markimport/pipeline"
	"markimport/pipeline/rejects"
	"markimport/pipeline/report"
	"markimport/pipeline/state"
	"markimport/readers"
)

// finish ends a run once the pipeline has returned: it finishes or keeps
// each output by how the run ended, decides the exit code, prints the
// summary and logs the last line. Each output that cannot be finished is
// reported as it happens; the first such error decides the exit code.
func (r *importRun) finish(ctx context.Context, s *session, sum *pipeline.Summary, runErr error) int {
	if r.emptyAllowed(runErr) {
		runErr = nil
	}
	if code, stopped := r.stoppedByInput(s, sum, runErr); stopped {
		return code
	}
	// A report that could not be written is kept as it is on disk, for
	// --resume once the disk is fixed, and stored nowhere else.
	reportFailed := errors.As(runErr, new(*pipeline.ReportError))
	if s.bk != nil {
		sum.ReadRequests = s.bk.gate.Reads.Load()
	}
	r.endBackup(ctx, s.bk, sum, &runErr, reportFailed)
	r.endJournal(s.journal, &runErr, reportFailed)
	r.commitState(ctx, s.st, &runErr, reportFailed)
	r.writeRejects(ctx, s.rejects, &runErr)
	if r.objects != nil {
		r.keepFirst(&runErr, r.objects.publish(r.overwrite), "%v")
	}
	code := r.exitCode(ctx, sum, runErr, s.journal)
	r.printSummary(sum, func() { printSummary(r.stdout, sum, r.dry, r.rate) })
	code = r.saveFake(s.fake, code)
	r.counts = runCounts(sum)
	r.endMetrics(runMetrics(sum))
	return r.uploadSummary(r.objects, r.saveSummary(sum, code))
}

// stoppedByInput ends a run the input stopped (a row that cannot be
// read, or a resumed report whose ok rows are not the input's) with exit
// 2: the journals it started are abandoned. It returns false for a run
// that ended otherwise.
func (r *importRun) stoppedByInput(s *session, sum *pipeline.Summary, runErr error) (int, bool) {
	var inErr *readers.InputError
	var mismatch *report.MismatchError
	if !errors.As(runErr, &inErr) && !errors.As(runErr, &mismatch) {
		return 0, false
	}
	if s.journal != nil {
		s.journal.Abandon()
	}
	if s.bk != nil && s.bk.w != nil {
		s.bk.w.Abandon()
	}
	if mismatch != nil {
		return r.resumeMismatch(mismatch, sum), true
	}
	return r.inputError(inErr), true
}

// endJournal finishes the report (renamed into place), or keeps its
// journal as it is on disk when the report could not be written.
func (r *importRun) endJournal(journal *report.Journal, runErr *error, reportFailed bool) {
	switch {
	case journal == nil:
	case reportFailed:
		journal.Abandon()
	default:
		r.keepFirst(runErr, journal.Finish(), "%v")
	}
}

// commitState stores in --state the items this run confirmed. It runs
// after the report: the state holds only items whose ok lines are
// durable. A run stopped by a fatal answer stores what it confirmed; an
// interrupted one stops at once (merging a state of millions of
// conversations takes seconds): its --resume records what its report has
// ok, and a run without --resume sends those items again.
func (r *importRun) commitState(ctx context.Context, st *state.Store, runErr *error, reportFailed bool) {
	if st == nil || r.dry || ctx.Err() != nil || reportFailed {
		return
	}
	if err := st.Commit(); err != nil {
		r.keepFirst(runErr, err, "the state was not updated: %v (the next run sends these items again)")
		return
	}
	if err := r.objects.pushState(); err != nil {
		r.keepFirst(runErr, err, "the state in object storage was not updated: %v (the next run sends these items again)")
		return
	}
	if n := st.Added(); n > 0 {
		r.log.Info("state updated", "state", r.stateDir, "confirmed_items", n, "conversations", st.Entries())
	}
}

// writeRejects writes the rejects file, when asked, in the input's format.
// An interrupted run writes it too, from the rows it reported: the input
// is read again under a context the first signal does not cancel (the
// second exits at once).
func (r *importRun) writeRejects(ctx context.Context, rej *rejects.Rows, runErr *error) {
	if rej == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var n int64
	var err error
	if r.in.Format == readers.Parquet {
		n, err = rejects.WriteParquet(ctx, r.in, r.rejects, rej)
	} else {
		n, err = rejects.WriteCSV(ctx, r.in, r.ropts, r.rejects, rej)
	}
	r.keepFirst(runErr, err, "%v")
	if err == nil {
		r.log.Info("rejects written", "path", r.rejects, "rows", n)
	}
}

// saveFake says what --fake's emulator holds and saves it to
// --fake-state, if given; one that cannot be saved makes the exit code at
// least 1.
func (r *importRun) saveFake(fake *fakeRun, code int) int {
	if fake == nil {
		return code
	}
	if r.json {
		r.always.Info("emulator now holds", "command", r.name, "holds", fake.describe())
	} else {
		fmt.Fprintf(r.stdout, "emulator now holds: %s\n", fake.describe())
	}
	if err := fake.save(); err != nil {
		r.tell(slog.LevelError, err.Error(), "")
		return max(code, exitSomeNotOK)
	}
	return code
}

// runCounts are the summary's counts that "run finished" logs: rows,
// rows per status, requests sent.
func runCounts(sum *pipeline.Summary) []any {
	return statusCounts([]any{"rows", sum.Rows, "requests_sent", sum.RequestsSent}, report.Statuses, sum.Statuses)
}

// statusCounts appends to fields each status of order that counts holds
// rows of, with its count.
func statusCounts[S ~string](fields []any, order []S, counts map[S]int64) []any {
	for _, st := range order {
		if n := counts[st]; n > 0 {
			fields = append(fields, string(st), n)
		}
	}
	return fields
}

// exitCode decides the exit code from the rows and how the run ended, and
// prints what the user must know about the end: a fatal answer, an
// interrupt, too many bad rows. These go to stderr under --quiet too.
func (r *importRun) exitCode(ctx context.Context, sum *pipeline.Summary, runErr error, journal *report.Journal) int {
	var re *pipeline.ReportError
	if errors.As(runErr, &re) {
		r.reportUnwritable(re, journal)
		return exitFatal
	}
	var ge *pipeline.GuardError
	if errors.As(runErr, &ge) {
		also := ""
		if r.rejects != "" {
			also = " and " + r.rejects
		}
		r.tell(slog.LevelError, fmt.Sprintf("%s: nothing was sent (see the report%s)", ge.Error(), also), "")
		return exitMaxInvalid
	}
	interrupted := fmt.Sprintf("interrupted; the report %s accounts for every row so far.", r.report)
	if !r.dry {
		interrupted += " To continue:\n  " + resumeCommand(r.args)
	}
	end := ending{
		unreachable: "No request reached it; every row not sent is reported unsent. Fix the cause, then run again with --resume.",
		fatal:       "Rows not sent are reported unsent; fix the cause, then run again with --resume.",
		interrupted: interrupted,
	}
	if r.objects != nil && !r.dry {
		// Its report and journal were in the temporary folder: no --resume.
		again := " Outputs in object storage cannot be resumed: run again (with --state, what the API confirmed and the state stored is not sent again)."
		end.interrupted = "interrupted; the report accounts for every row so far." + again
		end.unreachable = "No request reached it." + again
		end.fatal = "Rows not sent are reported unsent; fix the cause." + again
	}
	if r.dry {
		// validate --online: it reads, and writes nothing.
		end.unreachable = "No read reached it; every row not read is reported unread. Fix the cause, then validate again."
		end.fatal = "Rows not read are reported unread; fix the cause, then validate again."
	}
	return r.endCode(ctx, sum.AllOK(), runErr, end)
}

// emptyAllowed reports whether err is an input without rows that
// --allow-empty lets through (a night without changes), and warns that
// it was.
func (c *command) emptyAllowed(err error) bool {
	var inErr *readers.InputError
	if !c.allowEmpty || !errors.As(err, &inErr) || !errors.Is(inErr, readers.ErrNoRows) {
		return false
	}
	c.log.Warn("the input has no rows; --allow-empty: nothing to do, exit 0", "command", c.name, "input", c.input)
	return true
}

// inputError reports an input error: exit 2, nothing sent, every existing
// output as it was.
func (r *importRun) inputError(e *readers.InputError) int {
	r.tell(slog.LevelError, "input error: "+e.Error(), "Nothing was sent.")
	return exitUsage
}

// resumeMismatch reports a resumed report whose ok rows are not the
// input's: exit 2.
func (r *importRun) resumeMismatch(e *report.MismatchError, sum *pipeline.Summary) int {
	detail := "Nothing was sent."
	if sum.RequestsSent > 0 {
		// Sorted input is sent as it is read.
		detail = fmt.Sprintf("%d requests were sent before the row was read.", sum.RequestsSent)
	}
	r.tell(slog.LevelError, e.Error(), detail)
	return exitUsage
}

// reportUnwritable says that the run stopped because its report could not
// be written, and what to do.
func (r *importRun) reportUnwritable(e *pipeline.ReportError, journal *report.Journal) {
	msg := e.Error()
	switch {
	case r.dry:
		r.tell(slog.LevelError, msg, "The run stopped. Free space on that disk (or fix it), then run again.")
	case journal == nil || !journal.Committed():
		r.tell(slog.LevelError, msg, "The run stopped before sending anything; the new journal was removed. Free space on that disk (or fix it), then run again.")
	default:
		r.tell(slog.LevelError, msg, fmt.Sprintf("Sending stopped at once: no request left after it, and those on the wire finished. The journal %s keeps every result made durable; the others are sent again (which changes nothing already applied). Free space on that disk (or fix it), then continue:\n  %s",
			r.files.Journal, resumeCommand(r.args)))
	}
}
