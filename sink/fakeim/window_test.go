package fakeim

import (
	"testing"
	"time"
)

// TestWindowOutOfOrder: arrivals judged in another order than they came
// are judged as if in order: a late-judged request is refused when any
// second that holds it, the later requests' included, would hold more than
// the limit, and accepted when none would.
func TestWindowOutOfOrder(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name  string
		order []int // arrival times in ms, in the order they are judged
		want  []bool
		peak  int
	}{
		{"in order", []int{0, 100, 200, 300, 1000}, []bool{true, true, true, false, true}, 4},
		{"a late one would make a later second hold four", []int{500, 600, 700, 400}, []bool{true, true, true, false}, 4},
		{"a late one more than a second before the others", []int{1500, 1600, 1700, 400}, []bool{true, true, true, true}, 3},
		{"a late one at the edge of their second", []int{1300, 1350, 1400, 400}, []bool{true, true, true, true}, 3},
		{"a late one within it", []int{1300, 1350, 1400, 401}, []bool{true, true, true, false}, 4},
		{"refused ones do not count", []int{0, 10, 20, 30, 40, 1005}, []bool{true, true, true, false, false, true}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(3)
			for i, ms := range tt.order {
				if got := w.arrive(at(ms)); got != tt.want[i] {
					t.Fatalf("arrival %d at %d ms: accepted %v, want %v", i, ms, got, tt.want[i])
				}
			}
			if got := w.peak(); got != tt.peak {
				t.Errorf("peak %d, want %d", got, tt.peak)
			}
		})
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, tt := range []struct {
		ts   []time.Time
		want int
	}{
		{nil, 0},
		{at(0), 1},
		{at(0, 999), 2},
		{at(0, 1000), 1},
		{at(0, 500, 999, 1000, 1499), 4},
	} {
		if got := MaxInWindow(tt.ts, time.Second); got != tt.want {
			t.Errorf("MaxInWindow(%v) = %d, want %d", tt.ts, got, tt.want)
		}
	}
}
