package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

// TestOpenRemovesOnlyLeftovers: Open of a state whose manifest checks
// removes what killed runs left (pending folders, the manifest's
// temporary file, the generation one newer than the manifest's, files a
// later generation replaced), keeps the set-aside folders and every file
// the manifest names, and the state is as committed.
func TestOpenRemovesOnlyLeftovers(t *testing.T) {
	dir := committed(t)
	keep := snapshot(t, dir)
	name, content := aPartFile(t, dir)
	leftovers := []string{
		"pending-1234/p-005",
		"pending-99/p-255",
		manifestName + ".tmp",
		"gen-3/" + filepath.Base(name),
		"gen-1/p-254.st", // named by no manifest, in a generation before the manifest's
	}
	for _, l := range leftovers {
		write(t, filepath.Join(dir, l), content)
	}
	write(t, filepath.Join(dir, "set-aside-20240101T000000Z", "notes.txt"), "the user's")
	write(t, filepath.Join(dir, "set-aside-20240101T000000Z", "gen-1", "p-000.st"), content)
	// validate only reads.
	before := snapshot(t, dir)
	s, err := Open(dir, "1", Options{Dry: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); !equal(after, before) || s.Entries() != 60 {
		t.Fatalf("a dry Open: %d entries, the folder changed: %v", s.Entries(), !equal(after, before))
	}
	s, err = Open(dir, "1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Entries() != 60 {
		t.Errorf("%d entries, want 60", s.Entries())
	}
	got := snapshot(t, dir)
	for _, l := range leftovers {
		if _, ok := got[l]; ok {
			t.Errorf("%s was left", l)
		}
	}
	for _, gone := range []string{"pending-1234/", "pending-99/", "gen-3/"} {
		if _, ok := got[gone]; ok {
			t.Errorf("the folder %s was left", gone)
		}
	}
	for k, v := range keep {
		if got[k] != v {
			t.Errorf("%s changed or went", k)
		}
	}
	for _, k := range []string{"set-aside-20240101T000000Z/notes.txt", "set-aside-20240101T000000Z/gen-1/p-000.st"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s of a set-aside folder was removed", k)
		}
	}
}

