package state

import (
	"encoding/binary"
	"slices"
)

func slicesSortEntries(e []entry) { slices.SortFunc(e, entry.less) }

func be(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// has reports whether the part holds the key with the fingerprint fp.
func (pt *Part) has(k1, k2, fp uint64) bool {
	got, ok := pt.lookup(k1, k2)
	return ok && got == fp
}
