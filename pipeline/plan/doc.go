// Package plan is the pure heart of markimport: Validate turns a record
// into a Change or says why it is invalid (a missing or malformed column,
// a bit out of range), and PlanUser plans one user's changes into the
// fewest requests the API allows: rows of one conversation merged into one
// item, conversations beyond the per-user limit rejected, items packed 100
// to a request. No I/O, no goroutines, no clocks: every rule is
// table-tested.
//
// It imports pipeline/mark (the domain) and readers (the record and its
// columns), and nothing else of the project.
package plan
