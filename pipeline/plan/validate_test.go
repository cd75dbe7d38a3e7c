package plan

import (
	"markimport/pipeline/mark"

	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"markimport/readers"
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   readers.Record
		want mark.Change
	}{
		{"c2c inferred, bits", rec("u1", "", "u2", "", "[1, 2]", "", "", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Set: 0b110, Opt: mark.OptStandard}},
		{"group inferred", rec("u1", "", "", "g1", "5", "", "", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.Group, Peer: "g1"}, Set: 1 << 5, Opt: mark.OptStandard}},
		{"type words any case", rec("u1", "GROUP", "", "g1", "", "1|63", "", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.Group, Peer: "g1"}, Clear: 1<<1 | 1<<63, Opt: mark.OptStandard}},
		{"type c2c", rec("u1", "C2c", "u2", "", "0", "", "", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Set: 1, Opt: mark.OptStandard}},
		{"type 2", rec("u1", "2", "", "g", "0", "", "", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.Group, Peer: "g"}, Set: 1, Opt: mark.OptStandard}},
		{"custom inferred", rec("u1", "1", "u2", "", "", "", "vip", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Custom: "vip", Opt: mark.OptCustom}},
		{"both inferred", rec("u1", "", "u2", "", "3", "4", "x", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Set: 8, Clear: 16, Custom: "x", Opt: mark.OptBoth}},
		{"custom kept verbatim", rec(" u1 ", "", " u2 ", "", "", "", "  a, \"b\"\n ", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Custom: "  a, \"b\"\n ", Opt: mark.OptCustom}},
		{"opt 2 empty custom clears it", rec("u1", "", "u2", "", "", "", "", "2"), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Opt: mark.OptCustom}},
		{"opt 3 empty custom", rec("u1", "", "u2", "", "1", "", "", "3"), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Set: 2, Opt: mark.OptBoth}},
		{"opt 1 explicit", rec("u1", "", "u2", "", "[]", "[7]", "", " 1 "), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Clear: 128, Opt: mark.OptStandard}},
		{"256 bytes of multibyte custom", rec("u1", "", "u2", "", "", "", strings.Repeat("é", 128), ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Custom: strings.Repeat("é", 128), Opt: mark.OptCustom}},
		{"duplicate bits", rec("u1", "", "u2", "", "[1,1]", "", "", ""), mark.Change{Row: 7, From: "u1", Conv: mark.Conversation{Type: mark.C2C, Peer: "u2"}, Set: 2, Opt: mark.OptStandard}},
		{"32-byte accounts", rec(strings.Repeat("a", 32), "", strings.Repeat("b", 32), "", "1", "", "", ""), mark.Change{Row: 7, From: strings.Repeat("a", 32), Conv: mark.Conversation{Type: mark.C2C, Peer: strings.Repeat("b", 32)}, Set: 2, Opt: mark.OptStandard}},
		{"48-byte group id", rec("u", "", "", strings.Repeat("g", 48), "1", "", "", ""), mark.Change{Row: 7, From: "u", Conv: mark.Conversation{Type: mark.Group, Peer: strings.Repeat("g", 48)}, Set: 2, Opt: mark.OptStandard}},
		{"tab around an id is trimmed", rec("\tu\t", "", "p", "", "1", "", "", ""), mark.Change{Row: 7, From: "u", Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Set: 2, Opt: mark.OptStandard}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad := Validate(&tt.in)
			if bad != nil {
				t.Fatalf("invalid: %s", bad.Message)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	long := strings.Repeat("é", 128) + "x" // 257 bytes, 129 characters
	tests := []struct {
		name string
		in   readers.Record
		msg  string // the message must contain this
	}{
		{"empty from", rec("  ", "", "u2", "", "1", "", "", ""), "from_account: empty"},
		{"33-byte from", rec(strings.Repeat("a", 33), "", "u2", "", "1", "", "", ""), "from_account: \"" + strings.Repeat("a", 33) + "\" is 33 bytes, more than the limit of 32 bytes"},
		{"33-byte peer", rec("u1", "", strings.Repeat("b", 33), "", "1", "", "", ""), "to_account: \"" + strings.Repeat("b", 33) + "\" is 33 bytes"},
		{"49-byte group id", rec("u1", "", "", strings.Repeat("g", 49), "1", "", "", ""), "is 49 bytes, more than the limit of 48 bytes"},
		{"NUL in from", rec("a\x00b", "", "u2", "", "1", "", "", ""), `from_account: "a\x00b" holds the control character U+0000`},
		{"ESC in peer", rec("u1", "", "x\x1b[2J", "", "1", "", "", ""), `to_account: "x\x1b[2J" holds the control character U+001B`},
		{"DEL in group", rec("u1", "", "", "g\x7f", "1", "", "", ""), "U+007F"},
		{"C1 in from", rec("a\u0085b", "", "u2", "", "1", "", "", ""), "U+0085"},
		{"a cut value", readers.Record{Row: 7, Fields: [readers.NumFields]string{readers.FromAccount: "u", readers.ToAccount: "p", readers.SetMark: "1"}, ProblemColumn: "custom_mark", Problem: readers.TooLong(300<<20, "xx")}, "custom_mark: 314572800 bytes, longer than any valid value"},
		{"bad type", rec("u1", "3", "u2", "", "1", "", "", ""), `type: "3" is not 1, 2, c2c or group`},
		{"no peer", rec("u1", "", "", "", "1", "", "", ""), "to_account and to_group_id are both empty"},
		{"both peers, no type", rec("u1", "", "u2", "g1", "1", "", "", ""), "are both set"},
		{"c2c with group id", rec("u1", "1", "u2", "g1", "1", "", "", ""), "to_group_id: \"g1\" must be empty"},
		{"c2c without account", rec("u1", "c2c", "", "g1", "1", "", "", ""), "to_account: empty"},
		{"group with account", rec("u1", "2", "u2", "g1", "1", "", "", ""), "to_account: \"u2\" must be empty"},
		{"group without id", rec("u1", "group", "u2", "", "1", "", "", ""), "to_group_id: empty"},
		{"bit 64", rec("u1", "", "u2", "", "[1, 64]", "", "", ""), "set_mark: bit 64 is outside 0..63"},
		{"negative bit", rec("u1", "", "u2", "", "", "-1", "", ""), "clear_mark: bit -1 is outside 0..63"},
		{"huge bit", rec("u1", "", "u2", "", "99999999999999999999", "", "", ""), "set_mark: bit 99999999999999999999 is outside 0..63"},
		{"unknown name", rec("u1", "", "u2", "", "star|bogus", "", "", ""), `set_mark: "bogus" is neither a bit number (0..63) nor a mark name (star, unread, fold, hide)`},
		{"a name with its bit", rec("u1", "", "u2", "", "star", "[32, 0]", "", ""), "set_mark/clear_mark: bit 0 (star) is both set and cleared"},
		{"empty element", rec("u1", "", "u2", "", "1||2", "", "", ""), "set_mark:"},
		{"trailing separator", rec("u1", "", "u2", "", "[1,]", "", "", ""), "set_mark:"},
		{"unclosed", rec("u1", "", "u2", "", "[1,2", "", "", ""), "set_mark:"},
		{"set and clear", rec("u1", "", "u2", "", "1|5", "5", "", ""), "bit 5 is both set and cleared"},
		{"custom too long", rec("u1", "", "u2", "", "", "", long, ""), "custom_mark: 257 bytes"},
		{"custom invalid utf8", rec("u1", "", "u2", "", "", "", "a\xffb", ""), "custom_mark:"},
		{"from invalid utf8", rec("u\xfe", "", "u2", "", "1", "", "", ""), "from_account:"},
		{"changes nothing", rec("u1", "", "u2", "", "", "[]", "", ""), "changes nothing"},
		{"opt 1 without bits", rec("u1", "", "u2", "", "", "", "", "1"), "opt_type: 1"},
		{"opt 1 with custom", rec("u1", "", "u2", "", "1", "", "x", "1"), "opt_type: 1"},
		{"opt 2 with bits", rec("u1", "", "u2", "", "1", "", "x", "2"), "opt_type: 2"},
		{"opt 3 without bits", rec("u1", "", "u2", "", "", "", "x", "3"), "opt_type: 3"},
		{"opt 4", rec("u1", "", "u2", "", "1", "", "", "4"), `opt_type: "4" is not 1, 2 or 3`},
		{"reader problem", readers.Record{Row: 7, Problem: "row has 3 fields, the header has 8"}, "row has 3 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bad := Validate(&tt.in)
			if bad == nil {
				t.Fatalf("accepted, want invalid with %q", tt.msg)
			}
			if !strings.Contains(bad.Message, tt.msg) || bad.Row != 7 {
				t.Fatalf("message %q (row %d), want it to contain %q (row 7)", bad.Message, bad.Row, tt.msg)
			}
		})
	}
}

