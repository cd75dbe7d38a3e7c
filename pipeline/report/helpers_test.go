package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"markimport/pipeline/durable/durabletest"
)

// writeJournal writes a journal of n lines (row i ok for odd i, failed for
// even i), made durable every 10 lines and at the end, as a run does, and
// returns its path and bytes.
func writeJournal(t *testing.T, n int) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.csv.journal.csv")
	rep, err := createCSV(nil, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		l := Line{Row: int64(i), From: fmt.Sprint("u", i%7), Type: "c2c", Peer: fmt.Sprint("p", i), Status: StatusOK, Attempts: 1}
		if i%2 == 0 {
			l.Status, l.Code, l.Message = StatusFailed, 51007, "gone"
		}
		rep.Write(l)
		if i%10 == 0 {
			if err := rep.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// lineAt returns the byte offsets of line k (1-based) of b.
func lineAt(b []byte, k int) (start, end int) {
	for i := 1; i < k; i++ {
		start += bytes.IndexByte(b[start:], '\n') + 1
	}
	return start, start + bytes.IndexByte(b[start:], '\n') + 1
}

// finishedReport runs a report's whole life (start, commit, lines,
// finish) for the input in through rec, and returns its files.
func finishedReport(t *testing.T, name string, rec *durabletest.Recorder) (Files, InputDigest) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,to_account,set_mark\nu,p,1\n"), 0o644)
	fp, err := DigestFile(in)
	if err != nil {
		t.Fatal(err)
	}
	files := FilesOf(filepath.Join(dir, name))
	if rec != nil {
		files.FS = rec
	}
	j, err := StartJournal(files, &fp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 30; i++ {
		st := StatusOK
		if i%3 == 0 {
			st = StatusUnsent
		}
		j.Writer().Write(Line{Row: i, From: "u", Type: "c2c", Peer: fmt.Sprint("p", i), Status: st, Attempts: 1})
	}
	if err := j.Finish(); err != nil {
		t.Fatal(err)
	}
	return files, fp
}

// opIndex is the index of the first op that match accepts, or -1.
func opIndex(ops []durabletest.Op, match func(durabletest.Op) bool) int {
	return slices.IndexFunc(ops, match)
}

// lastIndex is the index of the last op that match accepts, or -1.
func lastIndex(ops []durabletest.Op, match func(durabletest.Op) bool) int {
	for i := len(ops) - 1; i >= 0; i-- {
		if match(ops[i]) {
			return i
		}
	}
	return -1
}

// is matches the ops of kind on path.
func is(kind durabletest.Kind, path string) func(durabletest.Op) bool {
	return func(o durabletest.Op) bool { return o.Kind == kind && o.Path == path }
}

// appendTo appends s to the file at path.
func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}
