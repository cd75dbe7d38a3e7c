package mark

// RowSet is a set of row numbers, as a bitset: 100 million rows take 12.5 MB.
type RowSet struct {
	words []uint64
	n     int64
}

// Add puts row in the set.
func (s *RowSet) Add(row int64) {
	if row < 0 {
		return
	}
	w := int(row >> 6)
	if w >= len(s.words) {
		s.words = append(s.words, make([]uint64, w+1-len(s.words)+len(s.words)/4)...)
	}
	if s.words[w]&(1<<(row&63)) == 0 {
		s.words[w] |= 1 << (row & 63)
		s.n++
	}
}

// Has reports whether row is in the set.
func (s *RowSet) Has(row int64) bool {
	if s == nil || row < 0 {
		return false
	}
	w := int(row >> 6)
	return w < len(s.words) && s.words[w]&(1<<(row&63)) != 0
}

// Len is the number of rows in the set.
func (s *RowSet) Len() int64 {
	if s == nil {
		return 0
	}
	return s.n
}

// Rows is a set of row numbers: the rows a resumed run leaves out. RowSet
// is one; a multi-file input's report keeps one per file.
type Rows interface {
	Has(row int64) bool
	Len() int64
}
