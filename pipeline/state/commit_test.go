package state

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"markimport/pipeline/durable/durabletest"
)

// TestCommitSyncsWhatItDependsOn: a commit, recorded call by call, makes
// each step durable before the next one relies on it: the new
// generation's folder entry (its parent synced) and every partition file
// of it (synced, then its folder synced) before the manifest is written;
// the manifest synced before it is renamed into place; the folder synced
// after the rename; and the files the new generation replaced removed
// only after that.
func TestCommitSyncsWhatItDependsOn(t *testing.T) {
	dir := t.TempDir()
	rec := &durabletest.Recorder{}
	s, err := Open(dir, "1", Options{FS: rec})
	if err != nil {
		t.Fatal(err)
	}
	confirmUsers(s, 0, 300, 1)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir, "1", Options{FS: rec}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	confirmUsers(s, 200, 300, 2) // rewrites some partitions, adds others
	rec.Reset()
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	ops := rec.Ops()
	gen := filepath.Join(dir, "gen-2")
	man := filepath.Join(dir, manifestName)
	tmp := man + ".tmp"
	index := func(match func(o durabletest.Op) bool) []int {
		var at []int
		for i, o := range ops {
			if match(o) {
				at = append(at, i)
			}
		}
		return at
	}
	one := func(what string, match func(o durabletest.Op) bool) int {
		t.Helper()
		at := index(match)
		if len(at) != 1 {
			t.Fatalf("%s: %d calls, want 1\n%s", what, len(at), durabletest.Render(ops))
		}
		return at[0]
	}
	mkdir := one("mkdir gen-2", func(o durabletest.Op) bool { return o.Kind == durabletest.Mkdir && o.Path == gen })
	syncParent := index(func(o durabletest.Op) bool { return o.Kind == durabletest.SyncDir && o.Path == dir })
	syncGen := one("sync gen-2", func(o durabletest.Op) bool { return o.Kind == durabletest.SyncDir && o.Path == gen })
	manWrite := index(func(o durabletest.Op) bool { return o.Path == tmp && o.Kind == durabletest.Write })
	manSync := one("sync the manifest", func(o durabletest.Op) bool { return o.Path == tmp && o.Kind == durabletest.Sync })
	rename := one("rename the manifest", func(o durabletest.Op) bool { return o.Kind == durabletest.Rename && o.Path == tmp && o.To == man })
	if len(manWrite) == 0 {
		t.Fatalf("the manifest was not written\n%s", durabletest.Render(ops))
	}
	firstManWrite := manWrite[0]

	// The generation's folder is in its parent before the manifest names it.
	if !slices.ContainsFunc(syncParent, func(i int) bool { return mkdir < i && i < firstManWrite }) {
		t.Errorf("the state folder was not synced between creating gen-2 (call %d) and writing the manifest (call %d)\n%s", mkdir, firstManWrite, durabletest.Render(ops))
	}
	// Every partition file: written, synced, closed, before its folder's
	// sync, which comes before the manifest.
	files := map[string][]durabletest.Op{}
	for _, o := range ops {
		if filepath.Dir(o.Path) == gen && o.Kind != durabletest.Mkdir {
			files[o.Path] = append(files[o.Path], o)
		}
	}
	if len(files) < 10 {
		t.Fatalf("%d partition files written, want many", len(files))
	}
	for path, fops := range files {
		var synced bool
		for _, o := range fops {
			switch o.Kind {
			case durabletest.Write:
				if synced {
					t.Errorf("%s written after its sync", path)
				}
			case durabletest.Sync:
				synced = true
			}
		}
		if !synced {
			t.Errorf("%s was never synced", path)
		}
		lastAt := slices.IndexFunc(ops, func(o durabletest.Op) bool { return o == fops[len(fops)-1] })
		if lastAt > syncGen {
			t.Errorf("%s: a call after its folder's sync", path)
		}
		syncAt := slices.IndexFunc(ops, func(o durabletest.Op) bool { return o.Path == path && o.Kind == durabletest.Sync })
		if syncAt > firstManWrite {
			t.Errorf("%s synced (call %d) after the manifest was written (call %d)", path, syncAt, firstManWrite)
		}
	}
	if syncGen > firstManWrite {
		t.Errorf("gen-2 synced (call %d) after the manifest was written (call %d)", syncGen, firstManWrite)
	}
	// The manifest: synced after its last write, before its rename; the
	// folder synced after the rename; removals after that.
	if manSync < manWrite[len(manWrite)-1] || manSync > rename {
		t.Errorf("the manifest synced at call %d, written up to %d, renamed at %d", manSync, manWrite[len(manWrite)-1], rename)
	}
	afterRename := slices.IndexFunc(syncParent, func(i int) bool { return i > rename })
	if afterRename < 0 {
		t.Fatalf("the state folder was not synced after the manifest's rename\n%s", durabletest.Render(ops))
	}
	removes := index(func(o durabletest.Op) bool { return o.Kind == durabletest.Remove && strings.Contains(o.Path, "gen-1") })
	if len(removes) == 0 {
		t.Errorf("no file of gen-1 replaced by gen-2 was removed\n%s", durabletest.Render(ops))
	}
	for _, i := range removes {
		if i < syncParent[afterRename] {
			t.Errorf("%s removed (call %d) before the new manifest was durable (call %d)", ops[i].Path, i, syncParent[afterRename])
		}
	}
}

