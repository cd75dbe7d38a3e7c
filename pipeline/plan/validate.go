package plan

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"

	"markimport/pipeline/mark"
	"markimport/readers"
)

// Invalid describes a row that failed validation.
type Invalid struct {
	Row     int64
	From    string // as given, trimmed
	Type    string // as given, or inferred
	Peer    string
	Message string
}

// Validate checks one record against the input rules (the columns a row
// must or may have, and their forms) and returns either the change it
// asks for or why it is invalid. rec is read, not changed: a pointer
// spares the read stage two copies of 184 bytes a row.
func Validate(rec *readers.Record) (mark.Change, *Invalid) {
	return validate(rec, false)
}

// ValidateStrictBits is Validate that also refuses a row setting or
// clearing a bit of 4–31 (mark.SDKUndefined), which the API accepts and
// the client SDKs define for nobody.
func ValidateStrictBits(rec *readers.Record) (mark.Change, *Invalid) {
	return validate(rec, true)
}

func validate(rec *readers.Record, strictBits bool) (mark.Change, *Invalid) {
	f := &rec.Fields
	from := trimSpace(f[readers.FromAccount])
	typ := trimSpace(f[readers.Type])
	toAcc := trimSpace(f[readers.ToAccount])
	toGrp := trimSpace(f[readers.ToGroupID])
	peer := toAcc
	if peer == "" {
		peer = toGrp
	}
	bad := func(format string, args ...any) (mark.Change, *Invalid) {
		return mark.Change{}, &Invalid{Row: rec.Row, From: readers.Display(from), Type: readers.Display(typ), Peer: readers.Display(peer),
			Message: fmt.Sprintf(format, args...)}
	}
	if rec.Problem != "" {
		if rec.ProblemColumn != "" {
			return bad("%s: %s", rec.ProblemColumn, rec.Problem)
		}
		return bad("%s", rec.Problem)
	}
	if from == "" {
		return bad("from_account: empty")
	}
	if why := checkID(from, mark.MaxAccountBytes); why != "" {
		return bad("from_account: %s %s", readers.Quote(from), why)
	}
	c := mark.Change{Row: rec.Row, From: from}
	var why string
	if c.Conv, why = conversation(typ, toAcc, toGrp); why != "" {
		return bad("%s", why)
	}
	if c.Set, c.Clear, why = markBits(f[readers.SetMark], f[readers.ClearMark], strictBits); why != "" {
		return bad("%s", why)
	}
	custom := f[readers.CustomMark]
	if !utf8.ValidString(custom) {
		return bad("custom_mark: %s is not valid UTF-8", readers.Quote(custom))
	}
	if len(custom) > mark.MaxCustomMarkBytes {
		return bad("custom_mark: %d bytes, more than the limit of %d bytes", len(custom), mark.MaxCustomMarkBytes)
	}
	if c.Opt, why = optType(trimSpace(f[readers.OptType]), c.Set|c.Clear != 0, custom); why != "" {
		return bad("%s", why)
	}
	if c.Opt&mark.OptCustom != 0 {
		c.Custom = custom
	}
	return c, nil
}

// trimSpace is strings.TrimSpace, with the common case first: a value
// whose first and last bytes are printable ASCII has nothing to trim (the
// spaces TrimSpace removes are control bytes, ' ' and Unicode spaces,
// whose UTF-8 starts and ends with bytes above 0x7F).
func trimSpace(s string) string {
	if len(s) == 0 || s[0] > ' ' && s[0] < utf8.RuneSelf && s[len(s)-1] > ' ' && s[len(s)-1] < utf8.RuneSelf {
		return s
	}
	return strings.TrimSpace(s)
}

// conversation is the row's conversation from its type and peer columns,
// or why they do not name one.
func conversation(typ, toAcc, toGrp string) (mark.Conversation, string) {
	var conv mark.Conversation
	switch strings.ToLower(typ) {
	case "":
		switch {
		case toAcc != "" && toGrp != "":
			return conv, fmt.Sprintf("to_account %s and to_group_id %s are both set; type is empty so exactly one may be", readers.Quote(toAcc), readers.Quote(toGrp))
		case toAcc != "":
			conv = mark.Conversation{Type: mark.C2C, Peer: toAcc}
		case toGrp != "":
			conv = mark.Conversation{Type: mark.Group, Peer: toGrp}
		default:
			return conv, "to_account and to_group_id are both empty; one is required"
		}
	case "1", "c2c":
		if why := peerColumns(typ, "c2c", toAcc, "to_account", toGrp, "to_group_id"); why != "" {
			return conv, why
		}
		conv = mark.Conversation{Type: mark.C2C, Peer: toAcc}
	case "2", "group":
		if why := peerColumns(typ, "group", toGrp, "to_group_id", toAcc, "to_account"); why != "" {
			return conv, why
		}
		conv = mark.Conversation{Type: mark.Group, Peer: toGrp}
	default:
		return conv, fmt.Sprintf("type: %s is not 1, 2, c2c or group", readers.Quote(typ))
	}
	if conv.Type == mark.C2C {
		if why := checkID(conv.Peer, mark.MaxAccountBytes); why != "" {
			return conv, fmt.Sprintf("to_account: %s %s", readers.Quote(conv.Peer), why)
		}
	} else if why := checkID(conv.Peer, mark.MaxGroupIDBytes); why != "" {
		return conv, fmt.Sprintf("to_group_id: %s %s", readers.Quote(conv.Peer), why)
	}
	return conv, ""
}

