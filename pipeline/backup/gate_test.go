package backup

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

// marksOf is a Reader over a map of one user's marks.
type marksOf map[mark.Conversation]mark.ServerMarks

func (m marksOf) Search(_ context.Context, _ string, convs []mark.Conversation) (map[mark.Conversation]mark.ServerMarks, error) {
	out := map[mark.Conversation]mark.ServerMarks{}
	for _, c := range convs {
		if v, ok := m[c]; ok {
			out[c] = v
		}
	}
	return out, nil
}

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
			files := FilesOf(filepath.Join(t.TempDir(), name))
			w, err := Create(files)
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
			got := readBack(t, files.Final, "")
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

// TestHasKeysByType: a resumed backup knows the conversations it holds by
// user, type and peer: a group x is not the c2c x it holds.
func TestHasKeysByType(t *testing.T) {
	files := FilesOf(filepath.Join(t.TempDir(), "b.csv"))
	w, err := Create(files)
	if err != nil {
		t.Fatal(err)
	}
	c2c, group := mark.Conversation{Type: mark.C2C, Peer: "x"}, mark.Conversation{Type: mark.Group, Peer: "x"}
	if err := w.Write([]Row{{From: "u", Conv: c2c, Set: 1, Opt: mark.OptStandard}}); err != nil {
		t.Fatal(err)
	}
	w.Keep()
	if w, err = Resume(files, false, nil); err != nil {
		t.Fatal(err)
	}
	defer w.Keep()
	if !w.Has("u", c2c) || w.Has("u", group) || w.Has("v", c2c) {
		t.Errorf("Has: c2c x %v, group x %v, another user's c2c x %v; want true, false, false", w.Has("u", c2c), w.Has("u", group), w.Has("v", c2c))
	}
}