// TestCommitOnAFullDisk: a commit whose partition file or manifest cannot
// be written (ENOSPC) fails, leaves the old state current and whole, and
// the next Open removes what it wrote.
func TestCommitOnAFullDisk(t *testing.T) {
	for _, target := range []string{".st", manifestName + ".tmp"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := Open(dir, "1", Options{})
			confirmUsers(s, 0, 100, 1)
			if err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			before := snapshot(t, dir)
			rec := &durabletest.Recorder{Fail: durabletest.FailWritesTo(target, 100)}
			s, err := Open(dir, "1", Options{FS: rec})
			if err != nil {
				t.Fatal(err)
			}
			confirmUsers(s, 50, 100, 2)
			err = s.Commit()
			if !errors.Is(err, durabletest.ErrNoSpace) {
				t.Fatalf("commit on a full disk: %v, want ENOSPC", err)
			}
			s.Close()
			if b, _ := os.ReadFile(filepath.Join(dir, manifestName)); string(b) != before[manifestName] {
				t.Error("the manifest changed though the commit failed")
			}
			s, err = Open(dir, "1", Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Entries() != 100 {
				t.Errorf("%d entries, want the 100 committed", s.Entries())
			}
			if now := snapshot(t, dir); len(now) != len(before) {
				t.Errorf("after the failed commit and an Open: %v, want %v", keys(now), keys(before))
			}
		})
	}
}

// TestCommitLeavesOnlyItsFiles: after commits that rewrite some
// partitions, the folder holds the manifest and exactly the files it
// names: the files each commit replaced, and the folders they emptied,
// are gone.
func TestCommitLeavesOnlyItsFiles(t *testing.T) {
	dir := t.TempDir()
	for night := range 4 {
		s, err := Open(dir, "1", Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Night n confirms users in a sliding window: some partitions
		// rewritten, others left as an earlier generation wrote them.
		confirmUsers(s, night*40, 60, uint64(night))
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{manifestName: true}
		for _, fm := range s.man.Files {
			want[filepath.FromSlash(fm.Name)] = true
			want[filepath.Dir(filepath.FromSlash(fm.Name))+"/"] = true
		}
		s.Close()
		got := snapshot(t, dir)
		for name := range got {
			if !want[name] {
				t.Errorf("night %d: %s left in the state folder", night+1, name)
			}
		}
		if len(got) != len(want) {
			t.Errorf("night %d: %d entries, want %d", night+1, len(got), len(want))
		}
	}
	s, _ := Open(dir, "1", Options{})
	defer s.Close()
	if users := 3*40 + 60; s.Entries() != int64(users) {
		t.Errorf("%d entries, want %d", s.Entries(), users)
	}
}

// TestCommitLeavesWhatItDidNotWrite: what appears in the state folder
// while a run holds it (a file of the user's, a generation folder no
// commit wrote) is not removed by the commit's cleanup, and the next
// Open refuses the folder instead.
func TestCommitLeavesWhatItDidNotWrite(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "1", Options{})
	confirmUsers(s, 0, 20, 1)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = Open(dir, "1", Options{})
	confirmUsers(s, 0, 20, 2) // replaces every file of gen-1
	foreign := []string{"notes.txt", "gen-1/readme", "gen-9/p-000.st", "pending-5/notes"}
	for _, f := range foreign {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), []byte("the user's"), 0o644)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range foreign {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != "the user's" {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := Open(dir, "1", Options{}); err == nil {
		t.Error("a folder holding the user's files was opened")
	}
}