// TestValidateMarkNames: the standard marks by name, in any case and
// spacing, beside bit numbers, in both columns; the change is the one the
// bit numbers make.
func TestValidateMarkNames(t *testing.T) {
	tests := []struct {
		name       string
		set, clear string
		wantSet    uint64
		wantClear  uint64
	}{
		{"star and an app's own bit", "star|32", "", 1 | 1<<32, 0},
		{"every name", "[star, unread, fold, hide]", "", 0b1111, 0},
		{"any case, trimmed", " Hide ", "UNREAD | 40", 1 << 3, 1<<1 | 1<<40},
		{"name and its number", "fold|2", "", 1 << 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := rec("u1", "", "u2", "", tt.set, tt.clear, "", "")
			c, bad := Validate(&in)
			if bad != nil {
				t.Fatalf("invalid: %s", bad.Message)
			}
			if c.Set != tt.wantSet || c.Clear != tt.wantClear {
				t.Fatalf("set %b clear %b, want set %b clear %b", c.Set, c.Clear, tt.wantSet, tt.wantClear)
			}
		})
	}
}

// TestValidateStrictBits: bits 4..31 are accepted by Validate and refused
// by ValidateStrictBits, in either column, with a message naming the
// column, the bit and the ranges the SDKs define; other bits pass both.
func TestValidateStrictBits(t *testing.T) {
	tests := []struct {
		name       string
		set, clear string
		msg        string // "" when ValidateStrictBits accepts the row too
	}{
		{"bit 7 set", "star|7", "", "set_mark: bit 7 is in 4..31, which the client SDKs do not define (the standard marks are 0..3: star, unread, fold, hide; an app's own marks are 32..63)"},
		{"bit 31 cleared", "", "[31]", "clear_mark: bit 31 is in 4..31"},
		{"bit 4 cleared", "", "4", "clear_mark: bit 4 is in 4..31"},
		{"standard and own bits", "hide|3|32|63", "0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := rec("u1", "", "u2", "", tt.set, tt.clear, "", "")
			if _, bad := Validate(&in); bad != nil {
				t.Fatalf("Validate: invalid: %s", bad.Message)
			}
			_, bad := ValidateStrictBits(&in)
			switch {
			case tt.msg == "" && bad != nil:
				t.Fatalf("ValidateStrictBits: invalid: %s", bad.Message)
			case tt.msg != "" && bad == nil:
				t.Fatalf("ValidateStrictBits accepted, want %q", tt.msg)
			case tt.msg != "" && (!strings.Contains(bad.Message, tt.msg) || bad.Row != 7 || bad.Peer != "u2"):
				t.Fatalf("message %q (row %d, peer %q), want it to contain %q (row 7, peer u2)", bad.Message, bad.Row, bad.Peer, tt.msg)
			}
		})
	}
}

