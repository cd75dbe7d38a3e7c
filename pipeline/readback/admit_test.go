package readback

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"markimport/pipeline/backup"
	"markimport/pipeline/mark"
)

// TestGateVerdicts: what the gate decides for each item of a user, and the
// rows it backs up: a c2c and a group conversation of the same name are
// read and backed up each with its own marks; an item that changes
// nothing is held (unchanged), with no row; a custom mark with "\r\n"
// before the run is held unsent with a CSV backup, and backed up byte for
// byte with a Parquet one.
func TestGateVerdicts(t *testing.T) {
	c2c := mark.Conversation{Type: mark.C2C, Peer: "x"}
	group := mark.Conversation{Type: mark.Group, Peer: "x"}
	same := mark.Conversation{Type: mark.C2C, Peer: "same"}
	crlf := mark.Conversation{Type: mark.C2C, Peer: "crlf"}
	server := marksOf{
		c2c:   {Standard: 1 << 9, Custom: "c2c"},
		group: {Standard: 1 << 4, Custom: "group"},
		same:  {Standard: 1 << 2},
		crlf:  {Custom: "a\r\nb"},
	}
	items := []mark.Item{
		{Conv: c2c, Set: 1, Custom: "new", Opt: mark.OptBoth},
		{Conv: group, Set: 1, Custom: "new", Opt: mark.OptBoth},
		{Conv: same, Set: 1 << 2, Clear: 1 << 3, Opt: mark.OptStandard},
		{Conv: crlf, Custom: "new", Opt: mark.OptCustom},
	}
	for _, name := range []string{"b.csv", "b.parquet"} {
		t.Run(name, func(t *testing.T) {
			files := backup.FilesOf(filepath.Join(t.TempDir(), name))
			w, err := backup.Create(files)
			if err != nil {
				t.Fatal(err)
			}
			g := &Gate{Marks: server, Backup: w}
			v, err := g.Admit(context.Background(), "u", items)
			if err != nil {
				t.Fatal(err)
			}
			if v[0].Hold != mark.Send || v[1].Hold != mark.Send {
				t.Errorf("c2c x, group x: %+v %+v", v[0], v[1])
			}
			if v[2].Hold != mark.HoldSame || !strings.Contains(v[2].Message, "already holds") {
				t.Errorf("an item that changes nothing: %+v", v[2])
			}
			wantCRLF := mark.Send
			if name == "b.csv" {
				wantCRLF = mark.HoldUnsent
			}
			if v[3].Hold != wantCRLF || wantCRLF == mark.HoldUnsent && !strings.Contains(v[3].Message, "FILE.parquet") {
				t.Errorf("a custom mark with \\r\\n before: %+v", v[3])
			}
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			got := backupRows(t, files.Final)
			if r := got["u/c2c/x"]; r.Set != 0 || r.Clear != 1 || r.Custom != "c2c" {
				t.Errorf("c2c x backed up as %+v", r)
			}
			if r := got["u/group/x"]; r.Set != 0 || r.Clear != 1 || r.Custom != "group" {
				t.Errorf("group x backed up as %+v", r)
			}
			if _, ok := got["u/c2c/same"]; ok {
				t.Errorf("a row for an item held unchanged")
			}
			if r, ok := got["u/c2c/crlf"]; ok != (name == "b.parquet") || ok && r.Custom != "a\r\nb" {
				t.Errorf("crlf backed up: %v %q", ok, r.Custom)
			}
		})
	}
}

// TestInsertOnlyVerdicts: without a backup, insert mode holds back an item
// only when its conversation holds marks the item would change, saying
// which marks; an item that changes nothing, a conversation the server
// does not hold and one that holds no mark are sent.
func TestInsertOnlyVerdicts(t *testing.T) {
	conv := func(p string) mark.Conversation { return mark.Conversation{Type: mark.C2C, Peer: p} }
	server := marksOf{
		conv("marked"):  {Standard: 1<<0 | 1<<5, Custom: "vip"},
		conv("already"): {Standard: 1 << 3},
		conv("blank"):   {},
	}
	for _, tc := range []struct {
		name string
		it   mark.Item
		want mark.Hold
		msg  string
	}{
		{"holds marks the item changes", mark.Item{Conv: conv("marked"), Set: 1 << 1, Opt: mark.OptStandard}, mark.HoldExists,
			`not sent: the server already holds marks for this conversation: standard bits 0,5 custom "vip"`},
		{"already as the item leaves it", mark.Item{Conv: conv("already"), Set: 1 << 3, Opt: mark.OptStandard}, mark.Send, ""},
		{"not held by the server", mark.Item{Conv: conv("new"), Set: 1, Opt: mark.OptStandard}, mark.Send, ""},
		{"held with no mark", mark.Item{Conv: conv("blank"), Custom: "x", Opt: mark.OptCustom}, mark.Send, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Gate{Marks: server, InsertOnly: true}
			v, err := g.Admit(context.Background(), "u", []mark.Item{tc.it})
			if err != nil {
				t.Fatal(err)
			}
			if v[0].Hold != tc.want || v[0].Message != tc.msg {
				t.Errorf("verdict %+v, want hold %d %q", v[0], tc.want, tc.msg)
			}
			if g.Reads.Load() != 1 {
				t.Errorf("%d reads, want 1", g.Reads.Load())
			}
		})
	}
}

