package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// stream is standard output or standard error as a command writes to it.
// A run outlives whoever reads its logs: once a write fails (the reader of
// a pipe went away, a terminal was closed), every later write is dropped
// and reported written, so that a log line never stops or fails a run.
// The summary notes what was lost (lost).
type stream struct {
	name string // "stdout" or "stderr"
	w    io.Writer

	mu      sync.Mutex
	err     error     // the first failed write
	at      time.Time // when it failed
	dropped int64     // writes dropped since, that one included
}

func newStream(name string, w io.Writer) *stream { return &stream{name: name, w: w} }

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		n, err := s.w.Write(p)
		if err == nil {
			return n, nil
		}
		s.err, s.at = err, time.Now()
	}
	s.dropped++
	return len(p), nil
}

// lost says what the stream dropped, or "" when every write went through.
func (s *stream) lost() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return ""
	}
	return fmt.Sprintf("%s could not be written from %s on (%v): %d writes to it were dropped", s.name, s.at.UTC().Format(time.RFC3339), s.err, s.dropped)
}

// lostOutput is the note of every stream of a command that dropped writes.
func lostOutput(ws ...io.Writer) []string {
	var notes []string
	for _, w := range ws {
		if s, ok := w.(*stream); ok {
			if note := s.lost(); note != "" {
				notes = append(notes, note)
			}
		}
	}
	return notes
}
