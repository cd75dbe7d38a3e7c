package pipeline

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"markimport/pipeline/durable/durabletest"
	"markimport/pipeline/mark"
	"markimport/pipeline/report"
	"markimport/pipeline/report/reporttest"
)

// countingSender answers every item ok, one request at a time, and counts
// the requests that left, and those that left after failed was set. Like
// the real sender it sends nothing once its context is done: a request it
// receives then is answered unsent. With waitSync it waits, after each
// request, until next is signalled or its context is done.
type countingSender struct {
	failed   *atomic.Bool
	started  atomic.Bool
	waitSync bool
	next     chan struct{}
	timedOut bool
	sent     int
	after    int
}

func (s *countingSender) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	for {
		var req *mark.Request
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-reqs:
			if !ok {
				return nil
			}
			req = r
		}
		out := make([]mark.Outcome, len(req.Items))
		if ctx.Err() != nil {
			done(req, out) // unsent
			continue
		}
		s.sent++
		s.started.Store(true)
		if s.failed.Load() {
			s.after++
		}
		for i := range out {
			out[i] = mark.Outcome{Sent: true, Attempts: 1}
		}
		done(req, out)
		if s.waitSync {
			select {
			case <-ctx.Done():
			case <-s.next:
			case <-time.After(10 * time.Second):
				s.timedOut = true // the run was not stopped
				return errors.New("not stopped")
			}
		}
	}
}

// TestNoRequestLeavesAfterTheReportFails: when the journal or its
// checkpoints cannot be written or synced (a full disk, an I/O error), the
// run stops at once: no request leaves after the failure, the run ends
// with a *ReportError that names the journal under the name it has on
// disk, the summary says "report", and what the journal holds is still
// proven for --resume.
func TestNoRequestLeavesAfterTheReportFails(t *testing.T) {
	eio := &fs.PathError{Op: "sync", Path: "(injected)", Err: syscall.EIO}
	nospc := durabletest.ErrNoSpace
	// after fails calls of kind to files whose name ends in suffix, after
	// n of them went well once the sender sent its first request.
	after := func(kind durabletest.Kind, suffix string, n int32, err error) func(*countingSender) func(durabletest.Op) error {
		return func(s *countingSender) func(durabletest.Op) error {
			var calls atomic.Int32
			return func(op durabletest.Op) error {
				if op.Kind == kind && strings.HasSuffix(op.Path, suffix) && s.started.Load() && calls.Add(1) > n {
					return err
				}
				return nil
			}
		}
	}
	cases := []struct {
		name     string
		fail     func(*countingSender) func(durabletest.Op) error
		waitSync bool
		want     error
		file     string // the file the message names
	}{
		{"journal full", func(*countingSender) func(durabletest.Op) error {
			// The journal's buffer (256 KiB) is written when full, in the
			// middle of the answers: the disk has room for 400 KiB.
			return durabletest.FailWritesTo(".journal.csv.new", 400<<10)
		}, false, syscall.ENOSPC, "r.csv.journal.csv"},
		{"checkpoints full", after(durabletest.Write, ".journal.csv.new.checkpoints", 3, nospc), true, syscall.ENOSPC, "r.csv.journal.csv.checkpoints"},
		{"journal sync fails", after(durabletest.Sync, ".journal.csv.new", 3, eio), true, syscall.EIO, "r.csv.journal.csv"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.csv")
			writeGenInput(t, in, 20000, false)
			var failed atomic.Bool
			s := &countingSender{failed: &failed, waitSync: tc.waitSync, next: make(chan struct{}, 1)}
			rec := &durabletest.Recorder{Fail: tc.fail(s)}
			rec.Hook = func(op durabletest.Op) {
				if errors.Is(op.Err, syscall.ENOSPC) || errors.Is(op.Err, syscall.EIO) {
					failed.Store(true)
				} else if op.Kind == durabletest.Sync && strings.HasSuffix(op.Path, ".journal.csv.new.checkpoints") {
					select {
					case s.next <- struct{}{}:
					default:
					}
				}
			}
			digest, err := report.DigestFile(in)
			if err != nil {
				t.Fatal(err)
			}
			files := report.FilesOf(filepath.Join(dir, "r.csv"))
			files.FS = rec
			j, err := report.StartJournal(files, &digest, nil)
			if err != nil {
				t.Fatal(err)
			}
			every := time.Hour
			if tc.waitSync {
				every = 5 * time.Millisecond
			}
			sum, err := Run(context.Background(), Options{Input: in, Report: j.Writer(), Sender: s, InputRead: j.Commit, SyncEvery: every})
			// A journal whose writing failed never becomes the report.
			if ferr := j.Finish(); ferr == nil {
				t.Error("the journal whose writing failed was finished")
			}
			if _, err := os.Stat(files.Final); err == nil {
				t.Error("a report was made of the journal whose writing failed")
			}
			var re *ReportError
			switch {
			case s.timedOut:
				t.Fatalf("the sender was not stopped within 10 s of the failure (%d requests sent)", s.sent)
			case !errors.As(err, &re) || !errors.Is(err, tc.want):
				t.Fatalf("Run: %v, want a *ReportError of %v", err, tc.want)
			case !failed.Load() || s.sent == 0 || int64(s.sent) >= sum.RequestsPlanned:
				t.Fatalf("%d of %d planned requests sent, failure injected: %v: the test did not fail the report midway", s.sent, sum.RequestsPlanned, failed.Load())
			case s.after > 0:
				t.Errorf("%d requests left after the report failed", s.after)
			case sum.Stopped != stoppedReport:
				t.Errorf("summary stopped %q, want %q", sum.Stopped, stoppedReport)
			}
			msg := err.Error()
			if !strings.Contains(msg, filepath.Join(dir, tc.file)+":") || strings.Contains(msg, ".new") {
				t.Errorf("message %q does not name %s as it is on disk", msg, tc.file)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.file)); err != nil {
				t.Errorf("the file the message names: %v", err)
			}
			// What the journal holds is proven as far as its last
			// checkpoint: --resume takes it, and says what it drops (with
			// no sync since the commit, every line sent).
			resumed, done, err := report.ResumeJournal(report.FilesOf(files.Final), digest, nil)
			if err == nil {
				resumed.Writer().Close()
			}
			switch {
			case err != nil:
				t.Errorf("the journal left behind does not resume: %v", err)
			case tc.waitSync && done.Len() == 0:
				t.Error("no ok row proven after several syncs")
			case !tc.waitSync && (done.Len() != 0 || len(done.Notes) == 0):
				t.Errorf("%d ok rows proven without a sync, notes %q", done.Len(), done.Notes)
			}
		})
	}
}

