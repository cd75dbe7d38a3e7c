package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"markimport/pipeline/durable/durabletest"
)

// opsString renders recorded calls with paths relative to dir, one a
// line: "sync b.csv.journal.csv".
func opsString(ops []durabletest.Op, dir string) string {
	var b strings.Builder
	for _, o := range ops {
		s := string(o.Kind) + " " + rel(o.Path, dir)
		if o.To != "" {
			s += " -> " + rel(o.To, dir)
		}
		fmt.Fprintln(&b, s)
	}
	return b.String()
}

func rel(p, dir string) string {
	if p == dir {
		return "."
	}
	r, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return r
}

// inOrder checks that want (lines of opsString) occur in got in this
// order, other calls between them allowed.
func inOrder(t *testing.T, what, got string, want ...string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w+"\n")
		if i < 0 {
			t.Fatalf("%s: %q is missing, or not after %q, in:\n%s", what, w, want, got)
		}
		rest = rest[i+len(w)+1:]
	}
}

// TestBackupSyncs: every write of the backup is made durable before
// what depends on it: the journal and its check file, and their names,
// before Create returns; the journal's rows before their checkpoint, and
// the checkpoint before Write returns (then requests may leave); the check
// of a finished CSV backup before the journal takes the backup's name; a
// Parquet backup synced before it is renamed into place; a journal copied
// from a finished backup synced, and its check written, before it takes
// its name. Each fsync removed fails here.
func TestBackupSyncs(t *testing.T) {
	for _, name := range []string{"b.csv", "b.parquet"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rec := &durabletest.Recorder{}
			files := FilesOf(filepath.Join(dir, name))
			files.FS = rec
			w, err := Create(files)
			if err != nil {
				t.Fatal(err)
			}
			j, c := name+".journal.csv", name+".journal.csv.check"
			inOrder(t, "Create", opsString(rec.Ops(), dir),
				"write "+j, "sync "+j, "write "+c, "sync "+c, "syncdir .")
			for range 3 {
				rec.Reset()
				writeBatches(t, w, 1, 3)
				inOrder(t, "Write", opsString(rec.Ops(), dir), "write "+j, "sync "+j, "write "+c, "sync "+c)
			}
			rec.Reset()
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			got := opsString(rec.Ops(), dir)
			if name == "b.csv" {
				inOrder(t, "Finish", got, "write b.csv.check.tmp", "sync b.csv.check.tmp", "rename b.csv.check.tmp -> b.csv.check", "syncdir .",
					"rename "+j+" -> b.csv", "syncdir .", "remove "+c, "syncdir .")
			} else {
				inOrder(t, "Finish", got, "sync b.parquet.tmp", "rename b.parquet.tmp -> b.parquet", "syncdir .", "remove "+j, "syncdir .", "remove "+c, "syncdir .")
			}
			rec.Reset()
			w, err = Resume(files, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			inOrder(t, "Resume", opsString(rec.Ops(), dir), "write "+j+".tmp", "sync "+j+".tmp",
				"sync "+c+".tmp", "rename "+c+".tmp -> "+c, "syncdir .", "rename "+j+".tmp -> "+j, "syncdir .")
			w.Keep()
			// A row after the last checkpoint (a kill between the two
			// syncs) is dropped, and the journal synced at once: a
			// finished backup never holds it again after a crash.
			f, _ := os.OpenFile(filepath.Join(dir, j), os.O_WRONLY|os.O_APPEND, 0)
			f.WriteString("late,c2c,p,,1,,,1\n")
			f.Close()
			rec.Reset()
			if w, err = Resume(files, false, nil); err != nil {
				t.Fatal(err)
			}
			inOrder(t, "Resume after a kill", opsString(rec.Ops(), dir), "open "+j, "sync "+j)
			w.Keep()
		})
	}
}
