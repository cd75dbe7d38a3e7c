package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A process that opened the lock file just before its holder released it
// (removing the file) must not take the lock of a file no longer at the
// path: a third process creating the path anew would take it too, and two
// runs would write one report.
func TestLockOfARemovedFileIsNotHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.csv.lock")
	release, err := lockFile(path, "the report", "--report")
	if err != nil {
		t.Fatal(err)
	}
	late, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	release() // removes the file, then unlocks it
	third, err := lockFile(path, "the report", "--report")
	if err != nil {
		t.Fatal(err)
	}
	defer third()
	_, locked, err := lockOpened(late, path, "the report", "--report")
	if locked {
		t.Fatal("the lock of a removed file was taken while another process holds the file at the path")
	}
	if err != nil {
		t.Fatalf("a lock file replaced meanwhile is tried again, not an error: %v", err)
	}
}
