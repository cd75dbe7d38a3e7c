package pipeline

import (
	"sync"
	"time"
)

// Window is the time from a user's read-back to the answer of its last
// write: while it lasts, a change someone else makes to the user's
// conversations is not in what was read (insert mode) or backed up. It is
// measured from the read's answer (and, with --backup, the rows' fsync) to
// the last write's answer, which comes after the server applied it.
type Window struct {
	Users int64   `json:"users"`
	P50   float64 `json:"p50_seconds"`
	P99   float64 `json:"p99_seconds"`
	Max   float64 `json:"max_seconds"`
}

// windowHistogram counts durations in buckets of 1 ms below 1 s, 10 ms
// below 10 s and 1 s above (up to an hour): a few kilobytes for any
// number of users, percentiles within a bucket.
type windowHistogram struct {
	mu     sync.Mutex
	counts [1000 + 900 + 3600]int64
	n      int64
	max    time.Duration
}

func windowBucket(d time.Duration) int {
	ms := d.Milliseconds()
	switch {
	case ms < 1000:
		return int(max(ms, 0))
	case ms < 10000:
		return 1000 + int(ms-1000)/10
	default:
		return min(1900+int(ms-10000)/1000, 1000+900+3600-1)
	}
}

// bucketEnd is the upper end of bucket i.
func bucketEnd(i int) time.Duration {
	switch {
	case i < 1000:
		return time.Duration(i+1) * time.Millisecond
	case i < 1900:
		return time.Second + time.Duration(i-1000+1)*10*time.Millisecond
	default:
		return 10*time.Second + time.Duration(i-1900+1)*time.Second
	}
}

func (h *windowHistogram) add(d time.Duration) {
	h.mu.Lock()
	h.counts[windowBucket(d)]++
	h.n++
	h.max = max(h.max, d)
	h.mu.Unlock()
}

// window summarises the histogram; a percentile is its bucket's upper
// end, never above the largest duration.
func (h *windowHistogram) window() *Window {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return nil
	}
	pct := func(p float64) float64 {
		want := int64(p*float64(h.n)+0.999999) - 1
		var seen int64
		for i, c := range h.counts {
			if seen += c; seen > want {
				return min(bucketEnd(i), h.max).Seconds()
			}
		}
		return h.max.Seconds()
	}
	return &Window{Users: h.n, P50: pct(0.50), P99: pct(0.99), Max: h.max.Seconds()}
}
