// Package pipeline runs markimport's jobs: Run reads an input, validates
// and plans it (package plan), grouping it within a memory budget (package
// spill), sends the requests through a Sender and writes one report line
// per row as outcomes arrive (package report); Verify plans the same way
// and compares what a MarkReader reads back.
//
// It owns the stages and their concurrency, and nothing else: the domain
// is package mark, the API client (package sink) implements the ports
// Sender and MarkReader, the read-back before the writes (package
// readback) implements Gate, the incremental state (package state)
// implements State, and progress is read from mark.Counters by an
// observer. Every stage takes the run's context and every goroutine
// belongs to an errgroup (but the watcher of Options.Halt, which ends with
// the sending), so an interrupt stops reading, planning and sending within
// moments, and what finished reaches the report.
//
// A run, file by file: the options and ports (runoptions.go); one
// constructor for Run, the verify's planning and the --max-invalid pass
// (run.go); the read stage (readstage.go), with the count of rows using
// bits no client SDK shows, for the run's one warning (undefinedbits.go); grouped input, read whole then
// planned by partition (groupedinput.go, planstage.go), or sorted input
// planned user by user (sortedstream.go); the state's filter
// (statefilter.go); report lines formatted by the planners a partition at
// a time and written in partition order (partlines.go); each user's plan
// reported or handed on (emit.go); the
// offline pass of a dry run or a guarded run (offline.go, maxinvalid.go)
// and the sending pass (sendstage.go), with the gate between the planner
// and the sender (gatestage.go, ahead.go, window.go); why sending stopped
// (stopcause.go); the report behind its lock (lockedreport.go) and the
// summary (runsummary.go). Verify, its reading back (verifyrun.go) and its
// judging of each item against what the server holds (verifycompare.go).
//
// It imports pipeline/mark, pipeline/plan, pipeline/spill, pipeline/report,
// pipeline/rejects (the rows that did not end ok, for --rejects),
// pipeline/timeline (how the run sent, second by second, for the summary
// and the sign-off page) and readers; only cmd imports it, and the packages it runs (sink,
// readback, state, backup) never do: they implement its ports.
package pipeline
