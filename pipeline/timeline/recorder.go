package timeline

import (
	"math"
	"sync"
	"time"
)

// maxPoints is the most intervals a series holds.
const maxPoints = 600

// Latency bins: bin 0 counts answers under binBase; bin i (1 ≤ i < bins)
// those in [binBase·growth^(i-1), binBase·growth^i); the last bin takes
// everything slower.
const (
	bins    = 128
	binBase = time.Millisecond
	growth  = 1.1
)

// interval is what one interval counted.
type interval struct {
	requests, itemsOK, itemsFailed, throttled int64
	latency                                   [bins]uint32
}

// add merges o into v.
func (v *interval) add(o *interval) {
	v.requests += o.requests
	v.itemsOK += o.itemsOK
	v.itemsFailed += o.itemsFailed
	v.throttled += o.throttled
	for i := range v.latency {
		v.latency[i] += o.latency[i]
	}
}

// Recorder counts a run's sending per interval. Its methods are safe for
// concurrent use; a nil *Recorder records nothing and holds no series.
type Recorder struct {
	mu        sync.Mutex
	start     time.Time
	width     time.Duration // of one interval: a second, doubled by each merge
	intervals []interval
}

// New starts a recorder whose first interval begins at start.
func New(start time.Time) *Recorder {
	return &Recorder{start: start, width: time.Second}
}

// Exchange records a request that left at sent and was answered (or given
// up on) took later; throttled says the answer was a throttle.
func (r *Recorder) Exchange(sent time.Time, took time.Duration, throttled bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.at(sent)
	v.requests++
	if throttled {
		v.throttled++
	}
	v.latency[bin(took)]++
}

// Items records outcomes that arrived at t: ok items the API confirmed,
// failed ones it refused or that failed for good.
func (r *Recorder) Items(t time.Time, ok, failed int) {
	if r == nil || ok+failed == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.at(t)
	v.itemsOK += int64(ok)
	v.itemsFailed += int64(failed)
}

// at is the interval t falls in, the series grown (and merged, beyond
// maxPoints) to hold it. A time before the start counts in the first.
func (r *Recorder) at(t time.Time) *interval {
	i := int(max(t.Sub(r.start), 0) / r.width)
	for i >= maxPoints {
		r.merge()
		i = int(max(t.Sub(r.start), 0) / r.width)
	}
	for len(r.intervals) <= i {
		r.intervals = append(r.intervals, interval{})
	}
	return &r.intervals[i]
}

// merge doubles the interval: neighbours two by two become one.
func (r *Recorder) merge() {
	n := (len(r.intervals) + 1) / 2
	for i := range n {
		r.intervals[i] = r.intervals[2*i]
		if 2*i+1 < len(r.intervals) {
			r.intervals[i].add(&r.intervals[2*i+1])
		}
	}
	clear(r.intervals[n:])
	r.intervals = r.intervals[:n]
	r.width *= 2
}

// bin is the latency bin of d.
func bin(d time.Duration) int {
	if d < binBase {
		return 0
	}
	i := 1 + int(math.Log(float64(d)/float64(binBase))/math.Log(growth))
	return min(i, bins-1)
}

// binMiddle is the latency a bin stands for, in milliseconds: the
// geometric middle of its bounds (bin 0: half a millisecond).
func binMiddle(i int) float64 {
	if i == 0 {
		return 0.5
	}
	lo := float64(binBase) * math.Pow(growth, float64(i-1))
	return lo * math.Sqrt(growth) / float64(time.Millisecond)
}

// percentile is the latency, in milliseconds, below which a share q of
// the interval's answers fall (0 when it had none).
func (v *interval) percentile(q float64) float64 {
	var n uint64
	for _, c := range v.latency {
		n += uint64(c)
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, c := range v.latency {
		seen += uint64(c)
		if seen >= max(rank, 1) {
			return math.Round(binMiddle(i)*10) / 10
		}
	}
	return math.Round(binMiddle(bins-1)*10) / 10
}

// Series is what the recorder holds so far (nil when it recorded nothing,
// or is nil).
func (r *Recorder) Series() *Series {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.intervals) == 0 {
		return nil
	}
	s := &Series{IntervalSeconds: int64(r.width / time.Second), Points: make([]Point, len(r.intervals))}
	for i := range r.intervals {
		v := &r.intervals[i]
		s.Points[i] = Point{
			AtSeconds: int64(i) * s.IntervalSeconds, Requests: v.requests, ItemsOK: v.itemsOK, ItemsFailed: v.itemsFailed,
			Throttled: v.throttled, LatencyP50: v.percentile(0.5), LatencyP99: v.percentile(0.99),
		}
	}
	return s
}
