package mark

import "testing"

// TestRowSet: rows are counted once, a negative row is never held, a nil
// set is empty, and the set grows to any row.
func TestRowSet(t *testing.T) {
	var nilSet *RowSet
	if nilSet.Has(1) || nilSet.Len() != 0 {
		t.Errorf("a nil set holds something")
	}
	var s RowSet
	for _, row := range []int64{0, 63, 64, 1 << 20, 63, -1} {
		s.Add(row)
	}
	if s.Len() != 4 {
		t.Errorf("Len() = %d, want 4 (a row added twice counts once, a negative one not at all)", s.Len())
	}
	for _, row := range []int64{0, 63, 64, 1 << 20} {
		if !s.Has(row) {
			t.Errorf("row %d missing", row)
		}
	}
	for _, row := range []int64{-1, 1, 62, 65, 1<<20 + 1, 1 << 40} {
		if s.Has(row) {
			t.Errorf("row %d held, never added", row)
		}
	}
	var _ Rows = &s // a RowSet is the Rows a resumed run leaves out
}
