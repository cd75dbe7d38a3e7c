package mark

import (
	"sync"
	"testing"
	"time"
)

// TestPace: the pace is measured between the first and the latest request
// that left, whatever order the senders record them in; with fewer than
// two requests there is none.
func TestPace(t *testing.T) {
	var c Counters
	if c.Pace() != 0 {
		t.Errorf("pace %v before any request", c.Pace())
	}
	t0 := time.Unix(1000, 0)
	c.HTTPRequests.Add(1)
	c.MarkSend(t0)
	if c.Pace() != 0 {
		t.Errorf("pace %v after one request", c.Pace())
	}
	// 201 requests over 1 s, recorded out of order from several goroutines.
	var wg sync.WaitGroup
	for k := 200; k >= 1; k-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.HTTPRequests.Add(1)
			c.MarkSend(t0.Add(time.Duration(k) * 5 * time.Millisecond))
		}()
	}
	wg.Wait()
	if c.FirstSend.Load() != t0.UnixNano() || c.LastSend.Load() != t0.Add(time.Second).UnixNano() {
		t.Errorf("first %d, last %d: want the earliest and the latest", c.FirstSend.Load(), c.LastSend.Load())
	}
	if p := c.Pace(); p != 200 {
		t.Errorf("pace %v, want 200 requests/s", p)
	}
}
