package readers

import (
	"slices"
	"strings"
)

// sortNatural orders parts by name, folder by folder, numbers in names by
// value: data_2 before data_10, part-00009 before part-00010.
func sortNatural(parts []Part) {
	slices.SortStableFunc(parts, func(a, b Part) int { return naturalPath(a.Name, b.Name) })
}

// naturalPath compares two slash-separated paths folder by folder.
func naturalPath(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := range min(len(as), len(bs)) {
		if c := naturalCompare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return len(as) - len(bs)
}

// naturalCompare compares two names with their runs of digits compared as
// numbers (leading zeros aside; fewer zeros first when the values tie) and
// everything else byte by byte.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	tie := 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si := i
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			sj := j
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			da, db := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(da) != len(db) {
				return len(da) - len(db)
			}
			if c := strings.Compare(da, db); c != 0 {
				return c
			}
			if tie == 0 {
				tie = (i - si) - (j - sj)
			}
			continue
		}
		if ca != cb {
			return int(ca) - int(cb)
		}
		i++
		j++
	}
	if c := (len(a) - i) - (len(b) - j); c != 0 {
		return c
	}
	return tie
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
