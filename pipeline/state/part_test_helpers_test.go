package state

import (
	"encoding/binary"
	"slices"

	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
)

// Unchanged looks one item up, loading its user's partition.
func (s *Store) Unchanged(from string, it *mark.Item) (bool, error) {
	pt, err := s.Partition(spill.PartitionOf(from))
	if err != nil {
		return false, err
	}
	return pt.Unchanged(from, it), nil
}

func slicesSortEntries(e []entry) { slices.SortFunc(e, entry.less) }

func be(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// has reports whether the part holds the key with the fingerprint fp.
func (pt *Part) has(k1, k2, fp uint64) bool {
	got, ok := pt.lookup(k1, k2)
	return ok && got == fp
}
