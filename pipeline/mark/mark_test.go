package mark

import (
	"slices"
	"testing"
)

// TestMerge: a later set of a bit beats an earlier clear of it and the
// other way round, the last custom mark wins, a standard-only change keeps
// the custom mark, the operation types add up, and every row is kept.
func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changes []Change
		want    Item
	}{
		{"set then clear", []Change{{Row: 1, Set: 1 << 3, Opt: OptStandard}, {Row: 2, Clear: 1 << 3, Opt: OptStandard}},
			Item{Clear: 1 << 3, Opt: OptStandard, Rows: []int64{1, 2}}},
		{"clear then set", []Change{{Row: 1, Clear: 1<<3 | 1<<4, Opt: OptStandard}, {Row: 2, Set: 1 << 3, Opt: OptStandard}},
			Item{Set: 1 << 3, Clear: 1 << 4, Opt: OptStandard, Rows: []int64{1, 2}}},
		{"last custom wins", []Change{{Row: 1, Custom: "a", Opt: OptCustom}, {Row: 2, Custom: "", Opt: OptCustom}},
			Item{Custom: "", Opt: OptCustom, Rows: []int64{1, 2}}},
		{"standard keeps custom, types add up", []Change{{Row: 4, Custom: "vip", Opt: OptCustom}, {Row: 9, Set: 1, Opt: OptStandard}},
			Item{Set: 1, Custom: "vip", Opt: OptBoth, Rows: []int64{4, 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var it Item
			for i := range tc.changes {
				it.Merge(&tc.changes[i])
			}
			if it.Set != tc.want.Set || it.Clear != tc.want.Clear || it.Custom != tc.want.Custom || it.Opt != tc.want.Opt || !slices.Equal(it.Rows, tc.want.Rows) {
				t.Errorf("merged %+v, want %+v", it, tc.want)
			}
		})
	}
}

// TestRequestRows: a request carries the rows of all its items.
func TestRequestRows(t *testing.T) {
	r := Request{Items: []Item{{Rows: []int64{1, 2, 3}}, {Rows: []int64{7}}, {}}}
	if n := r.rows(); n != 4 {
		t.Errorf("Rows() = %d, want 4", n)
	}
}

// TestBits: the bits set, lowest first, bit 63 included.
func TestBits(t *testing.T) {
	for _, tc := range []struct {
		mask uint64
		want []int
	}{
		{0, []int{}},
		{1, []int{0}},
		{1<<63 | 1<<5 | 1, []int{0, 5, 63}},
	} {
		if got := Bits(tc.mask); !slices.Equal(got, tc.want) {
			t.Errorf("Bits(%#x) = %v, want %v", tc.mask, got, tc.want)
		}
	}
}

// TestTypeName: the API's two conversation types by name; another type by
// its number, never as one of them.
func TestTypeName(t *testing.T) {
	for typ, want := range map[uint8]string{C2C: "c2c", Group: "group", 0: "0", 3: "3"} {
		if got := (Conversation{Type: typ, Peer: "x"}).TypeName(); got != want {
			t.Errorf("type %d is named %q, want %q", typ, got, want)
		}
	}
}

// TestIsControl: C0, DEL and C1 are control characters; space, the last
// character before DEL, the first after C1 and other letters are not.
func TestIsControl(t *testing.T) {
	for _, r := range []rune{0, '\t', '\n', 0x1F, 0x7F, 0x80, 0x9F} {
		if !IsControl(r) {
			t.Errorf("%U is a control character", r)
		}
	}
	for _, r := range []rune{' ', '~', 0xA0, 'é', '中'} {
		if IsControl(r) {
			t.Errorf("%U is no control character", r)
		}
	}
}