// TestResumedRowsAreTheInputs: a resumed report's ok row must be, in the
// input, the conversation the report names: a row of another
// conversation, an invalid row, or a row the input does not have is
// refused before anything is sent, naming the row, the report's values
// and the input's.
func TestResumedRowsAreTheInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,to_account,to_group_id,set_mark\n"+
		"alice,bob,,1\n"+ // 1
		"alice,carol,,2\n"+ // 2
		"dave,,g1,3\n"+ // 3
		"erin,frank,,99\n"+ // 4: invalid
		"erin,frank,,4\n"), 0o644) // 5
	cases := []struct {
		name  string
		line  report.Line
		wants []string
	}{
		{"the right conversation", report.Line{Row: 2, From: "alice", Type: "c2c", Peer: "carol"}, nil},
		{"another peer", report.Line{Row: 1, From: "alice", Type: "c2c", Peer: "carol"},
			[]string{"row 1 is ok in the report", `peer "carol"`, `the input has from_account "alice", type "c2c", peer "bob" there`}},
		{"another type", report.Line{Row: 3, From: "dave", Type: "c2c", Peer: "g1"},
			[]string{"row 3", `type "c2c"`, `type "group", peer "g1"`}},
		{"an invalid row", report.Line{Row: 4, From: "erin", Type: "c2c", Peer: "frank"},
			[]string{"row 4", "the input has an invalid row (set_mark: bit 99"}},
		{"no such row", report.Line{Row: 9, From: "erin", Type: "c2c", Peer: "frank"},
			[]string{"row 9", "the input has no such row"}},
	}
	for _, sorted := range []bool{false, true} {
		for _, tc := range cases {
			name := tc.name
			if sorted {
				name += " (sorted)"
			}
			t.Run(name, func(t *testing.T) {
				tc.line.Status, tc.line.Attempts = report.StatusOK, 1
				files := reporttest.KilledJournal(t, filepath.Join(t.TempDir(), "r.csv"), in, tc.line)
				digest, err := report.DigestFile(in)
				if err != nil {
					t.Fatal(err)
				}
				j, done, err := report.ResumeJournal(files, digest, nil)
				if err != nil {
					t.Fatal(err)
				}
				rep := j.Writer()
				defer rep.Close()
				s := &recordingSender{}
				_, err = Run(context.Background(), Options{Input: in, Report: rep, Sender: s, Done: done, Sorted: sorted})
				if tc.wants == nil {
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					return
				}
				var me *report.MismatchError
				if !errors.As(err, &me) {
					t.Fatalf("Run: %v, want a *report.MismatchError", err)
				}
				for _, w := range append(tc.wants, files.Journal, "--overwrite") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%q does not say %q", err, w)
					}
				}
				if !sorted && len(s.reqs) > 0 {
					t.Errorf("%d requests sent before the mismatch was refused", len(s.reqs))
				}
			})
		}
	}
}
