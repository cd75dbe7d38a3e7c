// Package mark is markimport's domain: what a mark change is (Change), the
// unit the API takes (Item, Request), what became of it (Outcome,
// FatalError), the marks the server holds (ServerMarks), a gate's decision
// on an item before it is sent (Verdict, Hold) and a failed read of marks
// (ReadError), sets of rows (RowSet, Rows), the progress counters
// (Counters), and the API's limits and codes.
//
// It is a leaf: it imports nothing of the project and no Arrow, only the
// standard library, so the API client (sink), the planner and the stages
// share its types without depending on each other.
package mark
