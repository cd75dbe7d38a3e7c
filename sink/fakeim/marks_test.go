package fakeim_test

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

func TestMarkContactRequestErrors(t *testing.T) {
	good := `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1]}`
	items := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"OptType":1,"ContactItem":{"Type":1,"To_Account":"p%d"},"SetMark":[1]}`, i)
		}
		return `{"From_Account":"user0","MarkItem":[` + strings.Join(parts, ",") + `]}`
	}
	tests := []struct {
		name string
		body string
		code int
	}{
		{"not JSON", `{"From_Account":`, 50002},
		{"empty body", ``, 50002},
		{"JSON array", `[` + good + `]`, 50002},
		{"JSON null", `null`, 50002},
		{"trailing data", `{"From_Account":"user0","MarkItem":[` + good + `]} {}`, 50002},
		{"unknown top-level field", `{"From_Account":"user0","Extra":1,"MarkItem":[` + good + `]}`, 50002},
		{"unknown item field", `{"From_Account":"user0","MarkItem":[{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1],"Bits":[2]}]}`, 50002},
		{"unknown ContactItem field", `{"From_Account":"user0","MarkItem":[{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a","Peer":"a"},"SetMark":[1]}]}`, 50002},
		{"field in another case", `{"from_account":"user0","MarkItem":[` + good + `]}`, 50002},
		{"nested field in another case", `{"From_Account":"user0","MarkItem":[{"OptType":1,"ContactItem":{"Type":1,"To_account":"a"},"SetMark":[1]}]}`, 50002},
		{"OptType as string", `{"From_Account":"user0","MarkItem":[{"OptType":"1","ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1]}]}`, 50002},
		{"bit as float", `{"From_Account":"user0","MarkItem":[{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1.5]}]}`, 50002},
		{"bit as string", `{"From_Account":"user0","MarkItem":[{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":["1"]}]}`, 50002},
		{"From_Account missing", `{"MarkItem":[` + good + `]}`, 50002},
		{"From_Account empty", `{"From_Account":"","MarkItem":[` + good + `]}`, 50002},
		{"From_Account not a string", `{"From_Account":7,"MarkItem":[` + good + `]}`, 50002},
		{"From_Account of 33 bytes", `{"From_Account":"` + strings.Repeat("u", 33) + `","MarkItem":[` + good + `]}`, 50002},
		{"From_Account with a control character", `{"From_Account":"user\u001b0","MarkItem":[` + good + `]}`, 50002},
		{"MarkItem missing", `{"From_Account":"user0"}`, 51006},
		{"MarkItem empty", `{"From_Account":"user0","MarkItem":[]}`, 51006},
		{"101 items", items(101), 51006},
		{"same conversation twice", `{"From_Account":"user0","MarkItem":[` + good + `,{"OptType":2,"ContactItem":{"Type":1,"To_Account":"a"},"CustomMark":"x"}]}`, 50002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := seeded(t, fakeim.Config{})
			before := f.srv.Snapshot()
			r := f.mark(tt.body)
			if r.ActionStatus != "FAIL" || r.ErrorCode != tt.code || r.ErrorInfo == "" || r.ResultItem != nil {
				t.Fatalf("answer %+v, want FAIL %d with a reason", r, tt.code)
			}
			if after := f.srv.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Fatalf("state changed: %v -> %v", before, after)
			}
			if st := f.srv.Stats(); st.MalformedRequests != 1 || st.ErrorCodes[tt.code] != 1 {
				t.Fatalf("stats %v", st)
			}
		})
	}
}

