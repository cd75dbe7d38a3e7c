package fakeim_test

import (
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

// readStandard reads one conversation's StandardMark back ("-" when the
// conversation is not in the answer).
func (f *fixture) readStandard(user string, ci fakeim.ContactItem) string {
	f.t.Helper()
	var r fakeim.SearchContactGroupResponse
	f.call(fakeim.SearchContactGroup, `{"From_Account":"`+user+`","ContactItem":[`+contactJSON(ci)+`]}`, &r)
	if r.ErrorCode != 0 {
		f.t.Fatalf("search_contact_group: %+v", r)
	}
	if len(r.ContactResultItem) == 0 {
		return "-"
	}
	return r.ContactResultItem[0].StandardMark
}

func contactJSON(ci fakeim.ContactItem) string {
	if ci.Type == 2 {
		return `{"Type":2,"ToGroupId":"` + ci.ToGroupID + `"}`
	}
	return `{"Type":1,"To_Account":"` + ci.ToAccount + `"}`
}

// TestBitOrderVariants plays the four readings of StandardMark that the
// documentation allows: bit 0 last or first, padded to 64 or not.
func TestBitOrderVariants(t *testing.T) {
	z := func(n int) string { return strings.Repeat("0", n) }
	tests := []struct {
		first, short     bool
		bit1, bits0and63 string
	}{
		{false, false, z(62) + "10", "1" + z(62) + "1"},
		{false, true, "10", "1" + z(62) + "1"},
		{true, false, "01" + z(62), "1" + z(62) + "1"},
		{true, true, "01", "1" + z(62) + "1"},
	}
	for _, tt := range tests {
		f := newFixture(t, fakeim.Config{BitZeroFirst: tt.first, ShortStandardMark: tt.short})
		f.markOK("u", setBits(c2c("a"), 1), setBits(c2c("b"), 0, 63), setBits(c2c("c"), 2))
		if got := f.readStandard("u", c2c("a")); got != tt.bit1 {
			t.Errorf("first=%v short=%v: bit 1 reads %q, want %q", tt.first, tt.short, got, tt.bit1)
		}
		if got := f.readStandard("u", c2c("b")); got != tt.bits0and63 {
			t.Errorf("first=%v short=%v: bits 0 and 63 read %q, want %q", tt.first, tt.short, got, tt.bits0and63)
		}
		want := z(61) + "100"
		switch {
		case tt.first && tt.short:
			want = "001"
		case tt.first:
			want = "001" + z(61)
		case tt.short:
			want = "100"
		}
		if got := f.readStandard("u", c2c("c")); got != want {
			t.Errorf("first=%v short=%v: bit 2 reads %q, want %q", tt.first, tt.short, got, want)
		}
	}
}

// TestSetAndClearVariants: one item that sets and clears bit 5, applied on
// a conversation with bit 5 clear and on one with it set.
func TestSetAndClearVariants(t *testing.T) {
	both := func(ci fakeim.ContactItem) fakeim.MarkItem {
		return fakeim.MarkItem{OptType: 1, ContactItem: ci, SetMark: []int64{5}, ClearMark: []int64{5}}
	}
	tests := []struct {
		mode               fakeim.SetClear
		code               int
		fromClear, fromSet string
	}{
		{fakeim.SetClearRefuse, 50002, "1", "100001"},
		{fakeim.SetClearSetWins, 0, "100001", "100001"},
		{fakeim.SetClearClearWins, 0, "1", "1"},
	}
	for _, tt := range tests {
		f := newFixture(t, fakeim.Config{SetAndClear: tt.mode, ShortStandardMark: true})
		f.markOK("u", setBits(c2c("clear"), 0), setBits(c2c("set"), 0, 5))
		r := f.mark(markBody("u", both(c2c("clear")), both(c2c("set"))))
		for _, it := range r.ResultItem {
			if it.ResultCode != tt.code {
				t.Errorf("mode %d: item %+v, want ResultCode %d", tt.mode, it, tt.code)
			}
		}
		if got := f.readStandard("u", c2c("clear")); got != tt.fromClear {
			t.Errorf("mode %d: from clear reads %q, want %q", tt.mode, got, tt.fromClear)
		}
		if got := f.readStandard("u", c2c("set")); got != tt.fromSet {
			t.Errorf("mode %d: from set reads %q, want %q", tt.mode, got, tt.fromSet)
		}
	}
}

// TestUnknownFromVariants: a From_Account that was not imported is refused
// with 50001, or accepted when the emulator plays such a service.
func TestUnknownFromVariants(t *testing.T) {
	for _, accept := range []bool{false, true} {
		f := newFixture(t, fakeim.Config{Users: []string{"u", "a"}, AcceptUnknownFrom: accept})
		r := f.mark(markBody("ghost", custom(c2c("a"), "")))
		if accept {
			if r.ErrorCode != 0 || len(r.ResultItem) != 1 || r.ResultItem[0].ResultCode != 0 {
				t.Errorf("accept: %+v", r)
			}
		} else if r.ErrorCode != 50001 {
			t.Errorf("refuse: %+v, want ErrorCode %d", r, 50001)
		}
		// To_Account is checked either way.
		r = f.mark(markBody("u", custom(c2c("ghost"), "")))
		if len(r.ResultItem) != 1 || r.ResultItem[0].ResultCode != 50001 {
			t.Errorf("accept=%v: unknown To_Account %+v", accept, r)
		}
	}
}
