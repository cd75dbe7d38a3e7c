package pipeline

import (
	"testing"
	"time"
)

func TestWindowPercentiles(t *testing.T) {
	var h windowHistogram
	if h.window() != nil {
		t.Fatal("an empty histogram has a window")
	}
	// 98 users at 120 ms, one at 2.5 s, one at 42 s.
	for range 98 {
		h.add(120*time.Millisecond + 300*time.Microsecond)
	}
	h.add(2500 * time.Millisecond)
	h.add(42 * time.Second)
	w := h.window()
	if w.Users != 100 || w.P50 != 0.121 || w.P99 != 2.51 || w.Max != 42 {
		t.Errorf("window %+v, want 100 users, p50 0.121 s, p99 2.51 s, max 42 s", w)
	}
	h.add(3 * time.Hour) // beyond the last bucket: counted in it
	if w := h.window(); w.Max != 3*3600 || w.Users != 101 {
		t.Errorf("window %+v", w)
	}
}
