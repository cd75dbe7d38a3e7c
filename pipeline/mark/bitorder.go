package mark

import "fmt"

// BitOrder says which end of the read APIs' StandardMark string is bit 0
// (the bit SetMark and ClearMark call 0). The documentation only says the
// field is a bit string and shows examples ("11111110", "111001"), so the
// order of a service is found by writing one bit and reading it back
// (markimport preflight) and carried in its service profile.
type BitOrder uint8

const (
	// BitOrderUnknown is the zero value: no order established. Reading a
	// StandardMark with it is an error.
	BitOrderUnknown BitOrder = iota
	// BitZeroLast is binary notation: the last character is bit 0, "10"
	// is bit 1. Leading zeros may be dropped.
	BitZeroLast
	// BitZeroFirst puts bit 0 first: "01" is bit 1. Trailing zeros may be
	// dropped.
	BitZeroFirst
)

// String names the order as profiles and messages spell it.
func (o BitOrder) String() string {
	switch o {
	case BitZeroLast:
		return "bit-0-last"
	case BitZeroFirst:
		return "bit-0-first"
	}
	return "unknown"
}

// ParseBitOrder reads an order written by String; "unknown" and anything
// else are errors.
func ParseBitOrder(s string) (BitOrder, error) {
	switch s {
	case "bit-0-last":
		return BitZeroLast, nil
	case "bit-0-first":
		return BitZeroFirst, nil
	}
	return BitOrderUnknown, fmt.Errorf("bit order %q is not bit-0-last or bit-0-first", s)
}

// ParseStandardMark reads a StandardMark string in the given order: at most
// 64 characters '0' and '1' ("" is no marks), the zeros beyond the highest
// set bit optional. Any other character, more than 64 of them, or an
// unknown order is an error.
func ParseStandardMark(s string, o BitOrder) (uint64, error) {
	if o != BitZeroLast && o != BitZeroFirst {
		return 0, fmt.Errorf("StandardMark %q: the service's bit order is not known", s)
	}
	if len(s) > 64 {
		return 0, fmt.Errorf("StandardMark %q: %d characters, more than 64 bits", s, len(s))
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		bit := uint(i) // BitZeroFirst: character i is bit i
		if o == BitZeroLast {
			bit = uint(len(s) - 1 - i)
		}
		switch s[i] {
		case '0':
		case '1':
			v |= 1 << bit
		default:
			return 0, fmt.Errorf("StandardMark %q: character %d is not 0 or 1", s, i+1)
		}
	}
	return v, nil
}
