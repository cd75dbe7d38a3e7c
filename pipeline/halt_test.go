package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"markimport/pipeline/backup"
	"markimport/pipeline/durable/durabletest"
	"markimport/pipeline/mark"
	"markimport/pipeline/report"
)

// testHalt is a Halt the test closes.
type testHalt struct {
	once sync.Once
	done chan struct{}
	err  Stop
}

func (h *testHalt) Done() <-chan struct{} { return h.done }
func (h *testHalt) Err() Stop             { return h.err }
func (h *testHalt) close()                { h.once.Do(func() { close(h.done) }) }

// haltStop is the Stop a halt gives: a lease lost.
type haltStop struct{}

func (haltStop) Error() string {
	return "lost the lease: s3://b/r.csv.lease is now held by another run"
}
func (haltStop) Stopped() string { return "lease" }

// haltingSender answers the first request (ok, or with code), then
// closes the halt and waits for the sending to be cancelled, as a sender
// with nothing more in flight does. Then it waits for full to close when
// set (the producer has reported every other row, before the sending's
// end is settled), interrupts the run when interrupt is set, and returns
// the fatal answer of code, or why its context ended.
type haltingSender struct {
	halt      *testHalt
	code      int
	full      <-chan struct{}
	interrupt context.CancelFunc
	sent      int
}

// fullReport is a memReport that closes full once it holds n lines.
type fullReport struct {
	memReport
	n    int
	full chan struct{}
}

func (f *fullReport) Write(l report.Line) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, l)
	if len(f.lines) == f.n {
		close(f.full)
	}
	return nil
}

func (s *haltingSender) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	req := <-reqs
	out := make([]mark.Outcome, len(req.Items))
	for i := range out {
		out[i] = mark.Outcome{Sent: true, Attempts: 1, Code: s.code}
	}
	s.sent++
	done(req, out)
	s.halt.close()
	<-ctx.Done()
	if s.full != nil {
		select {
		case <-s.full:
		case <-time.After(time.Minute): // the test fails on the rows missing
		}
	}
	if s.interrupt != nil {
		s.interrupt()
	}
	if s.code != 0 {
		return &mark.FatalError{Code: s.code, Info: "bad usersig"}
	}
	return ctx.Err()
}

// countLines counts the report's lines by status, and checks that every
// unsent one gives one of whys.
func countLines(t *testing.T, lines []report.Line, whys ...string) map[report.Status]int {
	t.Helper()
	n := map[report.Status]int{}
	for _, l := range lines {
		n[l.Status]++
		if l.Status == report.StatusUnsent && !slices.Contains(whys, l.Message) {
			t.Errorf("row %d unsent %q, want one of %q", l.Row, l.Message, whys)
		}
	}
	return n
}

// TestHaltStopsSending: Options.Halt closing stops the sending as a fatal
// answer does: the rows of the request answered are ok, every other row
// is unsent saying why, and the summary names the halt's Stop.
func TestHaltStopsSending(t *testing.T) {
	in := fiveUsersThreeRows(t)
	h := &testHalt{done: make(chan struct{}), err: haltStop{}}
	rep := &fullReport{n: 15, full: make(chan struct{})}
	s := &haltingSender{halt: h, full: rep.full}
	sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: s, Rate: 200, Halt: h})
	if !errors.Is(err, haltStop{}) {
		t.Errorf("Run: %v, want the halt's error", err)
	}
	if sum.Stopped != "lease" || sum.StopMessage != (haltStop{}).Error() {
		t.Errorf("stopped %q %q, want lease", sum.Stopped, sum.StopMessage)
	}
	if len(rep.lines) != 15 {
		t.Fatalf("%d report lines, want 15", len(rep.lines))
	}
	n := countLines(t, rep.memReport.lines, "not sent: "+(haltStop{}).Error())
	if s.sent != 1 || n[report.StatusOK] != 3 || n[report.StatusUnsent] != 12 {
		t.Errorf("%d requests sent, %v: want 1, 3 ok, 12 unsent", s.sent, n)
	}
}

