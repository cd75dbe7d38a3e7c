// Package preflight proves, on one conversation the user allows it to
// change (the scratch conversation), that the service behaves as markimport
// assumes where its documentation is silent, and records what it found in a
// service profile that later runs read.
//
// The documentation says StandardMark is "a bit string" and shows examples
// ("011111110", "111001", "11111110"), but not which end is bit 0, whether
// zeros are padded, what an item that sets and clears one bit does, or what
// happens to marks of an account that was not imported yet. Preflight
// writes single bits and reads them back to find out, and restores the
// scratch conversation's marks exactly at the end, also when a step fails or
// the context is cancelled; a restore that a read-back cannot confirm is
// reported with the marks to put back by hand.
//
// Preflight talks to the service through Service (the command line wires the
// API client to it) and imports only pipeline/mark and pipeline/durable.
package preflight
