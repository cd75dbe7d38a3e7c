package main

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
)

// parseSize reads a size: a byte count or a number with a unit (KiB, MiB,
// GiB, TiB, or KB, MB, GB, TB in powers of ten).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			mult, t = u.mult, strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !(f > 0) { // NaN too
		return 0, fmt.Errorf("%q is not a size (e.g. 256MiB, 2GiB or a byte count)", s)
	}
	if f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	n := int64(f * float64(mult))
	if n < 16<<20 {
		return 0, fmt.Errorf("%q is too small: at least 16MiB", s)
	}
	return n, nil
}

// storeBudget is the share of the memory limit the grouping store may hold
// before it spills. The rest is for the Go runtime's collection headroom,
// the reader's buffers and the requests being planned and sent.
func storeBudget(limit int64) int64 { return limit * 2 / 5 }

// startProfiles starts --cpuprofile, when given; stop writes
// --memprofile, when given, then ends the CPU profile.
func (c *command) startProfiles() (stop func(), err error) {
	stopCPU := func() {}
	if c.cpuProfile != "" {
		if stopCPU, err = startCPUProfile(c.cpuProfile); err != nil {
			return nil, err
		}
	}
	return func() {
		if c.memProfile != "" {
			if err := writeHeapProfile(c.memProfile); err != nil {
				c.tell(slog.LevelError, "--memprofile: "+err.Error(), "")
			}
		}
		stopCPU()
	}, nil
}

// startCPUProfile writes a CPU profile to path until the function it
// returns is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes a heap profile to path. The caller prints an
// error, never returns it: a profile never changes how a run ends.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}
