package readers

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Chinese and Japanese legacy systems export GB18030 (or its subsets GBK
// and GB2312) and Shift-JIS (Windows code page 932) rather than UTF-8.
// Read as UTF-8, such a file makes every row with a Chinese or Japanese
// value invalid, one message per row, none saying why. So the sample a CSV
// file's reader looks at first (sniffBytes) is checked once: valid UTF-8
// costs one utf8.Valid of it and nothing more; a sample that is not UTF-8
// but reads cleanly as one of these encodings makes the file an input error
// that names the encoding and the command that converts it. Anything else
// (a few stray bytes, Latin-1, binary) is left to the rows, as before.

// legacyEncoding is an encoding markimport recognises, to name it.
type legacyEncoding struct {
	name  string // as messages name it
	iconv string // as iconv names it
	enc   encoding.Encoding
	// everyday returns a test of whether a decoded character is one that
	// text in the encoding's language is mostly made of: another
	// encoding's bytes read as mostly rare or half-width characters.
	everyday func() func(r rune) bool
}

// legacyEncodings are tried in turn; the first that reads a sample as
// text of its language names it. Each one's text reads as mostly rare or
// half-width characters in the other, so the order hardly matters.
var legacyEncodings = []legacyEncoding{
	{"GB18030 (Chinese: GBK, GB2312)", "GB18030", simplifiedchinese.GB18030, inGB2312},
	{"Shift-JIS (Japanese, Windows code page 932)", "CP932", japanese.ShiftJIS, fullWidth},
}

// inGB2312 tests whether a character is one of GB2312's 7,445, the
// everyday set that GBK and GB18030 extend: the library's HZ-GB2312
// encoder takes exactly those.
func inGB2312() func(rune) bool {
	enc := simplifiedchinese.HZGB2312.NewEncoder()
	var b [utf8.UTFMax]byte
	return func(r rune) bool {
		_, err := enc.Bytes(b[:utf8.EncodeRune(b[:], r)])
		return err == nil
	}
}

// fullWidth tests whether a character is not a half-width katakana, the
// characters one Shift-JIS byte stands for: what the bytes of Chinese or
// Western text mostly read as in Shift-JIS.
func fullWidth() func(rune) bool {
	return func(r rune) bool { return r < 0xFF61 || r > 0xFF9F }
}

// minEveryday is the share of a sample's non-ASCII characters that must be
// everyday ones for the sample to be taken as text of an encoding.
const minEveryday = 0.75

// sniffEncoding returns an error naming the encoding of head, the start of
// a CSV input (all of it when whole), when head is not UTF-8 but reads as
// GB18030 or Shift-JIS text; nil otherwise.
func sniffEncoding(head []byte, whole bool) error {
	sample := head
	if !whole {
		// The sample ends inside the file: keep whole lines, or whole
		// characters of a line longer than it, so that a character it
		// cuts in two does not count against any encoding.
		if i := bytes.LastIndexByte(sample, '\n'); i >= 0 {
			sample = sample[:i+1]
		} else {
			sample = cutPartialRune(sample)
		}
	}
	if utf8.Valid(sample) {
		return nil
	}
	sample = bytes.TrimPrefix(sample, utf8BOM)
	var best *legacyEncoding
	for i := range legacyEncodings {
		e := &legacyEncodings[i]
		if share, ok := readsAs(e, sample); ok && share >= minEveryday {
			best = e
			break
		}
	}
	if best == nil {
		return nil
	}
	off := firstInvalid(head)
	return fmt.Errorf("the file is not UTF-8: it looks like %s text (at byte offset %d it holds % X, which reads in %s as %s); markimport reads UTF-8: convert it first, e.g. iconv -f %s -t UTF-8 FILE > FILE.utf8.csv",
		best.name, off, head[off:min(len(head), off+4)], best.iconv, Quote(fieldAt(head, off, best)), best.iconv)
}

// readsAs decodes sample in e. ok says it decoded cleanly: without a
// byte sequence the encoding does not have (which the decoder reads as
// U+FFFD). share is the part of its non-ASCII characters that are everyday
// ones in e's language.
func readsAs(e *legacyEncoding, sample []byte) (share float64, ok bool) {
	text, err := e.enc.NewDecoder().Bytes(sample)
	if err != nil {
		return 0, false
	}
	everyday := e.everyday()
	var n, common int
	for _, r := range string(text) {
		switch {
		case r < utf8.RuneSelf:
		case r == utf8.RuneError:
			return 0, false
		default:
			n++
			if everyday(r) {
				common++
			}
		}
	}
	if n == 0 {
		return 0, false
	}
	return float64(common) / float64(n), true
}

// fieldAt is the field of head that holds the byte at off, decoded in e:
// what the user's value looks like once converted. Fields are cut at
// delimiters, quotes and line ends, bytes that are never part of a
// character of these encodings.
func fieldAt(head []byte, off int, e *legacyEncoding) string {
	const bounds = ",;\t\"\r\n"
	start := bytes.LastIndexAny(head[:off], bounds) + 1
	end := len(head)
	if i := bytes.IndexAny(head[off:], bounds); i >= 0 {
		end = off + i
	}
	text, err := e.enc.NewDecoder().Bytes(head[start:end])
	if err != nil {
		return string(head[start:end])
	}
	return string(text)
}

// firstInvalid is the offset of the first byte of b that is not part of
// valid UTF-8.
func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// cutPartialRune drops an incomplete UTF-8 sequence at the end of b, where
// a sample of a longer input may cut a character in two.
func cutPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