func TestMarkContactItemErrors(t *testing.T) {
	long := strings.Repeat("x", 257)
	wide := strings.Repeat("中", 86) // 258 bytes, 86 characters
	tests := []struct {
		name string
		item string
	}{
		{"OptType 0", `{"OptType":0,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1]}`},
		{"OptType 4", `{"OptType":4,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1]}`},
		{"OptType missing", `{"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1]}`},
		{"Type 0", `{"OptType":1,"ContactItem":{"Type":0,"To_Account":"a"},"SetMark":[1]}`},
		{"Type 3", `{"OptType":1,"ContactItem":{"Type":3,"To_Account":"a"},"SetMark":[1]}`},
		{"ContactItem missing", `{"OptType":1,"SetMark":[1]}`},
		{"c2c without To_Account", `{"OptType":1,"ContactItem":{"Type":1},"SetMark":[1]}`},
		{"c2c with empty To_Account", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":""},"SetMark":[1]}`},
		{"c2c with ToGroupId", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a","ToGroupId":"g"},"SetMark":[1]}`},
		{"c2c with only ToGroupId", `{"OptType":1,"ContactItem":{"Type":1,"ToGroupId":"g"},"SetMark":[1]}`},
		{"group without ToGroupId", `{"OptType":1,"ContactItem":{"Type":2},"SetMark":[1]}`},
		{"group with To_Account", `{"OptType":1,"ContactItem":{"Type":2,"ToGroupId":"g","To_Account":"a"},"SetMark":[1]}`},
		{"SetMark 64", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[64]}`},
		{"SetMark -1", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[-1]}`},
		{"ClearMark 64", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"ClearMark":[64]}`},
		{"ClearMark huge", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"ClearMark":[4294967296]}`},
		{"bit set and cleared", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1,2],"ClearMark":[2]}`},
		{"OptType 1 without bits", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"}}`},
		{"OptType 1 with empty lists", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[],"ClearMark":[]}`},
		{"OptType 1 with CustomMark", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1],"CustomMark":"x"}`},
		{"OptType 1 with empty CustomMark", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1],"CustomMark":""}`},
		{"OptType 2 without CustomMark", `{"OptType":2,"ContactItem":{"Type":1,"To_Account":"a"}}`},
		{"OptType 2 with null CustomMark", `{"OptType":2,"ContactItem":{"Type":1,"To_Account":"a"},"CustomMark":null}`},
		{"OptType 2 with SetMark", `{"OptType":2,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1],"CustomMark":"x"}`},
		{"OptType 2 with ClearMark", `{"OptType":2,"ContactItem":{"Type":1,"To_Account":"a"},"ClearMark":[1],"CustomMark":"x"}`},
		{"OptType 3 without bits", `{"OptType":3,"ContactItem":{"Type":1,"To_Account":"a"},"CustomMark":"x"}`},
		{"OptType 3 without CustomMark", `{"OptType":3,"ContactItem":{"Type":1,"To_Account":"a"},"SetMark":[1]}`},
		{"To_Account of 33 bytes", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"` + strings.Repeat("a", 33) + `"},"SetMark":[1]}`},
		{"To_Account with NUL", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a\u0000b"},"SetMark":[1]}`},
		{"To_Account with C1", `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a\u0085b"},"SetMark":[1]}`},
		{"ToGroupId of 49 bytes", `{"OptType":1,"ContactItem":{"Type":2,"ToGroupId":"` + strings.Repeat("g", 49) + `"},"SetMark":[1]}`},
		{"ToGroupId with DEL", `{"OptType":1,"ContactItem":{"Type":2,"ToGroupId":"g\u007f"},"SetMark":[1]}`},
		{"CustomMark 257 bytes", `{"OptType":2,"ContactItem":{"Type":1,"To_Account":"a"},"CustomMark":"` + long + `"}`},
		{"CustomMark 86 characters of 3 bytes", `{"OptType":2,"ContactItem":{"Type":1,"To_Account":"a"},"CustomMark":"` + wide + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := seeded(t, fakeim.Config{})
			before := f.srv.Snapshot()
			r := f.mark(`{"From_Account":"user0","MarkItem":[` + tt.item + `]}`)
			if r.ActionStatus != "OK" || r.ErrorCode != 0 || len(r.ResultItem) != 1 {
				t.Fatalf("answer %+v, want OK with one result", r)
			}
			if it := r.ResultItem[0]; it.ResultCode != 50002 || it.ResultInfo == "" {
				t.Fatalf("result %+v, want ResultCode 50002 with a reason", it)
			}
			if after := f.srv.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Fatalf("state changed: %v -> %v", before, after)
			}
			if st := f.srv.Stats(); st.MalformedItems != 1 || st.ItemsApplied != 0 || st.ResultCodes[50002] != 1 {
				t.Fatalf("stats %v", st)
			}
		})
	}
}

