package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"markimport/pipeline/backup"
	"markimport/pipeline/durable/durabletest"
	"markimport/pipeline/mark"
	"markimport/pipeline/readback"
	"markimport/pipeline/report"
)

// backupInput writes an input of users users with per conversations each,
// none of which the server holds: every item gets a backup row.
func backupInput(t *testing.T, users, per int) string {
	t.Helper()
	lines := []string{"from_account,to_account,set_mark,custom_mark"}
	for u := range users {
		for k := range per {
			lines = append(lines, fmt.Sprintf("user%d,peer%d,%d,c%d", u, k, k%64, k))
		}
	}
	return writeInput(t, lines...)
}

// provenBytes follows, through a Recorder's calls, how much of the backup
// journal a durable checkpoint proves: bytes written to the journal count
// once the journal is synced, and are proven once a checkpoint is synced
// after that.
type provenBytes struct {
	mu                      sync.Mutex
	written, synced, proven int64
}

func (p *provenBytes) hook(op durabletest.Op) {
	if op.Err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	base := filepath.Base(op.Path)
	switch {
	case strings.HasSuffix(base, ".journal.csv") && op.Kind == durabletest.Write:
		p.written += int64(op.N)
	case strings.HasSuffix(base, ".journal.csv") && op.Kind == durabletest.Sync:
		p.synced = p.written
	case strings.HasSuffix(base, ".journal.csv.check") && op.Kind == durabletest.Sync:
		p.proven = p.synced
	}
}

func (p *provenBytes) get() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proven
}

// TestBackupDurableBeforeSend: every request the sender receives finds the
// backup rows of its user written, synced, and proven by a synced
// checkpoint, as the file layer's calls show at that moment (not the page
// cache). The rows' places are read from the finished backup afterwards.
func TestBackupDurableBeforeSend(t *testing.T) {
	in := backupInput(t, 40, 7)
	dir := t.TempDir()
	p := &provenBytes{}
	files := backup.FilesOf(filepath.Join(dir, "b.csv"))
	files.FS = &durabletest.Recorder{Hook: p.hook}
	w, err := backup.Create(files)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int64{} // user -> the least proven bytes a request of it found
	s := &recordingSender{check: func(req *mark.Request) {
		proven := p.get()
		mu.Lock()
		if v, ok := seen[req.From]; !ok || proven < v {
			seen[req.From] = proven
		}
		mu.Unlock()
	}}
	rep := &memReport{}
	_, err = Run(context.Background(), Options{Input: in, Report: rep, Sender: s, Rate: 200,
		Gate: &readback.Gate{Marks: &memMarks{}, Backup: w}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	ends := rowEnds(t, files.Final)
	if len(seen) != 40 || len(ends) != 40 {
		t.Fatalf("%d users sent, %d backed up, want 40", len(seen), len(ends))
	}
	for user, proven := range seen {
		if ends[user] > proven {
			t.Errorf("a request of %s left when %d bytes of the journal were proven; its rows end at %d", user, proven, ends[user])
		}
	}
}

// rowEnds reads a CSV backup and returns where each user's last row ends.
func rowEnds(t *testing.T, path string) map[string]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	ends := map[string]int64{}
	if _, err := cr.Read(); err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return ends
		}
		if err != nil {
			t.Fatal(err)
		}
		ends[rec[0]] = cr.InputOffset()
	}
}