// TestOpenRefusesWhatItCannotAccountFor: a folder with partition files and
// no manifest, a generation newer than the manifest's by more than one
// commit, or anything markimport does not write is refused as damaged,
// and nothing in it is removed or changed, leftovers included; so is a
// dry Open. With --full, the same folder's content is moved to a
// set-aside folder, and a new state starts.
func TestOpenRefusesWhatItCannotAccountFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(dir, part, content string)
		want   string
	}{
		{"no manifest", func(dir, _, _ string) { os.Remove(filepath.Join(dir, manifestName)) }, "no MANIFEST.json, yet the folder holds"},
		{"no manifest, its temporary file there", func(dir, _, _ string) {
			os.Rename(filepath.Join(dir, manifestName), filepath.Join(dir, manifestName+".tmp"))
		}, "no MANIFEST.json, yet the folder holds"},
		{"a generation two commits ahead", func(dir, part, content string) { write(t, filepath.Join(dir, "gen-4", "p-000.st"), content) }, "gen-4 is newer than generation 2"},
		{"a file of the user's", func(dir, _, _ string) { write(t, filepath.Join(dir, "notes.txt"), "x") }, "did not write: notes.txt"},
		{"a folder of the user's", func(dir, _, _ string) { write(t, filepath.Join(dir, "old", "x"), "x") }, "did not write: old/"},
		{"a file in a generation folder", func(dir, _, _ string) { write(t, filepath.Join(dir, "gen-2", "x.st"), "x") }, "did not write: gen-2/x.st"},
		{"a misnamed partition file", func(dir, part, content string) { write(t, filepath.Join(dir, "gen-1", "p-256.st"), content) }, "did not write: gen-1/p-256.st"},
		{"a file in a pending folder", func(dir, _, _ string) { write(t, filepath.Join(dir, "pending-7", "notes"), "x") }, "did not write: pending-7/notes"},
		{"a generation folder with a leading zero", func(dir, _, content string) { write(t, filepath.Join(dir, "gen-01", "p-000.st"), content) }, "did not write: gen-01/"},
		{"a symbolic link", func(dir, _, _ string) { os.Symlink("elsewhere", filepath.Join(dir, "gen-9")) }, "did not write: gen-9"},
		{"a manifest of generation 0 beside generation 2", func(dir, _, _ string) {
			b, _ := emptyManifest("1").encode()
			os.WriteFile(filepath.Join(dir, manifestName), b, 0o644)
		}, "gen-2 is newer than generation 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := committed(t)
			part, content := aPartFile(t, dir)
			write(t, filepath.Join(dir, "pending-55", "p-001"), "a leftover, if the folder were accounted for")
			tc.damage(dir, part, content)
			before := snapshot(t, dir)
			for _, dry := range []bool{false, true} {
				_, err := Open(dir, "1", Options{Dry: dry})
				var se *stateError
				if !errors.As(err, &se) || !se.Damaged || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--full") {
					t.Fatalf("dry %v: %v, want a damaged state's error saying %q and --full", dry, err, tc.want)
				}
				if after := snapshot(t, dir); !equal(after, before) {
					t.Fatalf("dry %v: the refused folder changed: %v, was %v", dry, keys(after), keys(before))
				}
			}
			// A dry --full says what a run would do, and does nothing.
			s, err := Open(dir, "1", Options{Dry: true, Full: true})
			if err != nil || !strings.Contains(s.Notice(), "run --full moves") {
				t.Fatalf("dry --full: %v, notice %q", err, s.Notice())
			}
			if after := snapshot(t, dir); !equal(after, before) {
				t.Fatal("dry --full changed the folder")
			}
			s, err = Open(dir, "1", Options{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			asides, _ := filepath.Glob(filepath.Join(dir, "set-aside-*"))
			if len(asides) != 1 || !strings.Contains(s.Notice(), asides[0]) {
				t.Fatalf("--full: set-aside folders %v, notice %q", asides, s.Notice())
			}
			rel, _ := filepath.Rel(dir, asides[0])
			after := snapshot(t, dir)
			for k, v := range before {
				if w, ok := after[rel+"/"+k]; !ok || w != v {
					t.Errorf("--full: %s is not in %s as it was", k, rel)
				}
			}
			if s.Entries() != 0 {
				t.Errorf("--full: a new state holds %d entries", s.Entries())
			}
			s.Confirmed("u", item("p", 1, "", mark.OptStandard))
			if err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if s, err = Open(dir, "1", Options{}); err != nil || s.Entries() != 1 {
				t.Fatalf("the new state: %v", err)
			}
		})
	}
}

// TestOpenNewStates: a folder that holds no state (nothing, or only what
// a run killed before its first commit left) opens empty, gets its
// manifest, and loses the leftovers; a first commit killed after writing
// generation 1 leaves a state that opens empty too.
func TestOpenNewStates(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "pending-1", "p-003"), "x")
	write(t, filepath.Join(dir, manifestName+".tmp"), "x")
	write(t, filepath.Join(dir, LockName), "")
	s, err := Open(dir, "1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(snapshot(t, dir)); strings.Join(got, " ") != LockName+" "+manifestName {
		t.Errorf("a new state holds %v", got)
	}
	for u := range 300 {
		s.Confirmed("u"+string(rune('a'+u%26))+strings.Repeat("x", u/26), item("p", 1, "", mark.OptStandard))
	}
	crashHook = func(written int) {
		if written == 5 {
			panic("killed")
		}
	}
	func() {
		defer func() { recover() }()
		s.Commit()
	}()
	crashHook = nil
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "gen-1")); err != nil {
		t.Fatalf("the killed commit left no generation: %v", err)
	}
	if s, err = Open(dir, "1", Options{}); err != nil {
		t.Fatalf("a state whose first commit was killed: %v", err)
	}
	defer s.Close()
	if s.Entries() != 0 {
		t.Errorf("%d entries, want 0", s.Entries())
	}
	if _, err := os.Stat(filepath.Join(dir, "gen-1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed commit's generation was left: %v", err)
	}
}
