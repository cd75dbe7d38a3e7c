package main

import (
	"slices"
	"testing"
)

// TestSessionClosesLastOpenedFirst: what a run opened is released in the
// reverse order, so that nothing is closed under something opened on it
// (the emergency flush of the report is unset before the state, the pace
// file and the emulator go).
func TestSessionClosesLastOpenedFirst(t *testing.T) {
	var closed []string
	s := &session{}
	for _, name := range []string{"emulator", "pace", "state", "flush"} {
		s.onClose(func() { closed = append(closed, name) })
	}
	s.close()
	if want := []string{"flush", "state", "pace", "emulator"}; !slices.Equal(closed, want) {
		t.Errorf("closed %v, want %v", closed, want)
	}
}
