package readback

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"markimport/pipeline/backup"
	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/readers"
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

// recordingReader is a Reader over marks that records how many
// conversations each read names, and answers every read with err when it
// is set.
type recordingReader struct {
	marks marksOf
	err   error

	mu    sync.Mutex
	reads []int
}

func (r *recordingReader) Search(ctx context.Context, from string, convs []mark.Conversation) (map[mark.Conversation]mark.ServerMarks, error) {
	r.mu.Lock()
	r.reads = append(r.reads, len(convs))
	r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	return r.marks.Search(ctx, from, convs)
}

// backupRows reads a finished backup as markimport reads an input, by
// "user/type/peer".
func backupRows(t *testing.T, path string) map[string]backup.Row {
	t.Helper()
	rd, err := readers.Open(path, readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out := map[string]backup.Row{}
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		c, bad := plan.Validate(&rec)
		if bad != nil {
			t.Fatalf("%s row %d: %s", path, rec.Row, bad.Message)
		}
		k := c.From + "/" + c.Conv.TypeName() + "/" + c.Conv.Peer
		if _, dup := out[k]; dup {
			t.Errorf("%s: %s twice", path, k)
		}
		out[k] = backup.Row{From: c.From, Conv: c.Conv, Set: c.Set, Clear: c.Clear, Custom: c.Custom, Opt: c.Opt}
	}
}