func TestMarkContactAcceptsBoundaries(t *testing.T) {
	max := strings.Repeat("x", 256)
	wide := strings.Repeat("中", 85) + "x" // 256 bytes
	tests := []struct {
		name string
		item fakeim.MarkItem
		want fakeim.Mark
	}{
		{"bits 0 and 63", setBits(c2c("a"), 0, 63), fakeim.Mark{Standard: 1<<63 | 1}},
		{"duplicate bits", setBits(c2c("a"), 5, 5), fakeim.Mark{Standard: 1 << 5}},
		{"clear only", fakeim.MarkItem{OptType: 1, ContactItem: c2c("a"), ClearMark: []int64{3}}, fakeim.Mark{}},
		{"custom 256 bytes", custom(c2c("a"), max), fakeim.Mark{Custom: max, CustomSet: true}},
		{"custom 256 bytes of UTF-8", custom(c2c("a"), wide), fakeim.Mark{Custom: wide, CustomSet: true}},
		{"custom empty", custom(c2c("a"), ""), fakeim.Mark{CustomSet: true}},
		{"group", setBits(group("@TGS#1"), 32), fakeim.Mark{Standard: 1 << 32}},
		{"To_Account of 32 bytes", setBits(c2c(strings.Repeat("a", 32)), 1), fakeim.Mark{Standard: 2}},
		{"ToGroupId of 48 bytes", setBits(group(strings.Repeat("g", 48)), 1), fakeim.Mark{Standard: 2}},
		{"To_Account of 10 characters of 3 bytes", setBits(c2c(strings.Repeat("中", 10)), 1), fakeim.Mark{Standard: 2}},
		{"both", fakeim.MarkItem{OptType: 3, ContactItem: c2c("a"), SetMark: []int64{1}, CustomMark: str("c")},
			fakeim.Mark{Standard: 2, Custom: "c", CustomSet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fakeim.Config{})
			f.markOK("user0", tt.item)
			conv := fakeim.Conversation{Type: tt.item.ContactItem.Type,
				Peer: tt.item.ContactItem.ToAccount + tt.item.ContactItem.ToGroupID}
			if got, ok := f.srv.Lookup("user0", conv); !ok || got != tt.want {
				t.Fatalf("state %+v (%v), want %+v", got, ok, tt.want)
			}
		})
	}

	t.Run("100 items", func(t *testing.T) {
		f := newFixture(t, fakeim.Config{})
		var items []fakeim.MarkItem
		for i := range 100 {
			items = append(items, setBits(c2c(fmt.Sprint("p", i)), 1))
		}
		f.markOK("user0", items...)
		if n := f.srv.TotalConversations(); n != 100 {
			t.Fatalf("%d conversations", n)
		}
	})
}

func TestMarkContactPartialSuccess(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	r := f.mark(markBody("user0",
		setBits(c2c("a"), 1),
		setBits(c2c("b"), 64),
		custom(group("g"), "hello"),
	))
	if r.ActionStatus != "OK" || r.ErrorCode != 0 {
		t.Fatalf("answer %+v, want OK: partial success is reported per item", r)
	}
	res := byConversation(t, r.ResultItem)
	if res[c2c("a")].ResultCode != 0 || res[c2c("b")].ResultCode != 50002 || res[group("g")].ResultCode != 0 {
		t.Fatalf("results %+v", res)
	}
	if res[group("g")].OptType != 2 || res[c2c("b")].OptType != 1 {
		t.Fatalf("OptType not echoed: %+v", res)
	}
	want := map[fakeim.Conversation]fakeim.Mark{
		{Type: 1, Peer: "a"}: {Standard: 2},
		{Type: 2, Peer: "g"}: {Custom: "hello", CustomSet: true},
	}
	if got := f.srv.Conversations("user0"); !maps.Equal(got, want) {
		t.Fatalf("state %v, want %v", got, want)
	}
	if st := f.srv.Stats(); st.ItemsApplied != 2 || st.ItemsFailed != 1 || st.MalformedItems != 1 {
		t.Fatalf("stats %v", st)
	}
}

