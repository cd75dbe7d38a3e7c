package mark_test

import (
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

func TestParseStandardMark(t *testing.T) {
	z := func(n int) string { return strings.Repeat("0", n) }
	tests := []struct {
		s     string
		order mark.BitOrder
		want  uint64
	}{
		{"", mark.BitZeroLast, 0},
		{"", mark.BitZeroFirst, 0},
		{z(64), mark.BitZeroFirst, 0},
		{"10", mark.BitZeroLast, 2},
		{"01", mark.BitZeroFirst, 2},
		{"10", mark.BitZeroFirst, 1},
		{z(62) + "10", mark.BitZeroLast, 2},
		{"01" + z(62), mark.BitZeroFirst, 2},
		{"1" + z(63), mark.BitZeroLast, 1 << 63},
		{"1" + z(63), mark.BitZeroFirst, 1},
		{z(63) + "1", mark.BitZeroFirst, 1 << 63},
		{"111001", mark.BitZeroLast, 0b111001},
		{"111001", mark.BitZeroFirst, 0b100111},
	}
	for _, tt := range tests {
		got, err := mark.ParseStandardMark(tt.s, tt.order)
		if err != nil || got != tt.want {
			t.Errorf("ParseStandardMark(%q, %v) = %#x, %v; want %#x", tt.s, tt.order, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		s     string
		order mark.BitOrder
	}{
		{"10", mark.BitOrderUnknown},
		{"12", mark.BitZeroLast},
		{" 1", mark.BitZeroFirst},
		{z(65), mark.BitZeroLast},
	} {
		if v, err := mark.ParseStandardMark(bad.s, bad.order); err == nil {
			t.Errorf("ParseStandardMark(%q, %v) = %#x, want an error", bad.s, bad.order, v)
		}
	}
}

func TestBitOrderNames(t *testing.T) {
	for _, o := range []mark.BitOrder{mark.BitZeroLast, mark.BitZeroFirst} {
		back, err := mark.ParseBitOrder(o.String())
		if err != nil || back != o {
			t.Errorf("ParseBitOrder(%q) = %v, %v", o.String(), back, err)
		}
	}
	for _, bad := range []string{"", "unknown", "Bit-0-last", "last"} {
		if _, err := mark.ParseBitOrder(bad); err == nil {
			t.Errorf("ParseBitOrder(%q) accepted", bad)
		}
	}
}
