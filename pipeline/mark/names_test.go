package mark

import (
	"math/bits"
	"testing"
)

// TestBitNamed: the SDKs' four standard marks by name, in any case, and
// nothing else.
func TestBitNamed(t *testing.T) {
	for name, want := range map[string]int{"star": 0, "unread": 1, "fold": 2, "hide": 3, "STAR": 0, "Hide": 3} {
		if got, ok := BitNamed(name); !ok || got != want {
			t.Errorf("BitNamed(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "pin", "stars", " star", "0"} {
		if _, ok := BitNamed(name); ok {
			t.Errorf("BitNamed(%q) is a mark", name)
		}
	}
}

// TestSDKUndefined: bits 4 to 31, no standard mark and no app's own.
func TestSDKUndefined(t *testing.T) {
	if bits.TrailingZeros64(SDKUndefined) != 4 || bits.OnesCount64(SDKUndefined) != 28 {
		t.Errorf("SDKUndefined = %#x, want bits 4..31", SDKUndefined)
	}
}
