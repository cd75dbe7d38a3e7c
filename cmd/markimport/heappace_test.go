package main

import (
	"runtime"
	"testing"
	"time"
)

func TestPacePercent(t *testing.T) {
	const goal = 256 << 20 // a quarter of the default --memory-limit
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, paceMaxPercent},
		{1 << 20, paceMaxPercent},
		{goal / 5, paceMaxPercent},   // the heap may grow to 5 times what is live
		{goal / 4, 300},              // to the goal
		{goal / 3, 200},              // to the goal
		{goal * 2 / 5, 150},          // to the goal
		{goal / 2, paceMinPercent},   // Go's default from here on
		{goal, paceMinPercent},       // a large night: memory as it was
		{4 * goal, paceMinPercent},   //
		{^uint64(0), paceMinPercent}, // the live heap unknown
	} {
		if got := pacePercent(c.live, goal); got != c.want {
			t.Errorf("pacePercent(%d MiB live, goal %d MiB) = %d, want %d", c.live>>20, goal>>20, got, c.want)
		}
	}
	if got := pacePercent(1<<20, paceGoal(1<<30)); got != paceMaxPercent {
		t.Errorf("1 MiB live with the default limit: %d, want %d", got, paceMaxPercent)
	}
	if got := pacePercent(300<<20, paceGoal(1<<30)); got != paceMinPercent {
		t.Errorf("300 MiB live with the default limit: %d, want %d", got, paceMinPercent)
	}
}

// fakePacer is a heapPacer whose percent, live heap and collections are the
// test's.
type fakePacer struct {
	*heapPacer
	percent int    // as the runtime would have it
	sets    []int  // every percent set, in order
	live    uint64 // what the last collection found live
	armed   []uint // the chains armed, in order
	user    bool   // GOGC in the environment
}

func newFakePacer() *fakePacer {
	f := &fakePacer{percent: 100}
	f.heapPacer = &heapPacer{
		set: func(p int) int {
			old := f.percent
			f.percent = p
			f.sets = append(f.sets, p)
			return old
		},
		userSet: func() bool { return f.user },
		live:    func() uint64 { return f.live },
		arm:     func(gen uint) { f.armed = append(f.armed, gen) },
	}
	return f
}

// collect plays a collection that finds live bytes live: the cycle of the
// chain armed last runs.
func (f *fakePacer) collect(t *testing.T, live uint64) {
	t.Helper()
	f.live = live
	if len(f.armed) == 0 {
		t.Fatal("no chain armed")
	}
	gen := f.armed[len(f.armed)-1]
	f.armed = f.armed[:len(f.armed)-1]
	f.cycle(gen)
}

func TestHeapPacerFollowsTheLiveHeap(t *testing.T) {
	const limit = 1 << 30
	f := newFakePacer()
	f.live = 10 << 20
	stop := f.pace(limit)
	if f.percent != paceMaxPercent || len(f.armed) != 1 {
		t.Fatalf("started at %d%% with %d chains armed, want %d%% and 1", f.percent, len(f.armed), paceMaxPercent)
	}
	f.collect(t, 64<<20) // the heap may grow to 256 MiB: 300%
	if f.percent != 300 {
		t.Errorf("64 MiB live: %d%%, want 300", f.percent)
	}
	f.collect(t, 200<<20) // the grouping store fills
	if f.percent != paceMinPercent {
		t.Errorf("200 MiB live: %d%%, want %d", f.percent, paceMinPercent)
	}
	n := len(f.sets)
	f.collect(t, 300<<20)
	if len(f.sets) != n {
		t.Errorf("an unchanged percent was set again: %v", f.sets)
	}
	f.collect(t, 20<<20)
	if f.percent != paceMaxPercent {
		t.Errorf("20 MiB live again: %d%%, want %d", f.percent, paceMaxPercent)
	}
	if len(f.armed) != 1 {
		t.Fatalf("%d chains armed after a cycle, want 1", len(f.armed))
	}

	stop()
	if f.percent != 100 {
		t.Errorf("after the run the percent is %d, want the 100 it found", f.percent)
	}
	stop() // a second call does nothing
	if f.percent != 100 || f.runs != 0 {
		t.Errorf("a second stop: percent %d, %d runs holding it", f.percent, f.runs)
	}
	// The chain armed before the stop ends at its next cycle.
	n = len(f.sets)
	f.collect(t, 1<<20)
	if len(f.sets) != n || len(f.armed) != 0 || f.percent != 100 {
		t.Errorf("a cycle after the stop set %v and armed %v; percent %d", f.sets[n:], f.armed, f.percent)
	}
}

func TestHeapPacerSharedByRuns(t *testing.T) {
	f := newFakePacer()
	f.percent = 150 // what the process had
	f.live = 1 << 20
	stopA := f.pace(1 << 30)
	stopB := f.pace(1 << 30)
	if len(f.armed) != 1 {
		t.Fatalf("two runs armed %d chains, want 1", len(f.armed))
	}
	stopA()
	if f.percent != paceMaxPercent {
		t.Errorf("with one run still paced, the percent is %d, want %d", f.percent, paceMaxPercent)
	}
	f.collect(t, 1<<20)
	if len(f.armed) != 1 {
		t.Fatalf("the chain ended with a run still paced")
	}
	stopB()
	if f.percent != 150 {
		t.Errorf("after both runs the percent is %d, want the 150 it found", f.percent)
	}

	// A new run follows a new chain; the old one's next cycle does nothing.
	old := f.armed[0]
	stopC := f.pace(1 << 30)
	if len(f.armed) != 2 || f.armed[1] == old {
		t.Fatalf("chains armed %v: want a new one beside %d", f.armed, old)
	}
	n := len(f.sets)
	f.live = 150 << 20
	f.cycle(old)
	if len(f.sets) != n {
		t.Errorf("the old chain's cycle set %v", f.sets[n:])
	}
	stopC()
}

func TestHeapPacerLeavesGOGCAlone(t *testing.T) {
	f := newFakePacer()
	f.user = true
	f.percent = -1 // GOGC=off
	stop := f.pace(1 << 30)
	stop()
	if len(f.sets) != 0 || len(f.armed) != 0 || f.percent != -1 {
		t.Errorf("with GOGC set the pacer set %v and armed %v", f.sets, f.armed)
	}
}

// TestHeapPacerCyclesWithTheRuntime follows the runtime's own collections:
// each one runs the cycle, which arms the next.
func TestHeapPacerCyclesWithTheRuntime(t *testing.T) {
	cycles := make(chan int, 100)
	p := newHeapPacer()
	p.userSet = func() bool { return false }
	p.set = func(pct int) int { return 100 } // the process's percent is left alone
	p.live = func() uint64 { return 1 << 20 }
	p.arm = func(gen uint) {
		p.afterCollection(gen)
		cycles <- 1 // once the next collection will run a cycle
	}
	stop := p.pace(1 << 30)
	defer stop()
	for i := range 4 {
		if i > 0 {
			runtime.GC()
		}
		select {
		case <-cycles:
		case <-time.After(time.Minute):
			t.Fatalf("collection %d armed no cycle", i)
		}
	}
}
