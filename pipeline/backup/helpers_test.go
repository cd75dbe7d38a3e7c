package backup

import (
	"strconv"
	"sync"
	"testing"

	"markimport/pipeline/mark"
)

// Helpers shared by the package's tests: rows with hostile custom marks,
// written at once or batch by batch, and a backup read back as an input.

// hostile are custom marks a backup must give back byte for byte.
var hostile = []string{"", " spaced ", "a,b", "q\"uote", "line\nbreak", "lone\rcr", "字", "=1+2", "\ttab"}

// writeRows writes n rows from several goroutines at once.
func writeRows(t *testing.T, w *Writer, users, per int) {
	t.Helper()
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Write(userRows(u, per)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// readBack reads a backup as markimport reads an input.
func readBack(t *testing.T, path, format string) map[string]Row {
	t.Helper()
	out := map[string]Row{}
	err := eachRow(path, format, func(r *Row) error {
		k := r.From + "/" + r.Conv.TypeName() + "/" + r.Conv.Peer
		if _, dup := out[k]; dup {
			t.Errorf("%s: %s twice", path, k)
		}
		out[k] = *r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRows checks the rows of users users with per conversations each,
// as userRows made them.
func checkRows(t *testing.T, got map[string]Row, users, per int) {
	t.Helper()
	if len(got) != users*per {
		t.Fatalf("%d rows, want %d", len(got), users*per)
	}
	for u := range users {
		for k := range per {
			r := got["user"+strconv.Itoa(u)+"/c2c/p"+strconv.Itoa(k)]
			if want := hostile[(u+k)%len(hostile)]; r.Custom != want || r.Set != 1<<k || r.Opt != mark.OptBoth {
				t.Fatalf("user%d p%d: %+v, want set %d custom %q", u, k, r, k, want)
			}
		}
	}
}

// userRows is user u's per rows: conversations p0.. with bit k set and a
// hostile custom mark each.
func userRows(u, per int) []Row {
	var rows []Row
	for k := range per {
		rows = append(rows, Row{From: "user" + strconv.Itoa(u), Conv: mark.Conversation{Type: mark.C2C, Peer: "p" + strconv.Itoa(k)},
			Set: 1 << k, Custom: hostile[(u+k)%len(hostile)], Opt: mark.OptBoth})
	}
	return rows
}

// writeBatches writes users batches of per rows, one Write each.
func writeBatches(t *testing.T, w *Writer, users, per int) {
	t.Helper()
	for u := range users {
		if err := w.Write(userRows(u, per)); err != nil {
			t.Fatal(err)
		}
	}
}
