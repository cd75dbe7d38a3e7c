package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"markimport/readers"
)

// The server counts calls per second whoever makes them. A run resumed
// right after a killed one (kill -9, then --resume at once) starts with an
// empty pacer and could put its first second of requests into the same
// server second as the old run's last ones. So every run keeps the time
// its latest request left in REPORT.pace, overwritten in place at each
// departure (a write the kernel keeps even when the process is killed),
// and a run that finds a recent one waits until a full window has passed
// since it.
//
// The file is input like any other: it holds exactly 20 decimal digits
// and a line end (nanoseconds since 1970), and a time not later than now.
// Anything else (torn, garbled, or dated in the future, which would hold
// the run until then) is not believed: a warning names the file, and the
// run waits one window from now, as if a request had just left. So the
// wait is never longer than one window, whatever the file holds.

// paceRecordLen is the length of the record: 20 digits and a line end.
const paceRecordLen = 21

// paceFile is the durable record of the last departure.
type paceFile struct {
	f    *os.File
	path string
	// made is true when this run created the file: it removes it again
	// at Close if no request left (a refused run leaves nothing behind).
	made bool
	last time.Time // read when opened; zero when there was none
	// distrust says why the file's time is not believed ("" : it is, or
	// there was none).
	distrust string
	mu       sync.Mutex
	max      int64
	recorded bool // Record wrote a departure
}

// openPace opens (creating) the pace file at path and reads the last
// departure it records, warning through log when it is not believed.
func openPace(path string, log *slog.Logger) (*paceFile, error) {
	made := false
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err == nil {
		made = true
	} else if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("pace file: %w", err)
	}
	p := &paceFile{f: f, path: path, made: made}
	buf := make([]byte, 64)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("pace file: %w", err)
	}
	if n == 0 {
		return p, nil // a new file: no run recorded a departure
	}
	ns, why := parsePace(buf[:n], time.Now())
	if why != "" {
		p.distrust = why
		log.Warn(fmt.Sprintf("the pace file %s is not believed: %s; the first request waits one pacer window instead", path, why))
		// Record must be able to write its times again from the start.
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("pace file: %w", err)
		}
		return p, nil
	}
	p.last = time.Unix(0, ns)
	p.max = ns
	return p, nil
}

// parsePace reads a pace record; why says what is wrong with it.
func parsePace(b []byte, now time.Time) (ns int64, why string) {
	if len(b) != paceRecordLen || b[paceRecordLen-1] != '\n' {
		return 0, fmt.Sprintf("it holds %d bytes (%s), not 20 digits and a line end", len(b), readers.Quote(string(b)))
	}
	for _, c := range b[:paceRecordLen-1] {
		if c < '0' || c > '9' {
			return 0, fmt.Sprintf("%s is not 20 decimal digits", readers.Quote(string(b[:paceRecordLen-1])))
		}
	}
	ns, err := strconv.ParseInt(string(b[:paceRecordLen-1]), 10, 64)
	if err != nil || ns <= 0 {
		return 0, fmt.Sprintf("%s is not a time", readers.Quote(string(b[:paceRecordLen-1])))
	}
	if t := time.Unix(0, ns); t.After(now) {
		return 0, fmt.Sprintf("it is dated %s, in the future", t.UTC().Format(time.RFC3339Nano))
	}
	return ns, ""
}

// NotBefore is when the first request of this run may leave: a window
// after the last departure recorded, or at once when none was; one window
// from now when the file was not believed. Never more than a window away.
func (p *paceFile) NotBefore(window time.Duration) time.Time {
	switch {
	case p.distrust != "":
		return time.Now().Add(window)
	case p.last.IsZero():
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
	p.recorded = true
	p.f.WriteAt([]byte(fmt.Sprintf("%020d\n", ns)), 0)
}

// Close closes the file, and removes it when this run made it and no
// request left: there is no departure to keep.
func (p *paceFile) Close() error {
	err := p.f.Close()
	p.mu.Lock()
	drop := p.made && !p.recorded
	p.mu.Unlock()
	if drop {
		if rerr := os.Remove(p.path); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
	}
	return err
}

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