func TestMarkContactApply(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	conv := fakeim.Conversation{Type: fakeim.C2C, Peer: "bob"}
	steps := []struct {
		name string
		item fakeim.MarkItem
		want fakeim.Mark
	}{
		{"set 1 2 3", setBits(c2c("bob"), 1, 2, 3), fakeim.Mark{Standard: 0b1110}},
		{"set again is idempotent", setBits(c2c("bob"), 1, 2, 3), fakeim.Mark{Standard: 0b1110}},
		{"clear 2, set 5", fakeim.MarkItem{OptType: 1, ContactItem: c2c("bob"), SetMark: []int64{5}, ClearMark: []int64{2}},
			fakeim.Mark{Standard: 0b101010}},
		{"clear an unset bit", fakeim.MarkItem{OptType: 1, ContactItem: c2c("bob"), ClearMark: []int64{40}},
			fakeim.Mark{Standard: 0b101010}},
		{"custom leaves bits", custom(c2c("bob"), "vip"), fakeim.Mark{Standard: 0b101010, Custom: "vip", CustomSet: true}},
		{"bits leave custom", setBits(c2c("bob"), 63), fakeim.Mark{Standard: 1<<63 | 0b101010, Custom: "vip", CustomSet: true}},
		{"both, custom emptied", fakeim.MarkItem{OptType: 3, ContactItem: c2c("bob"), ClearMark: []int64{1, 3, 5, 63},
			CustomMark: str("")}, fakeim.Mark{CustomSet: true}},
		{"resent is idempotent", fakeim.MarkItem{OptType: 3, ContactItem: c2c("bob"), ClearMark: []int64{1, 3, 5, 63},
			CustomMark: str("")}, fakeim.Mark{CustomSet: true}},
	}
	for _, s := range steps {
		f.markOK("alice", s.item)
		if got, _ := f.srv.Lookup("alice", conv); got != s.want {
			t.Fatalf("after %q: %+v, want %+v", s.name, got, s.want)
		}
	}
	// A conversation whose marks are all cleared is still a conversation.
	if f.srv.Users() != 1 || f.srv.TotalConversations() != 1 {
		t.Fatalf("users %d conversations %d", f.srv.Users(), f.srv.TotalConversations())
	}
	// Users are independent.
	if got := f.srv.Conversations("bob"); len(got) != 0 {
		t.Fatalf("bob has %v", got)
	}
}

func TestMarkContactConversationLimit(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	for i := range 1000 {
		f.srv.SetMark("user0", fakeim.Conversation{Type: fakeim.C2C, Peer: fmt.Sprint("p", i)}, fakeim.Mark{Standard: 1})
	}
	r := f.mark(markBody("user0", setBits(c2c("p1000"), 2), setBits(c2c("p5"), 2), custom(group("g"), "x")))
	res := byConversation(t, r.ResultItem)
	if r.ErrorCode != 0 || res[c2c("p1000")].ResultCode != 51008 || res[group("g")].ResultCode != 51008 ||
		res[c2c("p5")].ResultCode != 0 {
		t.Fatalf("answer %+v", r)
	}
	if m, _ := f.srv.Lookup("user0", fakeim.Conversation{Type: 1, Peer: "p5"}); m.Standard != 0b101 {
		t.Fatalf("existing conversation not updated: %+v", m)
	}
	if _, ok := f.srv.Lookup("user0", fakeim.Conversation{Type: 1, Peer: "p1000"}); ok {
		t.Fatal("1001st conversation was stored")
	}
	// Other users have their own 1000.
	f.markOK("user1", setBits(c2c("p1000"), 2))

	// Removing a conversation makes room for one more.
	f.srv.DeleteConversation("user0", fakeim.Conversation{Type: 1, Peer: "p0"})
	f.markOK("user0", setBits(c2c("p1000"), 2))
	if n := len(f.srv.Conversations("user0")); n != 1000 {
		t.Fatalf("%d conversations", n)
	}
}

func TestMarkContactConversationLimitWithinRequest(t *testing.T) {
	f := newFixture(t, fakeim.Config{MaxConversations: 3})
	f.markOK("user0", setBits(c2c("a"), 1))
	var items []fakeim.MarkItem
	for _, p := range []string{"b", "c", "d", "a", "e"} {
		items = append(items, setBits(c2c(p), 2))
	}
	res := byConversation(t, f.mark(markBody("user0", items...)).ResultItem)
	// New conversations take the free places in request order.
	want := map[string]int{"b": 0, "c": 0, "d": 51008, "a": 0, "e": 51008}
	for p, code := range want {
		if got := res[c2c(p)].ResultCode; got != code {
			t.Errorf("%s: ResultCode %d, want %d", p, got, code)
		}
	}
}

