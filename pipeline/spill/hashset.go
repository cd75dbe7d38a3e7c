package spill

// HashSet is a set of 64-bit hashes with open addressing: 16 bytes per
// member at most, a tenth of a map's cost, for tens of millions of users.
// It is not safe for concurrent use while it is being added to.
type HashSet struct {
	slots []uint64 // 0 is empty; a hash of 0 is stored as 1
	n     int
}

// NewHashSet returns an empty set.
func NewHashSet() *HashSet { return &HashSet{slots: make([]uint64, 1024)} }

// Add puts h in the set.
func (s *HashSet) Add(h uint64) {
	if h == 0 {
		h = 1
	}
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots, s.n = make([]uint64, 2*len(old)), 0
		for _, x := range old {
			if x != 0 {
				s.Add(x)
			}
		}
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			s.n++
			return
		}
	}
}

// Has reports whether h is in the set.
func (s *HashSet) Has(h uint64) bool {
	if h == 0 {
		h = 1
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}
