package mark

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Sample selects a stable share of users: a user is in the sample when the
// first 8 bytes of the SHA-256 of its from_account's UTF-8 bytes, read as a
// big-endian number and divided by 2^64, are below the sample's fraction.
// The same account is in or out on every run and machine (in SQL, for
// example, the first 16 hex digits of sha256(from_account) as a number
// below fraction × 2^64), and a larger fraction keeps every user a smaller
// one kept.
type Sample struct {
	// below is fraction × 2^64; the zero Sample keeps every user.
	below    uint64
	all      bool
	fraction float64
}

// ParseSample reads a fraction in (0, 1] ("0.01" is 1% of users; "1"
// keeps everyone). "", 0, negative, above 1, NaN and infinities are errors.
func ParseSample(s string) (Sample, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > 1 {
		return Sample{}, fmt.Errorf("sample %q is not a fraction in (0, 1], for example 0.01 for 1%% of users", s)
	}
	if f == 1 {
		return Sample{all: true, fraction: 1}, nil
	}
	return Sample{below: uint64(math.Ldexp(f, 64)), fraction: f}, nil
}

// Fraction is the share of users the sample keeps: 1 for the zero Sample.
func (s Sample) Fraction() float64 {
	if s.fraction == 0 {
		return 1
	}
	return s.fraction
}

// Whole reports whether the sample keeps every user.
func (s Sample) Whole() bool { return s.Fraction() == 1 }

// Keeps reports whether the user is in the sample; the zero Sample keeps
// everyone.
func (s Sample) Keeps(from string) bool {
	if s.all || s.below == 0 {
		return true
	}
	sum := sha256.Sum256([]byte(from))
	return binary.BigEndian.Uint64(sum[:8]) < s.below
}
