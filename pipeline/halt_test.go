package pipeline

import (
	"context"
	"errors"
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
