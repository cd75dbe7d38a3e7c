package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The server counts calls per second whoever makes them. A run resumed
// right after a killed one (kill -9, then --resume at once) starts with an
// empty pacer and could put its first second of requests into the same
// server second as the old run's last ones. So every run keeps the time
// its latest request left in REPORT.pace, overwritten in place at each
// departure (a write the kernel keeps even when the process is killed),
// and a run that finds a recent one waits until a full window has passed
// since it.

// paceFile is the durable record of the last departure.
type paceFile struct {
	f    *os.File
	last time.Time // read when opened
	mu   sync.Mutex
	max  int64
}

func openPace(path string) (*paceFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pace file: %w", err)
	}
	p := &paceFile{f: f}
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	if ns, err := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64); err == nil && ns > 0 {
		p.last = time.Unix(0, ns)
		p.max = ns
	}
	return p, nil
}

// NotBefore is when the first request of this run may leave: a window
// after the last departure recorded, or at once.
func (p *paceFile) NotBefore(window time.Duration) time.Time {
	if p.last.IsZero() {
		return time.Time{}
	}
	return p.last.Add(window)
}

// Record keeps t as the last departure, if it is the latest.
func (p *paceFile) Record(t time.Time) {
	ns := t.UnixNano()
	p.mu.Lock()
	defer p.mu.Unlock()
	if ns <= p.max {
		return
	}
	p.max = ns
	p.f.WriteAt([]byte(fmt.Sprintf("%020d\n", ns)), 0)
}

func (p *paceFile) Close() error { return p.f.Close() }

// chainDepartures calls each non-nil recorder.
func chainDepartures(fs ...func(time.Time)) func(time.Time) {
	var live []func(time.Time)
	for _, f := range fs {
		if f != nil {
			live = append(live, f)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return func(t time.Time) {
		for _, f := range live {
			f(t)
		}
	}
}
