package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The collector's pace. Go collects once the heap has grown by GOGC percent
// (100) of what the last collection found live. A run whose live heap is
// small but which makes much short-lived garbage then collects every few
// megabytes: a Parquet validate does, because Arrow decodes each row
// group's dictionaries into fresh slices and each text batch is memory of
// its own: a validate of the bench file collects 9 times at Go's default,
// 2 once paced (arrow-go v18.9.0; 11 and 3 with v18.8.0). heapPacer
// lets the heap grow, after each collection, to a quarter of
// --memory-limit, at most to 5 times what is live, before the next one;
// once what is live is half of that (the grouping store fills, a large
// night), the percent is Go's default again. The percent is set after a
// collection, for the ones after it, so a live heap that grows past half
// in one cycle may be collected once more at the percent before. The
// memory limit itself is set beside it (debug.SetMemoryLimit) and bounds
// everything, that cycle included.

const (
	paceMinPercent = 100 // Go's default
	paceMaxPercent = 400
)

// paceGoal is the heap size the pacer lets collections wait for, given the
// memory limit.
func paceGoal(limit int64) int64 { return limit / 4 }

// pacePercent is the GC percent for a live heap of live bytes: the heap
// grows to goal before the next collection, within [paceMinPercent,
// paceMaxPercent].
func pacePercent(live uint64, goal int64) int {
	if live == 0 {
		return paceMaxPercent
	}
	p := (float64(goal)/float64(live) - 1) * 100
	switch {
	case p >= paceMaxPercent:
		return paceMaxPercent
	case p <= paceMinPercent:
		return paceMinPercent
	}
	return int(p)
}

// heapPacer sets the GC percent after every collection from the live heap,
// while at least one run holds it. Runs in one process (the tests') share
// it; the last to let go restores the percent it found.
type heapPacer struct {
	set     func(int) int  // debug.SetGCPercent; tests record instead
	userSet func() bool    // whether GOGC is in the environment
	live    func() uint64  // the live heap after the last collection
	arm     func(gen uint) // calls cycle(gen) after the next collection

	mu      sync.Mutex
	runs    int   // runs holding the pacer
	goal    int64 // of the run that started last
	gen     uint  // the chain of collections being followed; a new one when the first run starts and when the last ends
	prev    int   // the percent before the first run
	percent int   // the percent set last
}

var pacer = newHeapPacer()

func newHeapPacer() *heapPacer {
	p := &heapPacer{set: debug.SetGCPercent, live: liveHeap,
		userSet: func() bool { return os.Getenv("GOGC") != "" }}
	p.arm = p.afterCollection
	return p
}

// pace paces the collector for a run whose memory limit is limit, until
// the function it returns is called. A GOGC in the environment is the
// user's choice: the pacer then leaves the percent alone.
func (p *heapPacer) pace(limit int64) (stop func()) {
	if p.userSet() {
		return func() {}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.goal = paceGoal(limit)
	p.runs++
	if p.runs == 1 {
		p.gen++
		pct := pacePercent(p.live(), p.goal)
		p.prev, p.percent = p.set(pct), pct
		p.arm(p.gen)
	} else {
		p.apply()
	}
	var once sync.Once
	return func() { once.Do(p.release) }
}

// release lets go of the pacer; the last run restores the percent.
func (p *heapPacer) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs--
	if p.runs == 0 {
		p.gen++ // the chain armed for the old one ends at its next cycle
		p.set(p.prev)
	}
}

// cycle runs after a collection of chain gen: it sets the percent for the
// heap found live and follows the next collection, unless the chain has
// ended.
func (p *heapPacer) cycle(gen uint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen {
		return
	}
	p.apply()
	p.arm(gen)
}

// apply sets the percent for the live heap, when it changed.
func (p *heapPacer) apply() {
	if pct := pacePercent(p.live(), p.goal); pct != p.percent {
		p.set(pct)
		p.percent = pct
	}
}

// gcSentinel is an object nothing points to: the first collection that
// starts after it is allocated frees it, and its cleanup runs once that
// collection has swept it. It holds a pointer so that it is not carved from
// a shared tiny block, which can outlive it.
type gcSentinel struct{ _ *byte }

// afterCollection calls cycle(gen) once the next collection has freed a
// sentinel.
func (p *heapPacer) afterCollection(gen uint) {
	runtime.AddCleanup(new(gcSentinel), p.cycle, gen)
}

// liveHeap returns the bytes the last collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return math.MaxUint64 // unknown: Go's default percent
	}
	return s[0].Value.Uint64()
}