// TestBackupFailureStopsSending: when the backup journal or its check
// file cannot be written or synced (a full disk), no request of a user
// whose rows are not durable reaches the sender (here: none, since the
// first rows already fail), the run stops with Stopped "backup", and
// every row is reported unsent saying why.
func TestBackupFailureStopsSending(t *testing.T) {
	header := int64(len("\ufefffrom_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type\n"))
	for _, tc := range []struct {
		name string
		fail func(durabletest.Op) error
	}{
		{"journal write", durabletest.FailWritesTo(".journal.csv", header)},
		{"journal sync", failSyncsAfter(".journal.csv", 1)},
		{"check write", durabletest.FailWritesTo(".journal.csv.check", 123)},
		{"check sync", failSyncsAfter(".journal.csv.check", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := backupInput(t, 30, 5)
			files := backup.FilesOf(filepath.Join(t.TempDir(), "b.csv"))
			files.FS = &durabletest.Recorder{Fail: tc.fail}
			w, err := backup.Create(files)
			if err != nil {
				t.Fatal(err)
			}
			s := &recordingSender{}
			rep := &memReport{}
			sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: s, Rate: 200,
				Gate: &readback.Gate{Marks: &memMarks{}, Backup: w}})
			if n := s.sent(); n != 0 {
				t.Errorf("%d requests reached the sender after the backup failed", n)
			}
			var we *backup.WriteError
			if !errors.As(err, &we) || !errors.Is(err, durabletest.ErrNoSpace) {
				t.Fatalf("Run: %v, want the backup's write error", err)
			}
			if sum.Stopped != stoppedBackup || !strings.Contains(sum.StopMessage, "no space") {
				t.Errorf("stopped %q %q, want backup", sum.Stopped, sum.StopMessage)
			}
			if len(rep.lines) != 150 {
				t.Fatalf("%d report lines, want 150", len(rep.lines))
			}
			for _, l := range rep.lines {
				if l.Status != report.StatusUnsent || !strings.Contains(l.Message, "backup journal") {
					t.Fatalf("row %d: %s %q, want unsent naming the backup journal", l.Row, l.Status, l.Message)
				}
			}
			w.Keep()
		})
	}
}

// failSyncsAfter fails every sync of files whose name ends in suffix after
// the first n.
func failSyncsAfter(suffix string, n int) func(durabletest.Op) error {
	var k atomic.Int64
	return func(op durabletest.Op) error {
		if op.Kind != durabletest.Sync || !strings.HasSuffix(filepath.Base(op.Path), suffix) {
			return nil
		}
		if k.Add(1) > int64(n) {
			return durabletest.ErrNoSpace
		}
		return nil
	}
}

// verdictGate is a Gate that decides by the conversation's peer (Send for
// a peer it does not name), or fails every admission with err; it records
// the users it admits and how many items each.
type verdictGate struct {
	verdicts map[string]mark.Verdict
	err      error

	mu     sync.Mutex
	admits map[string]int
}

func (g *verdictGate) Admit(_ context.Context, from string, items []mark.Item) ([]mark.Verdict, error) {
	g.mu.Lock()
	if g.admits == nil {
		g.admits = map[string]int{}
	}
	g.admits[from] += len(items)
	g.mu.Unlock()
	if g.err != nil {
		return nil, g.err
	}
	out := make([]mark.Verdict, len(items))
	for i := range items {
		out[i] = g.verdicts[items[i].Conv.Peer]
	}
	return out, nil
}

// confirmingState is a State that finds nothing unchanged and records the
// conversations confirmed.
type confirmingState struct {
	mu        sync.Mutex
	confirmed map[string]bool
}

func (s *confirmingState) Partition(int) (StatePart, error) { return unchangedNone{}, nil }
func (s *confirmingState) Confirmed(from string, it *mark.Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.confirmed == nil {
		s.confirmed = map[string]bool{}
	}
	s.confirmed[from+"/"+it.Conv.Peer] = true
}

type unchangedNone struct{}

func (unchangedNone) Unchanged(_ string, items []mark.Item, dst []bool) []bool {
	return append(dst, make([]bool, len(items))...)
}
func (unchangedNone) Release() {}

