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

// checkedSender answers every item ok, calling check with each request
// as it receives it.
type checkedSender struct {
	check func(req *mark.Request)
	n     atomic.Int64
}

func (s *checkedSender) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	for req := range reqs {
		s.n.Add(1)
		s.check(req)
		out := make([]mark.Outcome, len(req.Items))
		for i := range out {
			out[i] = mark.Outcome{Sent: true, Attempts: 1}
		}
		done(req, out)
	}
	return ctx.Err()
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
	s := &checkedSender{check: func(req *mark.Request) {
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
			s := &checkedSender{check: func(req *mark.Request) {}}
			rep := &memReport{}
			sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: s, Rate: 200,
				Gate: &readback.Gate{Marks: &memMarks{}, Backup: w}})
			if n := s.n.Load(); n != 0 {
				t.Errorf("%d requests reached the sender after the backup failed", n)
			}
			var we *backup.WriteError
			if !errors.As(err, &we) || !errors.Is(err, durabletest.ErrNoSpace) {
				t.Fatalf("Run: %v, want the backup's write error", err)
			}
			if sum.Stopped != StoppedBackup || !strings.Contains(sum.StopMessage, "no space") {
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