// markBits parses set_mark and clear_mark (with strictBits, refusing bits
// 4–31), or says why they are invalid; a bit may not be both.
func markBits(setField, clearField string, strictBits bool) (set, clear uint64, why string) {
	var err error
	if set, err = parseBits(setField); err != nil {
		return 0, 0, fmt.Sprintf("set_mark: %v", err)
	}
	if clear, err = parseBits(clearField); err != nil {
		return 0, 0, fmt.Sprintf("clear_mark: %v", err)
	}
	if strictBits {
		for _, col := range []struct {
			name string
			mask uint64
		}{{"set_mark", set}, {"clear_mark", clear}} {
			if u := col.mask & mark.SDKUndefined; u != 0 {
				return 0, 0, fmt.Sprintf("%s: bit %d is in 4..31, which the client SDKs do not define (the standard marks are 0..3: %s; an app's own marks are 32..63)",
					col.name, bits.TrailingZeros64(u), strings.Join(mark.StandardNames[:], ", "))
			}
		}
	}
	if both := set & clear; both != 0 {
		return 0, 0, fmt.Sprintf("set_mark/clear_mark: %s is both set and cleared", describeBit(bits.TrailingZeros64(both)))
	}
	return set, clear, ""
}

// optType is what the row writes, from its opt_type (empty: inferred from
// hasBits and custom), or why opt_type disagrees with the row.
func optType(opt string, hasBits bool, custom string) (uint8, string) {
	switch opt {
	case "":
		var o uint8
		if hasBits {
			o |= mark.OptStandard
		}
		if custom != "" {
			o |= mark.OptCustom
		}
		if o == 0 {
			return 0, "row changes nothing: no set_mark or clear_mark bits and no custom_mark"
		}
		return o, ""
	case "1":
		if !hasBits {
			return 0, "opt_type: 1 (standard marks) needs at least one set_mark or clear_mark bit"
		}
		if custom != "" {
			return 0, fmt.Sprintf("opt_type: 1 (standard marks) but custom_mark %s is set; use opt_type 3", readers.Quote(custom))
		}
		return mark.OptStandard, ""
	case "2":
		if hasBits {
			return 0, "opt_type: 2 (custom mark) but set_mark/clear_mark bits are given; use opt_type 3"
		}
		return mark.OptCustom, ""
	case "3":
		if !hasBits {
			return 0, "opt_type: 3 (standard and custom) needs at least one set_mark or clear_mark bit"
		}
		return mark.OptBoth, ""
	}
	return 0, fmt.Sprintf("opt_type: %s is not 1, 2 or 3", readers.Quote(opt))
}

