// Package marktest builds the domain's values for tests of the packages
// that use them, so that each test does not write its own constructor. It
// imports only pipeline/mark.
package marktest

import "markimport/pipeline/mark"

// C2C is the change of input row row: user from's conversation with the
// user peer, bits set and cleared, a custom mark and the operation type.
func C2C(row int64, from, peer string, set, clr uint64, custom string, opt uint8) mark.Change {
	return mark.Change{Row: row, From: from, Conv: mark.Conversation{Type: mark.C2C, Peer: peer}, Set: set, Clear: clr, Custom: custom, Opt: opt}
}
