package main

import (
	"errors"
	"strings"
	"testing"
)

// TestKeepFirst: every error a finishing step meets is printed at once,
// under the command's name and in its own words; the first decides how
// the command ends, a later one never replaces it, the first met again is
// not printed again, and no error prints nothing.
func TestKeepFirst(t *testing.T) {
	var stderr strings.Builder
	c := &command{name: "run", stderr: &stderr}
	var first error
	c.keepFirst(&first, nil, "%v")
	if first != nil || stderr.Len() != 0 {
		t.Fatalf("no error: kept %v, printed %q", first, stderr.String())
	}
	journal, state := errors.New("finish the journal: disk full"), errors.New("rename: read-only file system")
	c.keepFirst(&first, journal, "%v")
	c.keepFirst(&first, state, "the state was not updated: %v (the next run sends these items again)")
	c.keepFirst(&first, journal, "met again: %v")
	if first != journal {
		t.Errorf("kept %v, want the first error %v", first, journal)
	}
	want := "markimport run: finish the journal: disk full\n" +
		"markimport run: the state was not updated: rename: read-only file system (the next run sends these items again)\n"
	if got := stderr.String(); got != want {
		t.Errorf("printed\n%q\nwant\n%q", got, want)
	}
}
