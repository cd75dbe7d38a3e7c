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
// The checks, each with what a different finding means (the command prints
// check / expected / found / consequence, and exits 1 on any of them but
// latency):
//
//   - bit order of StandardMark: one end is bit 0, and which one is
//     recorded; otherwise nothing can be read back.
//   - bit 0, bit 63: each reads back alone, padded to 64 characters or not
//     (recorded).
//   - no standard marks: read as "", zeros or absent.
//   - one item sets and clears one bit: the service refuses it or one side
//     wins (markimport never sends one); a failure if other bits change or
//     the answer depends on the marks held.
//   - OptType 2 with CustomMark "": clears the custom mark; otherwise rows
//     that do so, and rollbacks, would leave the old mark.
//   - 256-byte ASCII and UTF-8 custom marks round trip.
//   - From_Account never imported: refused per item or accepted; a failure
//     if fatal (one such row would stop a run).
//   - latency: the --concurrency that reaches the full rate.
//
// The first read also proves the endpoint reachable and the credentials,
// admin and region right (exit 3 otherwise).
//
// Preflight talks to the service through Service (the command line wires the
// API client to it) and imports only pipeline/mark and pipeline/durable.
package preflight
