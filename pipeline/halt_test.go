package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

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

// haltingSender answers the first request ok, then closes the halt and
// waits for the sending to be cancelled, as a sender with nothing more
// in flight does; it returns once the report is full (the producer has
// reported every other row), so that those rows are reported before the
// sending's end is settled.
type haltingSender struct {
	halt *testHalt
	full <-chan struct{}
	sent int
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
		out[i] = mark.Outcome{Sent: true, Attempts: 1}
	}
	s.sent++
	done(req, out)
	s.halt.close()
	<-ctx.Done()
	select {
	case <-s.full:
	case <-time.After(time.Minute): // the test fails on the rows missing
	}
	return ctx.Err()
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
	var ok, unsent int
	for _, l := range rep.lines {
		switch {
		case l.Status == report.StatusOK:
			ok++
		case l.Status == report.StatusUnsent && l.Message == "not sent: "+(haltStop{}).Error():
			unsent++
		default:
			t.Errorf("row %d: %s %q", l.Row, l.Status, l.Message)
		}
	}
	if s.sent != 1 || ok != 3 || unsent != 12 {
		t.Errorf("%d requests sent, %d rows ok, %d unsent: want 1, 3, 12", s.sent, ok, unsent)
	}
}

// fatalThenHaltSender answers its first request with a fatal code, then,
// while it waits for its requests in flight, the halt closes; it returns
// the fatal answer once the sending is cancelled.
type fatalThenHaltSender struct{ halt *testHalt }

func (s *fatalThenHaltSender) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	req := <-reqs
	out := make([]mark.Outcome, len(req.Items))
	for i := range out {
		out[i] = mark.Outcome{Sent: true, Attempts: 1, Code: 70009, Message: "bad usersig"}
	}
	done(req, out)
	s.halt.close()
	<-ctx.Done()
	return &mark.FatalError{Code: 70009, Info: "bad usersig"}
}

// TestFatalAnswerOutranksHalt: a fatal answer the sender is stopping on
// is why the run stopped, though the halt closed before the sender
// returned: the summary names the API's code, as Run's error does.
func TestFatalAnswerOutranksHalt(t *testing.T) {
	in := fiveUsersThreeRows(t)
	h := &testHalt{done: make(chan struct{}), err: haltStop{}}
	rep := &memReport{}
	sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: &fatalThenHaltSender{halt: h}, Rate: 200, Halt: h})
	var fe *mark.FatalError
	if !errors.As(err, &fe) || fe.Code != 70009 {
		t.Fatalf("Run: %v, want the fatal answer", err)
	}
	if sum.Stopped != "fatal: 70009" || !strings.Contains(sum.StopMessage, fe.Error()) || !strings.Contains(sum.StopMessage, "also "+(haltStop{}).Error()) {
		t.Errorf("stopped %q (%q), want fatal: 70009, saying the lease was lost too", sum.Stopped, sum.StopMessage)
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

// haltThenInterruptSender answers its first request ok; the halt closes,
// and the run is interrupted before the sender returns.
type haltThenInterruptSender struct {
	halt      *testHalt
	interrupt context.CancelFunc
}

func (s *haltThenInterruptSender) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	req := <-reqs
	out := make([]mark.Outcome, len(req.Items))
	for i := range out {
		out[i] = mark.Outcome{Sent: true, Attempts: 1}
	}
	done(req, out)
	s.halt.close()
	<-ctx.Done()
	s.interrupt()
	return ctx.Err()
}

// TestInterruptOutranksHalt: an interrupt of the run is why it stopped,
// though the halt closed first, as it was before the halt set its cause
// at once.
func TestInterruptOutranksHalt(t *testing.T) {
	in := fiveUsersThreeRows(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &testHalt{done: make(chan struct{}), err: haltStop{}}
	sum, _ := Run(ctx, Options{Input: in, Report: &memReport{}, Sender: &haltThenInterruptSender{halt: h, interrupt: cancel}, Rate: 200, Halt: h})
	if sum.Stopped != stoppedInterrupted {
		t.Errorf("stopped %q (%q), want %q", sum.Stopped, sum.StopMessage, stoppedInterrupted)
	}
}
