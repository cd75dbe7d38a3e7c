package pipeline

import (
	"errors"
	"testing"

	"markimport/pipeline/backup"
	"markimport/pipeline/durable/durabletest"
	"markimport/pipeline/mark"
)

// TestStopCauseIsSetOnce: until something stops the run its unsent rows
// say it was interrupted; the first cause is kept, later ones (which
// follow from it) are not; only the report's failure outranks it in the
// summary, and the rows not sent still say the first cause.
func TestStopCauseIsSetOnce(t *testing.T) {
	var s stopCause
	if got := s.rowMessage("not sent"); got != "not sent: "+interrupted {
		t.Errorf("before any cause: %q", got)
	}
	first := &backup.WriteError{Err: durabletest.ErrNoSpace}
	s.setError(first)
	s.setError(&mark.FatalError{Code: 70009})
	s.interrupted()
	var sum Summary
	s.fill(&sum)
	if sum.Stopped != stoppedBackup || sum.StopMessage != first.Error() || s.rowMessage("not sent") != "not sent: "+first.Error() {
		t.Errorf("after a backup failure then a fatal answer: %q %q, rows %q; want the backup's", sum.Stopped, sum.StopMessage, s.rowMessage("not sent"))
	}
	rerr := &ReportError{Err: errors.New("disk full")}
	s.reportFailed(rerr)
	s.fill(&sum)
	if sum.Stopped != stoppedReport || sum.StopMessage != rerr.Error() || s.rowMessage("not sent") != "not sent: "+first.Error() {
		t.Errorf("after the report failed: %q %q, rows %q; want report in the summary", sum.Stopped, sum.StopMessage, s.rowMessage("not sent"))
	}

	for _, tc := range []struct {
		err           error
		stopped, rows string
	}{
		{&mark.FatalError{Code: 70009}, "fatal: 70009", "not sent: the run stopped on API error 70009"},
		{&mark.FatalError{Code: mark.CodeUnreachable}, "fatal: unreachable", "not sent: the API cannot be reached"},
		{errors.New("odd"), "error", "not sent: odd"},
	} {
		var s stopCause
		s.setError(tc.err)
		var sum Summary
		s.fill(&sum)
		if sum.Stopped != tc.stopped || sum.StopMessage != tc.err.Error() || s.rowMessage("not sent") != tc.rows {
			t.Errorf("%v: %q %q, rows %q; want %q, rows %q", tc.err, sum.Stopped, sum.StopMessage, s.rowMessage("not sent"), tc.stopped, tc.rows)
		}
	}
}
