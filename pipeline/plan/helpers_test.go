package plan

import (
	"markimport/pipeline/mark/marktest"
	"markimport/readers"
)

// ch is a c2c change (see marktest.C2C).
var ch = marktest.C2C

// rec is row 7 of an input, its fields in the readers order.
func rec(from, typ, to, grp, set, clr, custom, opt string) readers.Record {
	return readers.Record{Row: 7, Fields: [readers.NumFields]string{from, typ, to, grp, set, clr, custom, opt}}
}
