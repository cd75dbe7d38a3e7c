package readers

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Any input, hostile ones included, is read in bounded memory: a record
// keeps at most keepBytes of each known column's value and keepListElements
// of a Parquet list, however long the value in the file. A value cut that way
// makes its record invalid (Problem names the column, the real size and a
// short escaped prefix); the record still counts as one row and reading
// goes on with the next one.
const (
	// keepBytes is the most bytes of a known column's value a record keeps:
	// well above every valid value (32-byte accounts, 48-byte group ids,
	// 256-byte custom marks, a list of the 64 bits written out), so a value
	// that reaches it is invalid whatever it holds.
	keepBytes = 1024
	// keepOtherBytes is the most bytes a CSV record keeps of a column
	// markimport does not read (it only goes back into a rejects file).
	keepOtherBytes = 64 << 10
	// keepListElements is the most elements of a Parquet list a record
	// keeps: a list of bits has at most 64 distinct ones.
	keepListElements = 128
	// extraFields is how many fields beyond the header's count a CSV
	// record may have before the rest is counted and not kept.
	extraFields = 64
	// excerptBytes is how much of a value messages and reports show when
	// the value is too long or not printable.
	excerptBytes = 40
)

// TooLong is the Problem of a record whose value of a column was size bytes
// and was cut to prefix.
func TooLong(size int64, prefix string) string {
	return fmt.Sprintf("%d bytes, longer than any valid value (starts %s)", size, Quote(prefix))
}

// tooManyElements is the Problem of a record whose list had n elements.
func tooManyElements(n int64) string {
	return fmt.Sprintf("a list of %d elements; a list of mark bits has at most 64", n)
}

// Quote returns a short, escaped, double-quoted excerpt of s for messages:
// control characters, invalid UTF-8 and other unprintable runes escaped as
// Go does, at most 40 bytes of s (excerptBytes), and "…" after the quote when s
// was cut.
func Quote(s string) string {
	if len(s) <= excerptBytes {
		return strconv.Quote(s)
	}
	// Cut at a rune boundary: whole runes (or single invalid bytes) only.
	end := 0
	for end < len(s) {
		_, size := utf8.DecodeRuneInString(s[end:])
		if end+size > excerptBytes {
			break
		}
		end += size
	}
	return strconv.Quote(s[:end]) + "…"
}

// Display returns s as a report column shows a value of an invalid row: s
// itself when it is short and printable, else Quote(s). Valid rows never
// need it: their values are short and printable by the rules.
func Display(s string) string {
	if len(s) <= excerptBytes && printable(s) {
		return s
	}
	return Quote(s)
}

// printable reports whether s is valid UTF-8 without control characters
// (C0, DEL, C1) or other unprintable runes. Spaces are printable.
func printable(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		if r != ' ' && !unicode.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}
