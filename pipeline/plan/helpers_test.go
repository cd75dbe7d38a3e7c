package plan

import (
	"markimport/pipeline/mark"
	"markimport/readers"
)

// ch is the change of a c2c conversation with peer.
func ch(row int64, from string, peer string, set, clr uint64, custom string, opt uint8) mark.Change {
	return mark.Change{Row: row, From: from, Conv: mark.Conversation{Type: mark.C2C, Peer: peer}, Set: set, Clear: clr, Custom: custom, Opt: opt}
}

// rec is row 7 of an input, its fields in the readers order.
func rec(from, typ, to, grp, set, clr, custom, opt string) readers.Record {
	return readers.Record{Row: 7, Fields: [readers.NumFields]string{from, typ, to, grp, set, clr, custom, opt}}
}
