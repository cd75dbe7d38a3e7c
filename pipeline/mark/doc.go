// Package mark is markimport's domain: what a mark change is (Change), the
// unit the API takes (Item, Request), what became of it (Outcome), the
// marks the server holds (ServerMarks), and the API's limits and codes. It
// is a leaf: it imports nothing of the project and no Arrow, so the API
// client (sink) and the planner share its types without depending on each
// other.
package mark