// oneBit reads t when it is one bit number of one or two digits, 0..63:
// the most common value of set_mark and clear_mark, read without
// strconv.
func oneBit(t string) (uint, bool) {
	switch {
	case len(t) == 1 && isDigit(t[0]):
		return uint(t[0] - '0'), true
	case len(t) == 2 && isDigit(t[0]) && isDigit(t[1]) && t[0] != '0':
		if n := uint(t[0]-'0')*10 + uint(t[1]-'0'); n <= 63 {
			return n, true
		}
	}
	return 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// indexSep is the index of the first separator of bits (',' or '|') in t,
// or -1: strings.IndexAny, for the two bytes that can separate bits, with
// no set to build for a few bytes.
func indexSep(t string) int {
	for i := 0; i < len(t); i++ {
		if t[i] == ',' || t[i] == '|' {
			return i
		}
	}
	return -1
}

// parseBits parses a list of mark bits in the accepted forms: "", "[]", "5",
// "[1, 2]", "1|2" (and "[1|2]", "1,2"). Every bit must be 0..63 or the
// name of a standard mark, in any case ("star|32").
func parseBits(s string) (uint64, error) {
	if mask, ok := plainBits(s); ok {
		return mask, nil
	}
	return listBits(s)
}

// plainBits reads the form nearly every row has, in one pass: numbers of
// one or two digits, 0..63, separated by ',' or '|', in brackets or not,
// with ASCII spaces around any of them. It returns what listBits returns
// for such a list, and ok; ok is false for every other form (an empty
// list, a name, a bit out of range, another kind of space, a missing
// bracket or element), which listBits reads or refuses with its reason.
func plainBits(s string) (mask uint64, ok bool) {
	i := skipSpaces(s, 0)
	open := i < len(s) && s[i] == '['
	if open {
		i++
	}
	for {
		i = skipSpaces(s, i)
		if i == len(s) || !isDigit(s[i]) {
			return 0, false
		}
		n := uint(s[i] - '0')
		if i++; i < len(s) && isDigit(s[i]) {
			n = n*10 + uint(s[i]-'0')
			i++
		}
		if n > 63 {
			return 0, false
		}
		mask |= 1 << n
		if i = skipSpaces(s, i); i < len(s) && (s[i] == ',' || s[i] == '|') {
			i++
			continue
		}
		break
	}
	if open {
		if i == len(s) || s[i] != ']' {
			return 0, false
		}
		i = skipSpaces(s, i+1)
	}
	return mask, i == len(s)
}

// skipSpaces returns the index of the first byte of s from i that is not
// an ASCII space.
func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// listBits is parseBits for every form.
func listBits(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") {
		if !strings.HasSuffix(t, "]") {
			return 0, fmt.Errorf("%s has no closing ]", readers.Quote(s))
		}
		t = strings.TrimSpace(t[1 : len(t)-1])
	} else if strings.HasSuffix(t, "]") {
		return 0, fmt.Errorf("%s has no opening [", readers.Quote(s))
	}
	if t == "" {
		return 0, nil
	}
	if n, ok := oneBit(t); ok {
		return 1 << n, nil
	}
	var mask uint64
	for len(t) > 0 {
		i := indexSep(t)
		var el string
		if i < 0 {
			el, t = t, ""
		} else {
			el, t = t[:i], t[i+1:]
			if strings.TrimSpace(t) == "" {
				return 0, fmt.Errorf("%s ends with a separator", readers.Quote(s))
			}
		}
		el = strings.TrimSpace(el)
		if el == "" {
			return 0, fmt.Errorf("%s has an empty element", readers.Quote(s))
		}
		n, err := strconv.ParseInt(el, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return 0, fmt.Errorf("bit %s is outside 0..63", el)
			}
			if bit, ok := mark.BitNamed(el); ok {
				mask |= 1 << uint(bit)
				continue
			}
			return 0, fmt.Errorf("%s is neither a bit number (0..63) nor a mark name (%s)", readers.Quote(el), strings.Join(mark.StandardNames[:], ", "))
		}
		if n < 0 || n > 63 {
			return 0, fmt.Errorf("bit %d is outside 0..63", n)
		}
		mask |= 1 << uint(n)
	}
	return mask, nil
}

// describeBit names bit n for a message: "bit 0 (star)", "bit 40".
func describeBit(n int) string {
	if n < len(mark.StandardNames) {
		return fmt.Sprintf("bit %d (%s)", n, mark.StandardNames[n])
	}
	return fmt.Sprintf("bit %d", n)
}

// checkID says why an identifier breaks the IM rules, or "".
func checkID(id string, limit int) string {
	// Most ids are printable ASCII, which is valid UTF-8 and holds no
	// control character: one pass over the bytes, and only the length
	// to check.
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c >= 0x7F {
			return checkAnyID(id, limit)
		}
	}
	if len(id) > limit {
		return fmt.Sprintf("is %d bytes, more than the limit of %d bytes", len(id), limit)
	}
	return ""
}

// checkAnyID is checkID for an id of any bytes.
func checkAnyID(id string, limit int) string {
	if !utf8.ValidString(id) {
		return "is not valid UTF-8"
	}
	if len(id) > limit {
		return fmt.Sprintf("is %d bytes, more than the limit of %d bytes", len(id), limit)
	}
	for _, r := range id {
		if mark.IsControl(r) {
			return fmt.Sprintf("holds the control character %U", r)
		}
	}
	return ""
}

// peerColumns says what is wrong with the peer columns of a row of type typ
// (named kind), whose peer is in column needCol (value need) while column
// otherCol (value other) must be empty; "" when nothing is.
func peerColumns(typ, kind, need, needCol, other, otherCol string) string {
	if need == "" {
		return fmt.Sprintf("%s: empty, but type %s (%s) needs it", needCol, readers.Quote(typ), kind)
	}
	if other != "" {
		return fmt.Sprintf("%s: %s must be empty for type %s (%s)", otherCol, readers.Quote(other), readers.Quote(typ), kind)
	}
	return ""
}
