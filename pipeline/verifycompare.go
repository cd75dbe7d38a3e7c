package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"markimport/pipeline/mark"
	"markimport/pipeline/report"
)

// Judging an item against what the server holds, and saying it in the
// verify report.

// compare judges an item against the server's marks (found is false when
// the server has none). It fills Status, Expected, Actual and Message.
func compare(it *mark.Item, got mark.ServerMarks, found bool) report.VerifyLine {
	l := report.VerifyLine{Expected: expectedText(it)}
	if !found {
		l.Status, l.Message = report.VerifyMissing, "the server has no marks for this conversation"
		return l
	}
	l.Actual = "standard=" + bitString(got.Standard) + " custom=" + strconv.Quote(got.Custom)
	var why []string
	if wrong := (it.Set &^ got.Standard) | (it.Clear & got.Standard); wrong != 0 {
		var bits []string
		for _, b := range mark.Bits(wrong) {
			want := 0
			if it.Set&(1<<b) != 0 {
				want = 1
			}
			bits = append(bits, fmt.Sprintf("%d (want %d)", b, want))
		}
		why = append(why, fmt.Sprintf("standard mark differs at bit %s: want %s got %s",
			strings.Join(bits, ", "), bitPattern(it.Set, it.Clear), bitString(got.Standard)))
	}
	if it.Opt&mark.OptCustom != 0 && got.Custom != it.Custom {
		why = append(why, fmt.Sprintf("custom mark is %s, want %s", strconv.Quote(got.Custom), strconv.Quote(it.Custom)))
	}
	l.Status = report.VerifyMatch
	if len(why) > 0 {
		l.Status, l.Message = report.VerifyMismatch, strings.Join(why, "; ")
	}
	return l
}

// expectedText renders what an item asks for: `set=0,33 clear=2 custom="vip"`.
func expectedText(it *mark.Item) string {
	var parts []string
	list := func(mask uint64) string {
		s := make([]string, 0, 8)
		for _, b := range mark.Bits(mask) {
			s = append(s, strconv.Itoa(b))
		}
		return strings.Join(s, ",")
	}
	if it.Set != 0 {
		parts = append(parts, "set="+list(it.Set))
	}
	if it.Clear != 0 {
		parts = append(parts, "clear="+list(it.Clear))
	}
	if it.Opt&mark.OptCustom != 0 {
		parts = append(parts, "custom="+strconv.Quote(it.Custom))
	}
	return strings.Join(parts, " ")
}

// bitString renders a standard mark as 64 binary digits, bit 0 last.
func bitString(v uint64) string { return fmt.Sprintf("%064b", v) }

// bitPattern renders what an item expects of each of the 64 bits, bit 0
// last: '1' set, '0' cleared, '.' not compared.
func bitPattern(set, clear uint64) string {
	var b [64]byte
	for i := range b {
		bit := uint64(1) << (63 - i)
		switch {
		case set&bit != 0:
			b[i] = '1'
		case clear&bit != 0:
			b[i] = '0'
		default:
			b[i] = '.'
		}
	}
	return string(b[:])
}
