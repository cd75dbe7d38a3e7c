// Package plan is the pure heart of markimport: Validate turns a record
// into a Change or says why it is invalid (SPEC §2), and PlanUser plans one
// user's changes into the fewest requests the API allows: rows of one
// conversation merged into one item, conversations beyond the per-user
// limit rejected, items packed 100 to a request (SPEC §3). No I/O, no
// goroutines, no clocks: every rule is table-tested.
package plan