func TestParseBits(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"", 0}, {"[]", 0}, {" [ ] ", 0}, {"5", 32}, {"[1, 2]", 6}, {"1|2", 6}, {"[1|2]", 6}, {"1,2", 6}, {" 0 | 63 ", 1 | 1<<63},
		{"star", 1}, {"[Unread, 33]", 2 | 1<<33}, {"FOLD|hide", 12},
	}
	for _, tt := range tests {
		got, err := parseBits(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseBits(%q) = %b, %v; want %b", tt.in, got, err, tt.want)
		}
	}
}

// TestParseBitsOneNumber reads every number of one or two digits, with
// and without a leading zero: 0..63 is that bit, 64..99 is refused.
func TestParseBitsOneNumber(t *testing.T) {
	for n := 0; n < 100; n++ {
		for _, s := range []string{strconv.Itoa(n), fmt.Sprintf("%02d", n), fmt.Sprintf("[%d]", n)} {
			got, err := parseBits(s)
			switch {
			case n <= 63 && (err != nil || got != 1<<n):
				t.Errorf("parseBits(%q) = %b, %v; want bit %d", s, got, err, n)
			case n > 63 && err == nil:
				t.Errorf("parseBits(%q) = %b, want an error", s, got)
			}
		}
	}
}

// TestCheckIDEveryByte: an id holding any one byte, ASCII or not, alone or
// between letters, under and over the limit, is judged by checkID as by
// the check that decodes it whole: the printable-ASCII pass lets nothing
// through that the full check refuses.
func TestCheckIDEveryByte(t *testing.T) {
	for b := range 256 {
		for _, id := range []string{string(rune(b)), string([]byte{byte(b)}), "ab" + string([]byte{byte(b)}) + "cd", "abcdefgh" + string([]byte{byte(b)})} {
			for _, limit := range []int{4, 32} {
				if got, want := checkID(id, limit), checkAnyID(id, limit); got != want {
					t.Errorf("checkID(%q, %d) = %q, the full check says %q", id, limit, got, want)
				}
			}
		}
	}
}

