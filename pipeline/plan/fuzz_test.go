package plan

import (
	"markimport/pipeline/mark"

	"strings"
	"testing"
	"unicode/utf8"

	"markimport/readers"
)

// FuzzParseBits: never panics; an accepted list only holds bits 0..63 and
// parses the same in every accepted form.
func FuzzParseBits(f *testing.F) {
	for _, s := range []string{"", "[]", "5", "[1, 2]", "1|2", "[63]", "[64]", "-1", "[1,]", "1||2", "[", "]", " [ 3 | 4 ] ", "star|32", "[Hide, unread]", "bogus"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mask, err := parseBits(s)
		if err != nil {
			return
		}
		again, err := parseBits("[" + strings.Trim(strings.Join(strings.Fields(strings.NewReplacer("[", " ", "]", " ", ",", " ", "|", " ").Replace(s)), ","), ",") + "]")
		if err != nil || again != mask {
			t.Fatalf("%q = %b, but its canonical form gives %b, %v", s, mask, again, err)
		}
	})
}

// FuzzValidate: never panics, and every accepted row obeys the API's rules.
func FuzzValidate(f *testing.F) {
	f.Add("u", "", "p", "", "[1,2]", "", "", "")
	f.Add("u", "group", "", "g", "", "3", "vip", "3")
	f.Add("u", "2", "p", "g", "64", "", "\xff", "2")
	f.Fuzz(func(t *testing.T, from, typ, to, grp, set, clr, custom, opt string) {
		c, bad := Validate(&readers.Record{Row: 1, Fields: [readers.NumFields]string{from, typ, to, grp, set, clr, custom, opt}})
		if bad != nil {
			if bad.Message == "" {
				t.Fatal("invalid without a message")
			}
			return
		}
		switch {
		case c.From == "" || c.Conv.Peer == "":
			t.Fatalf("accepted an empty account: %+v", c)
		case c.Conv.Type != mark.C2C && c.Conv.Type != mark.Group:
			t.Fatalf("type %d", c.Conv.Type)
		case c.Set&c.Clear != 0:
			t.Fatalf("a bit both set and cleared: %+v", c)
		case c.Opt < 1 || c.Opt > 3:
			t.Fatalf("opt %d", c.Opt)
		case c.Opt&mark.OptStandard != 0 && c.Set|c.Clear == 0:
			t.Fatalf("standard marks without a bit: %+v", c)
		case c.Opt == mark.OptCustom && c.Set|c.Clear != 0:
			t.Fatalf("custom only with bits: %+v", c)
		case len(c.Custom) > mark.MaxCustomMarkBytes || !utf8.ValidString(c.Custom) || !utf8.ValidString(c.From) || !utf8.ValidString(c.Conv.Peer):
			t.Fatalf("bad strings accepted: %+v", c)
		case c.Opt&mark.OptCustom != 0 && c.Custom != custom:
			t.Fatalf("custom mark not verbatim: %q vs %q", c.Custom, custom)
		}
	})
}
