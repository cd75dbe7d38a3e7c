package durable_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"markimport/pipeline/durable"
	"markimport/pipeline/durable/durabletest"
)

func TestCommitSyncsThenRenamesThenSyncsTheFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	rec := &durabletest.Recorder{}
	if err := durable.WriteFile(rec, path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"open out.json.tmp",
		"write out.json.tmp",
		"sync out.json.tmp",
		"close out.json.tmp",
		"rename out.json.tmp -> out.json",
		"syncdir " + filepath.Base(dir),
	}
	checkCalls(t, rec, want)
	if got := read(t, path); got != "new" {
		t.Fatalf("file holds %q", got)
	}
	if _, err := os.Stat(durable.TempName(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

func TestAFailedWriteLeavesTheOldFile(t *testing.T) {
	for _, fail := range []durabletest.Kind{durabletest.Write, durabletest.Sync, durabletest.Close, durabletest.Rename} {
		t.Run(string(fail), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "summary.json")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			rec := &durabletest.Recorder{Fail: func(op durabletest.Op) error {
				if op.Kind == fail {
					return durabletest.ErrNoSpace
				}
				return nil
			}}
			err := durable.WriteFile(rec, path, []byte("new"))
			if !errors.Is(err, durabletest.ErrNoSpace) {
				t.Fatalf("err = %v, want the injected error", err)
			}
			if got := read(t, path); got != "old" {
				t.Fatalf("file holds %q, want the old content", got)
			}
			if _, err := os.Stat(durable.TempName(path)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("temporary file left behind: %v", err)
			}
		})
	}
}

func TestAbortLeavesTheFinalNameAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rejects.csv")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := durable.Disk(nil).Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	a.Abort()
	if got := read(t, path); got != "old" {
		t.Fatalf("file holds %q", got)
	}
	if _, err := os.Stat(durable.TempName(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	if err := a.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	if _, err := a.Write([]byte("x")); err == nil {
		t.Fatal("Write after Abort succeeded")
	}
}

func TestMoveAndRemoveSyncTheFolder(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	from := filepath.Join(dir, "j.csv")
	to := filepath.Join(sub, "r.csv")
	if err := os.WriteFile(from, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &durabletest.Recorder{}
	if err := durable.Move(rec, from, to); err != nil {
		t.Fatal(err)
	}
	if err := durable.Remove(rec, to); err != nil {
		t.Fatal(err)
	}
	if err := durable.Remove(rec, to); err != nil {
		t.Fatalf("removing what is gone: %v", err)
	}
	want := []string{
		"rename j.csv -> r.csv",
		"syncdir sub",
		"syncdir " + filepath.Base(dir),
		"remove r.csv",
		"syncdir sub",
		"remove r.csv", // gone: an error, and no folder sync
	}
	checkCalls(t, rec, want)
}

func TestFailWritesToFillsUp(t *testing.T) {
	dir := t.TempDir()
	rec := &durabletest.Recorder{Fail: durabletest.FailWritesTo(".journal.csv", 10)}
	f, err := rec.OpenFile(filepath.Join(dir, "r.csv.journal.csv"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("0123456789")); err != nil {
		t.Fatalf("the first 10 bytes: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync within the allowance: %v", err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, durabletest.ErrNoSpace) {
		t.Fatalf("write past the allowance: %v", err)
	}
	if err := f.Sync(); !errors.Is(err, durabletest.ErrNoSpace) {
		t.Fatalf("sync after a failed write: %v", err)
	}
	// Other files are not affected.
	if err := durable.WriteFile(rec, filepath.Join(dir, "summary.json"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
}

// TestBatchSyncsEachStep: a batch's folder entry is durable before its
// files are written, each file is synced before it is closed, and Seal
// syncs the folder once every file is written.
func TestBatchSyncsEachStep(t *testing.T) {
	dir := t.TempDir()
	rec := &durabletest.Recorder{}
	b, err := durable.NewBatch(rec, filepath.Join(dir, "gen-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if err := b.WriteFile(n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mkdir gen-1",
		"syncdir " + filepath.Base(dir),
		"open a", "write a", "sync a", "close a",
		"open b", "write b", "sync b", "close b",
		"syncdir gen-1",
	}
	checkCalls(t, rec, want)
	if got := read(t, filepath.Join(dir, "gen-1", "b")); got != "b" {
		t.Fatalf("b holds %q", got)
	}
}

// TestMoveIntoSyncsBothFolders: the entries moved are durable in the
// folder they went to, and gone durably from the one they left.
func TestMoveIntoSyncsBothFolders(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"x", "y"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := &durabletest.Recorder{}
	aside := filepath.Join(dir, "aside")
	if err := durable.MoveInto(rec, dir, aside, []string{"x", "y"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mkdir aside",
		"rename x -> x",
		"rename y -> y",
		"syncdir aside",
		"syncdir " + filepath.Base(dir),
	}
	checkCalls(t, rec, want)
	if got := read(t, filepath.Join(aside, "y")); got != "y" {
		t.Fatalf("aside/y holds %q", got)
	}
}
