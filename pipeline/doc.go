// Package pipeline is the heart of markimport. It validates records into
// changes, plans them into the fewest requests the API allows (merging rows
// of one conversation, applying the per-user conversation limit, packing 100
// items per request), hands the requests to a Sender, and writes one report
// line per input row as outcomes arrive.
//
// The planner (Validate, PlanUser, Plan) is pure: no I/O, no goroutines, no
// clocks, so it can be table-tested. Run is the orchestration around it:
// reading, grouping within a memory budget (spilling to disk beyond it),
// reporting, resume, progress counters and the summary. Verify plans a file
// the same way and compares what a MarkReader reads back from the server.
package pipeline