// TestFailedReadHoldsTheUser: a read the API refused holds every item of
// the user unsent, with the read's code, and backs nothing up; a fatal
// answer or an interruption is the caller's to stop on.
func TestFailedReadHoldsTheUser(t *testing.T) {
	items := []mark.Item{
		{Conv: mark.Conversation{Type: mark.C2C, Peer: "a"}, Set: 1, Opt: mark.OptStandard},
		{Conv: mark.Conversation{Type: mark.Group, Peer: "b"}, Set: 2, Opt: mark.OptStandard},
	}
	refused := &mark.ReadError{Code: 90001, Message: "busy"}
	for _, tc := range []struct {
		name   string
		backup bool
		why    string
	}{
		{"insert mode", false, "not sent: its marks could not be read (insert mode): API error 90001: busy"},
		{"backup", true, "not sent: its backup could not be read: API error 90001: busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Gate{Marks: &recordingReader{err: refused}, InsertOnly: !tc.backup}
			var w *backup.Writer
			if tc.backup {
				var err error
				if w, err = backup.Create(backup.FilesOf(filepath.Join(t.TempDir(), "b.csv"))); err != nil {
					t.Fatal(err)
				}
				defer w.Keep()
				g.Backup = w
			}
			v, err := g.Admit(context.Background(), "u", items)
			if err != nil {
				t.Fatal(err)
			}
			for i := range v {
				if v[i] != (mark.Verdict{Hold: mark.HoldUnsent, Code: 90001, Message: tc.why}) {
					t.Errorf("item %d: %+v, want unsent %q", i, v[i], tc.why)
				}
			}
			if w != nil && w.Rows() != 0 {
				t.Errorf("%d backup rows written for a user whose read failed", w.Rows())
			}
		})
	}
	fatal := &mark.FatalError{Code: 70009, Info: "bad sig"}
	if v, err := (&Gate{Marks: &recordingReader{err: fatal}, InsertOnly: true}).Admit(context.Background(), "u", items); !errors.Is(err, fatal) || v != nil {
		t.Errorf("a fatal read: %v %v, want the fatal error", v, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Gate{Marks: &recordingReader{err: refused}, InsertOnly: true}).Admit(ctx, "u", items); !errors.As(err, new(*mark.ReadError)) {
		t.Errorf("a refused read once interrupted: %v, want it returned", err)
	}
}

// TestReadsAreFewest: a user's conversations are read MaxSearchItems a
// read; with a resumed backup, those it already holds are not read again
// (their rows hold the marks from before the first change), unless insert
// mode must know them.
func TestReadsAreFewest(t *testing.T) {
	var items []mark.Item
	for i := range 650 {
		items = append(items, mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: fmt.Sprint("p", i)}, Set: 1, Opt: mark.OptStandard})
	}
	r := &recordingReader{marks: marksOf{}}
	if _, err := (&Gate{Marks: r, InsertOnly: true}).Admit(context.Background(), "u", items); err != nil {
		t.Fatal(err)
	}
	slices.Sort(r.reads)
	if !slices.Equal(r.reads, []int{50, 300, 300}) {
		t.Errorf("reads of %v conversations, want 300, 300, 50", r.reads)
	}

	files := backup.FilesOf(filepath.Join(t.TempDir(), "b.csv"))
	w, err := backup.Create(files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Gate{Marks: &recordingReader{marks: marksOf{}}, Backup: w}).Admit(context.Background(), "u", items[:10]); err != nil {
		t.Fatal(err)
	}
	w.Keep()
	if w, err = backup.Resume(files, false, nil); err != nil {
		t.Fatal(err)
	}
	defer w.Keep()
	for _, insert := range []bool{false, true} {
		r := &recordingReader{marks: marksOf{}}
		if _, err := (&Gate{Marks: r, Backup: w, InsertOnly: insert}).Admit(context.Background(), "u", items[:25]); err != nil {
			t.Fatal(err)
		}
		want := []int{15}
		if insert {
			want = []int{25}
		}
		if !slices.Equal(r.reads, want) {
			t.Errorf("insert %v: reads of %v conversations, want %v", insert, r.reads, want)
		}
	}
}