func TestMarkContactResultsNotInRequestOrder(t *testing.T) {
	f := newFixture(t, fakeim.Config{Seed: 7})
	for _, n := range []int{2, 3, 100} {
		var items []fakeim.MarkItem
		for i := range n {
			items = append(items, setBits(c2c(fmt.Sprintf("n%d-p%d", n, i)), 1))
		}
		r := f.mark(markBody("user0", items...))
		if len(r.ResultItem) != n {
			t.Fatalf("%d results for %d items", len(r.ResultItem), n)
		}
		inOrder := true
		for i, it := range r.ResultItem {
			if it.ContactItem != items[i].ContactItem {
				inOrder = false
			}
		}
		if inOrder {
			t.Errorf("%d results came back in request order", n)
		}
		res := byConversation(t, r.ResultItem)
		for _, it := range items {
			if res[it.ContactItem].ResultCode != 0 {
				t.Errorf("no success for %+v", it.ContactItem)
			}
		}
	}
}

func TestUnknownUsersAndGroups(t *testing.T) {
	f := newFixture(t, fakeim.Config{Users: []string{"user0", "a"}, Groups: []string{"g"}})
	r := f.mark(markBody("stranger", setBits(c2c("a"), 1)))
	if r.ActionStatus != "FAIL" || r.ErrorCode != 50001 {
		t.Fatalf("unknown From_Account: %+v", r)
	}
	r = f.mark(markBody("user0", setBits(c2c("a"), 1), setBits(c2c("ghost"), 1), setBits(group("g"), 1), setBits(group("gone"), 1)))
	res := byConversation(t, r.ResultItem)
	if r.ErrorCode != 0 || res[c2c("a")].ResultCode != 0 || res[c2c("ghost")].ResultCode != 50001 ||
		res[group("g")].ResultCode != 0 || res[group("gone")].ResultCode != 51007 {
		t.Fatalf("answer %+v", r)
	}
	if n := f.srv.TotalConversations(); n != 2 {
		t.Fatalf("%d conversations", n)
	}
}

func TestEditionWithoutStandardMarks(t *testing.T) {
	f := seeded(t, fakeim.Config{NoStandardMarks: true})
	before := f.srv.Snapshot()
	for _, item := range []fakeim.MarkItem{
		setBits(c2c("a"), 1),
		{OptType: 3, ContactItem: c2c("a"), SetMark: []int64{1}, CustomMark: str("x")},
	} {
		r := f.mark(markBody("user0", custom(c2c("b"), "fine"), item))
		if r.ActionStatus != "FAIL" || r.ErrorCode != 51013 {
			t.Fatalf("answer %+v, want FAIL 51013", r)
		}
	}
	if after := f.srv.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed: %v -> %v", before, after)
	}
	// Custom marks work on every edition.
	f.markOK("user0", custom(c2c("b"), "fine"))
}

func TestStateAccessors(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	a := fakeim.Conversation{Type: fakeim.C2C, Peer: "a"}
	g := fakeim.Conversation{Type: fakeim.Group, Peer: "g"}
	f.srv.SetMark("u1", a, fakeim.Mark{Standard: 9})
	f.srv.SetMark("u2", g, fakeim.Mark{Custom: "c", CustomSet: true})
	f.srv.SetMark("u2", a, fakeim.Mark{})
	if f.srv.Users() != 2 || f.srv.TotalConversations() != 3 {
		t.Fatalf("users %d conversations %d", f.srv.Users(), f.srv.TotalConversations())
	}
	snap := f.srv.Snapshot()
	snap["u1"][a] = fakeim.Mark{Standard: 1} // a copy: the server is unaffected
	if m, _ := f.srv.Lookup("u1", a); m.Standard != 9 {
		t.Fatal("Snapshot shares memory with the server")
	}
	// The client sees changes made behind its back.
	f.markOK("u1", setBits(c2c("a"), 1))
	if m, _ := f.srv.Lookup("u1", a); m.Standard != 11 {
		t.Fatalf("got %+v", m)
	}
	f.srv.DeleteConversation("u1", a)
	f.srv.DeleteConversation("u1", a)
	if _, ok := f.srv.Lookup("u1", a); ok || f.srv.Users() != 1 {
		t.Fatal("DeleteConversation did not remove the conversation and its empty user")
	}
	if a.String() != "c2c:a" || g.String() != "group:g" {
		t.Fatalf("String: %s %s", a, g)
	}
}
