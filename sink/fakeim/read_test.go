package fakeim_test

import (
	"fmt"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

func TestFormatStandardMark(t *testing.T) {
	tests := []struct {
		v    uint64
		want string
	}{
		{0, strings.Repeat("0", 64)},
		{1, strings.Repeat("0", 63) + "1"},
		{0b110, strings.Repeat("0", 61) + "110"},
		{1 << 63, "1" + strings.Repeat("0", 63)},
		{^uint64(0), strings.Repeat("1", 64)},
	}
	for _, tt := range tests {
		if got := fakeim.FormatStandardMark(tt.v); got != tt.want {
			t.Errorf("FormatStandardMark(%#x) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestSearchContactGroup(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(fmt.Sprint("short=", short), func(t *testing.T) {
			f := newFixture(t, fakeim.Config{ShortStandardMark: short})
			f.markOK("u",
				setBits(c2c("a"), 1),
				fakeim.MarkItem{OptType: 3, ContactItem: group("g"), SetMark: []int64{0, 63}, CustomMark: str("vip")},
				custom(c2c("c"), "only custom"),
			)
			var r fakeim.SearchContactGroupResponse
			f.call(fakeim.SearchContactGroup, `{"From_Account":"u","ContactItem":[`+
				`{"Type":1,"To_Account":"a"},{"Type":2,"ToGroupId":"g"},{"Type":1,"To_Account":"c"},`+
				`{"Type":1,"To_Account":"nobody"},{"Type":1,"To_Account":"a"}]}`, &r)
			if r.ActionStatus != "OK" || r.ErrorCode != 0 || len(r.ContactResultItem) != 3 {
				t.Fatalf("answer %+v", r)
			}
			got := map[string]fakeim.ContactMarks{}
			for _, it := range r.ContactResultItem {
				got[it.ToAccount+it.ToGroupID] = it
				if it.Timestamp == 0 || it.ContactGroupID != nil {
					t.Errorf("item %+v", it)
				}
			}
			want := map[string][2]string{
				"a": {strings.Repeat("0", 62) + "10", ""},
				"g": {"1" + strings.Repeat("0", 62) + "1", "vip"},
				"c": {strings.Repeat("0", 64), "only custom"},
			}
			if short {
				want["a"] = [2]string{"10", ""}
				want["c"] = [2]string{"", "only custom"}
			}
			for peer, w := range want {
				it := got[peer]
				if it.StandardMark != w[0] || it.CustomMark != w[1] {
					t.Errorf("%s: StandardMark %q CustomMark %q, want %q %q", peer, it.StandardMark, it.CustomMark, w[0], w[1])
				}
			}
			if got["g"].Type != 2 || got["a"].Type != 1 {
				t.Errorf("types %+v", got)
			}
		})
	}
}

func TestSearchContactGroupErrors(t *testing.T) {
	many := make([]string, 301)
	for i := range many {
		many[i] = fmt.Sprintf(`{"Type":1,"To_Account":"p%d"}`, i)
	}
	tests := []struct {
		name, body string
		code       int
	}{
		{"no items", `{"From_Account":"u","ContactItem":[]}`, 50002},
		{"301 items", `{"From_Account":"u","ContactItem":[` + strings.Join(many, ",") + `]}`, 50002},
		{"bad type", `{"From_Account":"u","ContactItem":[{"Type":3,"To_Account":"a"}]}`, 50002},
		{"c2c without peer", `{"From_Account":"u","ContactItem":[{"Type":1,"ToGroupId":"g"}]}`, 50002},
		{"no From_Account", `{"ContactItem":[{"Type":1,"To_Account":"a"}]}`, 50002},
		{"unknown field", `{"From_Account":"u","StartIndex":0,"ContactItem":[{"Type":1,"To_Account":"a"}]}`, 50002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fakeim.Config{})
			var r fakeim.Status
			f.call(fakeim.SearchContactGroup, tt.body, &r)
			if r.ActionStatus != "FAIL" || r.ErrorCode != tt.code {
				t.Fatalf("answer %+v, want %d", r, tt.code)
			}
		})
	}
	t.Run("300 items", func(t *testing.T) {
		f := newFixture(t, fakeim.Config{})
		var r fakeim.SearchContactGroupResponse
		f.call(fakeim.SearchContactGroup, `{"From_Account":"u","ContactItem":[`+strings.Join(many[:300], ",")+`]}`, &r)
		if r.ErrorCode != 0 || r.ContactResultItem == nil || len(r.ContactResultItem) != 0 {
			t.Fatalf("answer %+v", r)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		f := newFixture(t, fakeim.Config{Users: []string{"u"}})
		var r fakeim.Status
		f.call(fakeim.SearchContactGroup, `{"From_Account":"x","ContactItem":[{"Type":1,"To_Account":"u"}]}`, &r)
		if r.ErrorCode != 50001 {
			t.Fatalf("answer %+v", r)
		}
	})
}

func TestGetContactGroupPaging(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	var order []string
	for i := range 250 {
		peer := fmt.Sprintf("p%03d", 249-i) // insertion order differs from name order
		order = append(order, peer)
		f.srv.SetMark("u", fakeim.Conversation{Type: fakeim.C2C, Peer: peer}, fakeim.Mark{Standard: uint64(i)})
	}
	// A later change does not move a conversation in the order.
	f.markOK("u", setBits(c2c(order[0]), 10))

	var got []string
	start := int64(0)
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		var r fakeim.GetContactGroupResponse
		f.call(fakeim.GetContactGroup, fmt.Sprintf(`{"From_Account":"u","StartIndex":%d}`, start), &r)
		if r.ErrorCode != 0 {
			t.Fatalf("answer %+v", r)
		}
		for _, it := range r.ContactItem {
			got = append(got, it.ToAccount)
		}
		wantLen := min(fakeim.PageSize, 250-int(start))
		if len(r.ContactItem) != wantLen {
			t.Fatalf("page at %d has %d items, want %d", start, len(r.ContactItem), wantLen)
		}
		if r.CompleteFlag == 1 {
			if r.NextStartIndex != 0 || start+int64(len(r.ContactItem)) != 250 {
				t.Fatalf("last page %+v", r)
			}
			break
		}
		if r.NextStartIndex != start+fakeim.PageSize {
			t.Fatalf("NextStartIndex %d after %d", r.NextStartIndex, start)
		}
		start = r.NextStartIndex
	}
	if strings.Join(got, ",") != strings.Join(order, ",") {
		t.Fatal("pages are not in first-marked order")
	}

	var r fakeim.GetContactGroupResponse
	f.call(fakeim.GetContactGroup, `{"From_Account":"nobody","StartIndex":0}`, &r)
	if r.ErrorCode != 0 || r.CompleteFlag != 1 || r.ContactItem == nil || len(r.ContactItem) != 0 {
		t.Fatalf("empty user: %+v", r)
	}
	f.call(fakeim.GetContactGroup, `{"From_Account":"u","StartIndex":400}`, &r)
	if r.ErrorCode != 0 || r.CompleteFlag != 1 || len(r.ContactItem) != 0 {
		t.Fatalf("beyond the end: %+v", r)
	}
	for _, body := range []string{`{"From_Account":"u"}`, `{"From_Account":"u","StartIndex":-1}`, `{"StartIndex":0}`,
		`{"From_Account":"u","StartIndex":"0"}`} {
		var st fakeim.Status
		f.call(fakeim.GetContactGroup, body, &st)
		if st.ErrorCode != 50002 {
			t.Errorf("%s: %+v", body, st)
		}
	}
}