// TestPlainBitsAsListBits: every string of up to five bytes from the
// bytes a list of bits is made of (and a few it must not hold), and
// longer ones at random, read as plainBits reads it is read as listBits
// reads it: the same bits, never a list listBits refuses.
func TestPlainBitsAsListBits(t *testing.T) {
	const alphabet = "0135679 ,|[]\ta+"
	// check reports whether plainBits read s.
	check := func(s string) bool {
		mask, ok := plainBits(s)
		if !ok {
			return false
		}
		want, err := listBits(s)
		if err != nil || mask != want {
			t.Fatalf("plainBits(%q) = %b, but listBits gives %b, %v", s, mask, want, err)
		}
		return true
	}
	accepted := 0
	var walk func(prefix []byte)
	walk = func(prefix []byte) {
		if check(string(prefix)) {
			accepted++
		}
		if len(prefix) == 5 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			walk(append(prefix, alphabet[i]))
		}
	}
	walk(nil)
	r := rand.New(rand.NewPCG(3, 3))
	for range 300_000 {
		check(randomOver(r, alphabet, 6, 20))
	}
	// The common forms are read in one pass.
	for _, s := range []string{"5", "[57, 32]", "1|2", " [ 0 | 63 ] ", "07"} {
		if _, ok := plainBits(s); !ok {
			t.Errorf("plainBits(%q) refused", s)
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d short lists read in one pass", accepted)
	}
}

func TestTrimSpaceAsStrings(t *testing.T) {
	check := func(s string) {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Fatalf("trimSpace(%q) = %q, strings.TrimSpace gives %q", s, got, want)
		}
	}
	// Every string of up to two bytes.
	check("")
	for a := range 256 {
		check(string([]byte{byte(a)}))
		for b := range 256 {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	// Each space Unicode knows of, around and beside a value, and its bytes
	// alone and cut.
	for r := rune(0); r <= 0x3000; r++ {
		if !unicode.IsSpace(r) {
			continue
		}
		sp := string(r)
		for _, s := range []string{sp + "a" + sp, sp + "a", "a" + sp, "a" + sp + "b", sp, sp[:len(sp)-1] + "a", "a" + sp[1:]} {
			check(s)
		}
	}
	// Longer values over an alphabet of printable, space, control and
	// UTF-8 bytes.
	const alphabet = "a~ \t\x00\x1f\x7f\x80\x85\xa0\xc2\xe3"
	r := rand.New(rand.NewPCG(5, 5))
	for range 200_000 {
		check(randomOver(r, alphabet, 3, 11))
	}
}

// randomOver returns a string of lo to hi-1 bytes drawn from alphabet.
func randomOver(r *rand.Rand, alphabet string, lo, hi int) string {
	b := make([]byte, lo+r.IntN(hi-lo))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
