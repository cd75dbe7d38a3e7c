package mark

import "sync"

// Tally counts by key (a status, a code), for counts that a progress
// observer reads while the run bumps them. The zero value is empty and
// ready; it is safe for concurrent use.
type Tally struct {
	mu sync.Mutex
	n  map[string]int64
}

// Add adds d to key's count.
func (t *Tally) Add(key string, d int64) {
	t.mu.Lock()
	if t.n == nil {
		t.n = map[string]int64{}
	}
	t.n[key] += d
	t.mu.Unlock()
}

// Get is key's count.
func (t *Tally) Get(key string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[key]
}

// Total is the sum of every key's count.
func (t *Tally) Total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sum int64
	for _, v := range t.n {
		sum += v
	}
	return sum
}

// Snapshot is a copy of the counts, keys with none left out (nil when
// there are none).
func (t *Tally) Snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.n) == 0 {
		return nil
	}
	out := make(map[string]int64, len(t.n))
	for k, v := range t.n {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
