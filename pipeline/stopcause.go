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
//
// A halt (Options.Halt: a lease lost) is the cause from the moment it
// stops the sending, so that the rows reported unsent at once say so; as
// the sending's end settles (sendStopped), a fatal answer the sender had
// stopped on, or an interrupt of the run, replaces it: they are why the
// run stopped whenever the halt came.
type stopCause struct {
	mu      sync.Mutex
	code    string // Summary.Stopped; "" while nothing stopped the run
	message string // Summary.StopMessage
	why     string // why, for the report's rows: "not sent: " + why
	halt    bool   // the cause is a halt's, which a fatal answer or an interrupt replaces
	settled bool   // the sending's end is being settled: a halt no longer sets the cause
}

// interrupted is why rows were not sent when the run was interrupted, or
// while no other cause is known.
const interrupted = "the run was interrupted"

// set records why the run stopped, unless a cause is already known; why
// is said of each row the stop left out.
func (s *stopCause) set(code, message, why string) {
	s.setOver(code, message, why, false)
}

// setOver is set that also replaces a halt's cause when overHalt; the
// message then says the halt's too, which rows reported before may give.
func (s *stopCause) setOver(code, message, why string, overHalt bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.code == "":
		s.code, s.message, s.why = code, message, why
	case s.halt && overHalt:
		if message == "" {
			message = why
		}
		message += "; also " + s.message
		s.code, s.message, s.why, s.halt = code, message, why, false
	}
}

// halted records that Options.Halt stopped the sending, with its error,
// unless a cause is already known or the sending's end is being settled.
func (s *stopCause) halted(err Stop) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.code == "" && !s.settled {
		s.code, s.message, s.why, s.halt = err.Stopped(), err.Error(), err.Error(), true
	}
}

// closeHalts is called as the sending's end starts to be settled
// (sendStopped), before the halt's error is read: from then on a halt
// sets nothing itself, so that one after a sending that ran to its end
// cannot name a cause the run's error does not give.
func (s *stopCause) closeHalts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settled = true
}

// settle ends the halt's hold on the cause once the sending's end is
// settled (sendStopped): the cause is final but for a report's failure, so
// that an interrupt later, while the rest is reported unsent, does not
// replace a halt that stopped the sending.
func (s *stopCause) settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.halt = false
}

// interrupted records an interrupt, unless a cause other than a halt is
// already known.
func (s *stopCause) interrupted() {
	s.setOver(stoppedInterrupted, "", interrupted, true)
}

// setError records err, which stopped the sending, unless a cause is
// already known (for a *mark.FatalError, other than a halt's): a
// *mark.FatalError says the API's code, a Stop says what it names, any
// other error is "error".
func (s *stopCause) setError(err error) {
	var fe *mark.FatalError
	var stop Stop
	switch {
	case errors.As(err, &fe):
		why := fmt.Sprintf("the run stopped on API error %d", fe.Code)
		if fe.Code == mark.CodeUnreachable {
			why = "the API cannot be reached"
		}
		s.setOver(fe.Stopped(), fe.Error(), why, true)
	case errors.As(err, &stop):
		s.set(stop.Stopped(), err.Error(), err.Error())
	default:
		s.set("error", err.Error(), err.Error())
	}
}

// reportFailed records that the report could not be written: it outranks
// any cause known before.
func (s *stopCause) reportFailed(err *ReportError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code, s.message, s.halt = stoppedReport, err.Error(), false
}

// rowMessage is the report message of rows left out now: what was not
// done to them ("not sent", or "not read" in a preview), and why.
func (s *stopCause) rowMessage(notDone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.why == "" {
		return notDone + ": " + interrupted
	}
	return notDone + ": " + s.why
}

// fill writes the cause into sum.
func (s *stopCause) fill(sum *Summary) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum.Stopped, sum.StopMessage = s.code, s.message
}
