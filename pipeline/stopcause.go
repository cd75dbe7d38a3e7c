package pipeline

import (
	"errors"
	"fmt"
	"sync"

	"markimport/pipeline/mark"
)

// stopCause is why a run stopped sending before its end, held in one
// place: what the summary says (Summary.Stopped and StopMessage) and what
// the report says of every row not sent. The first cause to stop the
// sending is kept and the later ones are ignored: they follow from it (a
// sender cut short by the gate that failed, a producer by the interrupt).
// The report's own failure alone outranks it (reportFailed): whatever else
// happened, the report is what must be fixed first.
type stopCause struct {
	mu      sync.Mutex
	code    string // Summary.Stopped; "" while nothing stopped the run
	message string // Summary.StopMessage
	unsent  string // the report message of rows not sent
}

// interruptedMessage is the report message of rows not sent because the
// run was interrupted, or while no other cause is known.
const interruptedMessage = "not sent: the run was interrupted"

// set records why the run stopped, unless a cause is already known.
func (s *stopCause) set(code, message, unsent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.code == "" {
		s.code, s.message, s.unsent = code, message, unsent
	}
}

// interrupted records an interrupt, unless a cause is already known.
func (s *stopCause) interrupted() {
	s.set(stoppedInterrupted, "", interruptedMessage)
}

// setError records err, which stopped the sending, unless a cause is
// already known: a *mark.FatalError says the API's code, a Stop says what
// it names, any other error is "error".
func (s *stopCause) setError(err error) {
	var fe *mark.FatalError
	var stop Stop
	switch {
	case errors.As(err, &fe):
		why := fmt.Sprintf("not sent: the run stopped on API error %d", fe.Code)
		if fe.Code == mark.CodeUnreachable {
			why = "not sent: the API cannot be reached"
		}
		s.set(fe.Stopped(), fe.Error(), why)
	case errors.As(err, &stop):
		s.set(stop.Stopped(), err.Error(), "not sent: "+err.Error())
	default:
		s.set("error", err.Error(), "not sent: "+err.Error())
	}
}

// reportFailed records that the report could not be written: it outranks
// any cause known before.
func (s *stopCause) reportFailed(err *ReportError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code, s.message = stoppedReport, err.Error()
}

// unsentMessage is the report message of rows not sent now.
func (s *stopCause) unsentMessage() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsent == "" {
		return interruptedMessage
	}
	return s.unsent
}

// fill writes the cause into sum.
func (s *stopCause) fill(sum *Summary) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum.Stopped, sum.StopMessage = s.code, s.message
}