// TestGateStageVerdicts: the gate stage hands the gate every item of a
// user at once and acts on each verdict: items let go are sent, packed
// again into the fewest requests; an item held because the server holds
// marks is reported exists, one the server already holds as it would
// leave it unchanged (and confirmed in the state, as a sent one would
// be), one whose read failed unsent with the read's code; the requests
// the held items spared are counted saved.
func TestGateStageVerdicts(t *testing.T) {
	lines := []string{"from_account,to_account,set_mark,clear_mark,custom_mark"}
	for k := range 100 {
		lines = append(lines, fmt.Sprintf("u,send%d,1,,", k))
	}
	lines = append(lines, "u,exists,1,,", "u,same,1,,", "u,unread,1,,")
	g := &verdictGate{verdicts: map[string]mark.Verdict{
		"exists": {Hold: mark.HoldExists, Message: "not sent: the server already holds marks"},
		"same":   {Hold: mark.HoldSame, Message: "not sent: the server already holds these marks"},
		"unread": {Hold: mark.HoldUnsent, Code: 90001, Message: "not sent: its marks could not be read"},
	}}
	st := &confirmingState{}
	s, rep := &recordingSender{}, &memReport{}
	sum, err := Run(context.Background(), Options{Input: writeInput(t, lines...), Report: rep, Sender: s, Rate: 200, Gate: g, State: st})
	if err != nil {
		t.Fatal(err)
	}
	if g.admits["u"] != 103 || len(g.admits) != 1 {
		t.Errorf("admitted %v, want u's 103 items at once", g.admits)
	}
	if sum.RequestsPlanned != 2 || sum.RequestsSent != 1 || s.sent() != 1 || sum.RequestsSaved != 1 {
		t.Errorf("requests planned %d, sent %d (sender %d), saved %d; want 2, 1 (1), 1", sum.RequestsPlanned, sum.RequestsSent, s.sent(), sum.RequestsSaved)
	}
	want := map[string]report.Line{
		"exists": {Status: report.StatusExists, Message: "not sent: the server already holds marks"},
		"same":   {Status: report.StatusUnchanged, Message: "not sent: the server already holds these marks"},
		"unread": {Status: report.StatusUnsent, Code: 90001, Message: "not sent: its marks could not be read"},
	}
	if len(rep.lines) != 103 {
		t.Fatalf("%d report lines, want 103", len(rep.lines))
	}
	for _, l := range rep.lines {
		w, held := want[l.Peer]
		if !held {
			w = report.Line{Status: report.StatusOK}
		}
		if l.Status != w.Status || l.Code != w.Code || l.Message != w.Message {
			t.Errorf("%s: %s %d %q, want %s %d %q", l.Peer, l.Status, l.Code, l.Message, w.Status, w.Code, w.Message)
		}
	}
	if len(st.confirmed) != 101 || !st.confirmed["u/same"] || st.confirmed["u/exists"] || st.confirmed["u/unread"] {
		t.Errorf("%d confirmed (same %v, exists %v, unread %v), want the 100 sent and same", len(st.confirmed),
			st.confirmed["u/same"], st.confirmed["u/exists"], st.confirmed["u/unread"])
	}
}

// TestGateStageFailureStopsTheRun: a gate that fails stops the run: no
// request is sent, every row is reported unsent saying why, and the
// summary says what stopped it (an API code, an endpoint that cannot be
// reached, or what a Stop error names).
func TestGateStageFailureStopsTheRun(t *testing.T) {
	in := fiveUsersThreeRows(t)
	for _, tc := range []struct {
		name         string
		err          error
		stopped, why string
	}{
		{"fatal", &mark.FatalError{Code: 70009, Info: "bad sig"}, "fatal: 70009", "not sent: the run stopped on API error 70009"},
		{"unreachable", &mark.FatalError{Code: mark.CodeUnreachable, Info: "no answer"}, "fatal: unreachable", "not sent: the API cannot be reached"},
		{"stop", &backup.WriteError{Err: durabletest.ErrNoSpace}, stoppedBackup, "not sent: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rep := &recordingSender{}, &memReport{}
			sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: s, Rate: 200, Gate: &verdictGate{err: tc.err}, GateWorkers: 1})
			if !errors.Is(err, tc.err) {
				t.Errorf("Run: %v, want the gate's error", err)
			}
			if s.sent() != 0 {
				t.Errorf("%d requests sent after the gate failed", s.sent())
			}
			if sum.Stopped != tc.stopped || sum.StopMessage != tc.err.Error() {
				t.Errorf("stopped %q %q, want %q %q", sum.Stopped, sum.StopMessage, tc.stopped, tc.err.Error())
			}
			if len(rep.lines) != 15 {
				t.Fatalf("%d report lines, want 15", len(rep.lines))
			}
			want := tc.why
			if tc.name == "stop" {
				want += tc.err.Error()
			}
			for _, l := range rep.lines {
				if l.Status != report.StatusUnsent || l.Message != want {
					t.Errorf("row %d: %s %q, want unsent %q", l.Row, l.Status, l.Message, want)
				}
			}
		})
	}
}
