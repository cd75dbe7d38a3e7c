// Package pipeline runs markimport's jobs: Run reads an input, validates
// and plans it (package plan), grouping it within a memory budget (package
// spill), sends the requests through a Sender and writes one report line
// per row as outcomes arrive (package report); Verify plans the same way
// and compares what a MarkReader reads back.
//
// It owns the stages and their concurrency, and nothing else: the domain
// is package mark, the API client (package sink) implements the ports
// Sender and MarkReader, and progress is read from mark.Counters by an
// observer. Every stage takes the run's context and every goroutine
// belongs to an errgroup, so an interrupt stops reading, planning and
// sending within moments, and what finished reaches the report.
package pipeline