// TestFatalAnswerOutranksHalt: a fatal answer the sender is stopping on
// is why the run stopped, though the halt closed before the sender
// returned: the summary names the API's code, as Run's error does.
func TestFatalAnswerOutranksHalt(t *testing.T) {
	in := fiveUsersThreeRows(t)
	h := &testHalt{done: make(chan struct{}), err: haltStop{}}
	rep := &memReport{}
	sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: &haltingSender{halt: h, code: 70009}, Rate: 200, Halt: h})
	var fe *mark.FatalError
	if !errors.As(err, &fe) || fe.Code != 70009 {
		t.Fatalf("Run: %v, want the fatal answer", err)
	}
	if sum.Stopped != "fatal: 70009" || !strings.Contains(sum.StopMessage, fe.Error()) || !strings.Contains(sum.StopMessage, "also "+(haltStop{}).Error()) {
		t.Errorf("stopped %q (%q), want fatal: 70009, saying the lease was lost too", sum.Stopped, sum.StopMessage)
	}
	// The rows reported before the fatal answer replaced the halt's cause
	// say the lease; the later ones the API's code.
	n := countLines(t, rep.lines, "not sent: "+(haltStop{}).Error(), "not sent: the run stopped on API error 70009")
	if n[report.StatusFailed] != 3 || n[report.StatusUnsent] != 12 {
		t.Errorf("%v, want 3 failed and 12 unsent", n)
	}
}

// TestSettledHaltKeepsItsCause: once the sending's end is settled, an
// interrupt (Ctrl-C while the rest is reported unsent) does not replace
// the halt that stopped the sending; before, it does, saying both; and a
// halt once the settling began sets nothing.
func TestSettledHaltKeepsItsCause(t *testing.T) {
	var s stopCause
	s.halted(haltStop{})
	s.settle()
	s.interrupted()
	var sum Summary
	s.fill(&sum)
	if sum.Stopped != "lease" {
		t.Errorf("after an interrupt once settled: stopped %q, want lease", sum.Stopped)
	}
	var ctrlC stopCause
	ctrlC.halted(haltStop{})
	ctrlC.interrupted()
	ctrlC.fill(&sum)
	if want := interrupted + "; also " + (haltStop{}).Error(); sum.Stopped != stoppedInterrupted || sum.StopMessage != want {
		t.Errorf("an interrupt before the settling: %q %q, want %q %q", sum.Stopped, sum.StopMessage, stoppedInterrupted, want)
	}
	var done stopCause
	done.closeHalts()
	done.halted(haltStop{})
	done.fill(&sum)
	if sum.Stopped != "" {
		t.Errorf("a halt after the sending's end: stopped %q, want nothing", sum.Stopped)
	}
}

// TestInterruptOutranksHalt: an interrupt of the run is why it stopped,
// though the halt closed first, as it was before the halt set its cause
// at once.
func TestInterruptOutranksHalt(t *testing.T) {
	in := fiveUsersThreeRows(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &testHalt{done: make(chan struct{}), err: haltStop{}}
	rep := &memReport{}
	sum, err := Run(ctx, Options{Input: in, Report: rep, Sender: &haltingSender{halt: h, interrupt: cancel}, Rate: 200, Halt: h})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want the interrupt", err)
	}
	if sum.Stopped != stoppedInterrupted {
		t.Errorf("stopped %q (%q), want %q", sum.Stopped, sum.StopMessage, stoppedInterrupted)
	}
	// An interrupted run reports the rows it reached (--resume goes on
	// from there): the 3 answered are ok, any other says why not sent.
	if n := countLines(t, rep.lines, "not sent: "+(haltStop{}).Error(), "not sent: "+interrupted); n[report.StatusOK] != 3 || len(rep.lines) != 3+n[report.StatusUnsent] {
		t.Errorf("%v, want 3 ok and the rest unsent", n)
	}
}

// cancelledSender sends nothing: once the sending is cancelled (by the
// gate that failed), the halt closes, then it returns.
type cancelledSender struct{ halt *testHalt }

func (s *cancelledSender) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	<-ctx.Done()
	s.halt.close()
	return ctx.Err()
}

// TestGateFailureOutranksLaterHalt: a gate that failed stopped the
// sending; a lease lost after it does not become the run's error: Run
// returns the gate's, as the summary and every row say.
func TestGateFailureOutranksLaterHalt(t *testing.T) {
	in := fiveUsersThreeRows(t)
	h := &testHalt{done: make(chan struct{}), err: haltStop{}}
	gerr := &backup.WriteError{Err: durabletest.ErrNoSpace}
	rep := &memReport{}
	sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: &cancelledSender{halt: h}, Rate: 200,
		Gate: &verdictGate{err: gerr}, GateWorkers: 1, Halt: h})
	if !errors.Is(err, gerr) {
		t.Errorf("Run: %v, want the gate's error", err)
	}
	if sum.Stopped != stoppedBackup {
		t.Errorf("stopped %q (%q), want %q", sum.Stopped, sum.StopMessage, stoppedBackup)
	}
	if n := countLines(t, rep.lines, "not sent: "+gerr.Error()); n[report.StatusUnsent] != 15 {
		t.Errorf("%v, want 15 unsent", n)
	}
}
