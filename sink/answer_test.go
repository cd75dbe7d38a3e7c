package sink

import (
	"encoding/json"
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

var (
	convA = mark.Conversation{Type: mark.C2C, Peer: "a"}
	convB = mark.Conversation{Type: mark.C2C, Peer: "b"}
	convG = mark.Conversation{Type: mark.Group, Peer: "g"}
)

// sentAB is a request of user u carrying a and b (OptType 1) and group g
// (OptType 3).
var sentAB = map[mark.Conversation]int{convA: 1, convB: 1, convG: 3}

const (
	okHead = `"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""`
	entryA = `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"a"},"ResultCode":0,"ResultInfo":""}`
	entryB = `{"OptType":1,"ContactItem":{"Type":1,"To_Account":"b"},"ResultCode":0,"ResultInfo":""}`
	entryG = `{"OptType":3,"ContactItem":{"Type":2,"ToGroupId":"g"},"ResultCode":0,"ResultInfo":""}`
)

// markBody is a mark_contact answer with the head okHead and entries.
func markBody(entries ...string) string {
	return `{` + okHead + `,"ResultItem":[` + strings.Join(entries, ",") + `]}`
}

// TestDecodeMarkAnswer: every shape of a mark_contact answer that must not
// be believed, beside the ones that must. whole is the substring of a
// protocol error for the whole answer; otherwise bad lists the
// conversations left without a result, each with the substring of its
// problem, and the others must be ok (code 0) or carry code.
func TestDecodeMarkAnswer(t *testing.T) {
	type itemWant struct {
		conv    mark.Conversation
		code    int
		problem string // a substring; "" for a believed result
	}
	okAll := []itemWant{{convA, 0, ""}, {convB, 0, ""}, {convG, 0, ""}}
	tests := []struct {
		name  string
		body  string
		whole string // a substring of a protocol error for the whole answer
		head  int    // the head's code when the answer is believed
		items []itemWant
	}{
		{"all ok", markBody(entryA, entryB, entryG), "", 0, okAll},
		{"in any order", markBody(entryG, entryA, entryB), "", 0, okAll},
		{"an item failed", markBody(entryA, strings.Replace(entryB, `"ResultCode":0,"ResultInfo":""`, `"ResultCode":51007,"ResultInfo":"gone"`, 1), entryG), "", 0,
			[]itemWant{{convA, 0, ""}, {convB, 51007, ""}, {convG, 0, ""}}},
		{"unknown members are ignored", `{` + okHead + `,"ErrorDisplay":"","Extra":[1,{"x":null}],"ResultItem":[` +
			strings.Replace(entryA, `"ResultInfo":""`, `"ResultInfo":"","Seq":7`, 1) + `,` + entryB + `,` + entryG + `]}`, "", 0, okAll},
		{"OptType may be left out", markBody(strings.Replace(entryA, `"OptType":1,`, ``, 1), entryB, entryG), "", 0, okAll},
		{"the other peer empty", markBody(strings.Replace(entryA, `"To_Account":"a"`, `"To_Account":"a","ToGroupId":""`, 1), entryB, entryG), "", 0, okAll},
		{"ResultInfo of another type is only text", markBody(strings.Replace(entryA, `"ResultInfo":""`, `"ResultInfo":7`, 1), entryB, entryG), "", 0, okAll},
		{"a FAIL answer", `{"ActionStatus":"FAIL","ErrorCode":70009,"ErrorInfo":"bad sig"}`, "", 70009, nil},
		{"a FAIL answer's entries are not read", `{"ActionStatus":"FAIL","ErrorCode":60007,"ErrorInfo":"","ResultItem":[null]}`, "", 60007, nil},

		// One item's result cannot be believed; the others can.
		{"ResultCode missing", markBody(strings.Replace(entryA, `"ResultCode":0,`, ``, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, `the entry for c2c "a": ResultCode is missing`}, {convB, 0, ""}, {convG, 0, ""}}},
		{"ResultCode null", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":null`, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, "ResultCode is null, not an integer"}, {convB, 0, ""}, {convG, 0, ""}}},
		{`ResultCode "0"`, markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":"0"`, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, `ResultCode is a string ("0"), not an integer`}, {convB, 0, ""}, {convG, 0, ""}}},
		{"ResultCode 0.5", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":0.5`, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, "ResultCode is 0.5, not a 32-bit integer"}, {convB, 0, ""}, {convG, 0, ""}}},
		{"ResultCode 0.0", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":0.0`, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, "ResultCode is 0.0"}, {convB, 0, ""}, {convG, 0, ""}}},
		{"ResultCode 0e0", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":0e0`, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, "ResultCode is 0e0"}, {convB, 0, ""}, {convG, 0, ""}}},
		{"ResultCode false", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":false`, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, "ResultCode is a boolean"}, {convB, 0, ""}, {convG, 0, ""}}},
		{"ResultCode beyond 32 bits", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":4294967296`, 1), entryB, entryG), "", 0,
			[]itemWant{{convA, 0, "not a 32-bit integer"}, {convB, 0, ""}, {convG, 0, ""}}},
		{"ResultCode given twice, in another case", markBody(strings.Replace(entryA, `"ResultCode":0`, `"resultCode":51007,"ResultCode":0`, 1), entryB, entryG),
			`member "ResultCode" given twice`, 0, nil},
		{"ResultCode given twice in one entry", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":51007,"ResultCode":0`, 1), entryB, entryG),
			`ResultItem[0]: member "ResultCode" given twice`, 0, nil},
		{"two entries for a conversation, 51007 then 0", markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":51007`, 1), entryA, entryB, entryG), "", 0,
			[]itemWant{{convA, 0, `the answer holds 2 entries for c2c "a"`}, {convB, 0, ""}, {convG, 0, ""}}},
		{"two equal entries", markBody(entryA, entryA, entryB, entryG), "", 0,
			[]itemWant{{convA, 0, `2 entries for c2c "a"`}, {convB, 0, ""}, {convG, 0, ""}}},
		{"an item without an entry", markBody(entryA, entryG), "", 0,
			[]itemWant{{convA, 0, ""}, {convB, 0, `the answer holds no entry for c2c "b"`}, {convG, 0, ""}}},
		{"OptType not the one sent", markBody(entryA, entryB, strings.Replace(entryG, `"OptType":3`, `"OptType":1`, 1)), "", 0,
			[]itemWant{{convA, 0, ""}, {convB, 0, ""}, {convG, 0, `the entry for group "g": OptType 1, but 3 was sent`}}},
		{"OptType a string", markBody(entryA, entryB, strings.Replace(entryG, `"OptType":3`, `"OptType":"3"`, 1)), "", 0,
			[]itemWant{{convA, 0, ""}, {convB, 0, ""}, {convG, 0, `OptType is a string`}}},

		// The answer as a whole cannot be believed.
		{"an entry nobody asked for", markBody(entryA, entryB, entryG, strings.Replace(entryA, `"a"`, `"z"`, 1)), `ResultItem[3] names c2c "z", which the request did not carry`, 0, nil},
		{"the right peer, the wrong type", markBody(strings.Replace(entryA, `"Type":1,"To_Account":"a"`, `"Type":2,"ToGroupId":"a"`, 1), entryB, entryG), `names group "a"`, 0, nil},
		{"Type as a string", markBody(strings.Replace(entryA, `"Type":1`, `"Type":"1"`, 1), entryB, entryG), `ResultItem[0]: ContactItem: Type is a string ("1"), not an integer`, 0, nil},
		{"Type 3", markBody(strings.Replace(entryA, `"Type":1`, `"Type":3`, 1), entryB, entryG), `Type 3 is neither 1 (c2c) nor 2 (group)`, 0, nil},
		{"Type missing", markBody(strings.Replace(entryA, `"Type":1,`, ``, 1), entryB, entryG), `ContactItem: Type is missing`, 0, nil},
		{"To_Account and ToGroupId both set", markBody(strings.Replace(entryA, `"To_Account":"a"`, `"To_Account":"a","ToGroupId":"g"`, 1), entryB, entryG), `both are set`, 0, nil},
		{"an empty peer", markBody(strings.Replace(entryA, `"To_Account":"a"`, `"To_Account":""`, 1), entryB, entryG), `To_Account is empty`, 0, nil},
		{"a peer of another type", markBody(strings.Replace(entryA, `"To_Account":"a"`, `"To_Account":7`, 1), entryB, entryG), `To_Account is the number 7, not a string`, 0, nil},
		{"the peer under the other name", markBody(strings.Replace(entryA, `"To_Account":"a"`, `"ToGroupId":"a"`, 1), entryB, entryG), `Type 1 without To_Account`, 0, nil},
		{"ContactItem missing", markBody(`{"OptType":1,"ResultCode":0}`, entryB, entryG), `ResultItem[0]: ContactItem is missing`, 0, nil},
		{"ContactItem null", markBody(`{"OptType":1,"ContactItem":null,"ResultCode":0}`, entryB, entryG), `ContactItem: null, not a JSON object`, 0, nil},
		{"an entry that is not an object", markBody(entryA, `0`, entryB, entryG), `ResultItem[1]: the number 0, not a JSON object`, 0, nil},
		{"ResultItem missing", `{` + okHead + `}`, `ResultItem is missing`, 0, nil},
		{"ResultItem null", `{` + okHead + `,"ResultItem":null}`, `ResultItem is null, not an array`, 0, nil},
		{"ResultItem an object", `{` + okHead + `,"ResultItem":` + entryA + `}`, `ResultItem is an object, not an array`, 0, nil},
		{"ResultItem given twice", `{` + okHead + `,"ResultItem":[],"ResultItem":[` + entryA + `,` + entryB + `,` + entryG + `]}`, `member "ResultItem" given twice`, 0, nil},
		{`ActionStatus "ok"`, `{"ActionStatus":"ok","ErrorCode":0,"ResultItem":[` + entryA + `]}`, `ActionStatus "ok" is neither "OK" nor "FAIL"`, 0, nil},
		{"ActionStatus missing", `{"ErrorCode":0,"ResultItem":[]}`, `ActionStatus is missing`, 0, nil},
		{"ActionStatus null", `{"ActionStatus":null,"ErrorCode":0,"ResultItem":[]}`, `ActionStatus is null, not a string`, 0, nil},
		{"ErrorCode missing", `{"ActionStatus":"OK","ResultItem":[]}`, `ErrorCode is missing`, 0, nil},
		{"ErrorCode null", `{"ActionStatus":"OK","ErrorCode":null,"ResultItem":[]}`, `ErrorCode is null`, 0, nil},
		{`ErrorCode "0"`, `{"ActionStatus":"OK","ErrorCode":"0","ResultItem":[]}`, `ErrorCode is a string ("0"), not an integer`, 0, nil},
		{"OK with a code", `{"ActionStatus":"OK","ErrorCode":70009,"ResultItem":[]}`, `ActionStatus "OK" with ErrorCode 70009`, 0, nil},
		{"FAIL without a code", `{"ActionStatus":"FAIL","ErrorCode":0}`, `ActionStatus "FAIL" with ErrorCode 0`, 0, nil},
		{"another user's answer", `{` + okHead + `,"From_Account":"v","ResultItem":[` + entryA + `,` + entryB + `,` + entryG + `]}`, `From_Account "v", not the request's "u"`, 0, nil},
		{"an empty From_Account", `{` + okHead + `,"From_Account":"","ResultItem":[` + entryA + `,` + entryB + `,` + entryG + `]}`, `From_Account "", not the request's "u"`, 0, nil},
		{"an array", `[` + entryA + `]`, `the answer: an array, not a JSON object`, 0, nil},
		{"null", `null`, `the answer: null, not a JSON object`, 0, nil},
		{"data after the answer", markBody(entryA, entryB, entryG) + `{}`, `data after the JSON object`, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, results, err := decodeMarkAnswer([]byte(tt.body), "u", sentAB)
			if tt.whole != "" {
				if _, ok := err.(*protocolError); !ok || !strings.Contains(err.Error(), tt.whole) {
					t.Fatalf("err %v, want a protocol error with %q", err, tt.whole)
				}
				if results != nil {
					t.Fatalf("results %v beside a protocol error", results)
				}
				return
			}
			if err != nil || h.code != tt.head {
				t.Fatalf("head %+v, err %v; want code %d", h, err, tt.head)
			}
			if tt.head != 0 {
				return
			}
			if len(results) != len(sentAB) {
				t.Fatalf("%d results for %d items", len(results), len(sentAB))
			}
			for _, w := range tt.items {
				r := results[w.conv]
				switch {
				case w.problem == "" && (r.problem != nil || r.code != w.code):
					t.Errorf("%v: %+v, want code %d", w.conv, r, w.code)
				case w.problem != "" && (r.problem == nil || !strings.Contains(r.problem.Error(), w.problem)):
					t.Errorf("%v: %+v, want a problem with %q", w.conv, r, w.problem)
				}
			}
		})
	}
}

// searchBody is a search_contact_group answer with the head okHead and
// entries.
func searchBody(entries ...string) string {
	return `{` + okHead + `,"ContactResultItem":[` + strings.Join(entries, ",") + `]}`
}

const (
	readA = `{"Type":1,"To_Account":"a","StandardMark":"101","CustomMark":"x","Timestamp":1}`
	readG = `{"Type":2,"ToGroupId":"g","StandardMark":"","Timestamp":1}`
)

// TestDecodeSearchAnswer: the shapes of a read answer that must not be
// believed, beside the ones that must.
func TestDecodeSearchAnswer(t *testing.T) {
	asked := []mark.Conversation{convA, convB, convG}
	tests := []struct {
		name string
		body string
		bad  string // a substring of the protocol error; "" when believed
		want map[mark.Conversation]mark.ServerMarks
	}{
		{"two of three held", searchBody(readG, readA), "", map[mark.Conversation]mark.ServerMarks{convA: {Standard: 5, Custom: "x"}, convG: {}}},
		{"none held", searchBody(), "", map[mark.Conversation]mark.ServerMarks{}},
		{"CustomMark left out is empty", searchBody(strings.Replace(readA, `,"CustomMark":"x"`, ``, 1)), "", map[mark.Conversation]mark.ServerMarks{convA: {Standard: 5}}},
		{"64 characters", searchBody(strings.Replace(readA, `"101"`, `"1`+strings.Repeat("0", 63)+`"`, 1)), "", map[mark.Conversation]mark.ServerMarks{convA: {Standard: 1 << 63, Custom: "x"}}},
		{"a custom mark of 256 bytes", searchBody(strings.Replace(readA, `"x"`, `"`+strings.Repeat("字", 85)+`x"`, 1)), "", map[mark.Conversation]mark.ServerMarks{convA: {Standard: 5, Custom: strings.Repeat("字", 85) + "x"}}},
		{"a surrogate pair", searchBody(strings.Replace(readA, `"x"`, `"\ud83d\ude00"`, 1)), "", map[mark.Conversation]mark.ServerMarks{convA: {Standard: 5, Custom: "😀"}}},
		{"a FAIL answer", `{"ActionStatus":"FAIL","ErrorCode":50001,"ErrorInfo":"no user"}`, "", nil},

		{"StandardMark missing", searchBody(strings.Replace(readA, `"StandardMark":"101",`, ``, 1)), `the entry for c2c "a": StandardMark is missing`, nil},
		{"StandardMark null", searchBody(strings.Replace(readA, `"101"`, `null`, 1)), `StandardMark is null, not a string`, nil},
		{"StandardMark a number", searchBody(strings.Replace(readA, `"101"`, `101`, 1)), `StandardMark is the number 101, not a string`, nil},
		{"StandardMark not binary", searchBody(strings.Replace(readA, `"101"`, `"1012"`, 1)), `character 4 is not 0 or 1`, nil},
		{"StandardMark of 65 characters", searchBody(strings.Replace(readA, `"101"`, `"`+strings.Repeat("0", 65)+`"`, 1)), `more than 64 bits`, nil},
		{"CustomMark null", searchBody(strings.Replace(readA, `"x"`, `null`, 1)), `CustomMark is null, not a string`, nil},
		{"CustomMark of 257 bytes", searchBody(strings.Replace(readA, `"x"`, `"`+strings.Repeat("x", 257)+`"`, 1)), `CustomMark is 257 bytes`, nil},
		{"CustomMark not UTF-8", searchBody(strings.Replace(readA, `"x"`, "\"\xff\"", 1)), `CustomMark is not valid UTF-8`, nil},
		{"CustomMark with an unpaired surrogate", searchBody(strings.Replace(readA, `"x"`, `"a\ud800b"`, 1)), `CustomMark holds an unpaired UTF-16 surrogate escape`, nil},
		{"two entries for a conversation", searchBody(readA, strings.Replace(readA, `"101"`, `"0"`, 1)), `more than one entry for c2c "a"`, nil},
		{"two equal entries", searchBody(readA, readA), `more than one entry for c2c "a"`, nil},
		{"a nested ContactItem", searchBody(`{"ContactItem":{"Type":1,"To_Account":"a"},"StandardMark":"1"}`), `ContactResultItem[0] holds a nested ContactItem`, nil},
		{"a wrong Type", searchBody(strings.Replace(readA, `"Type":1`, `"Type":2`, 1)), `Type 2 without ToGroupId`, nil},
		{"the right peer as a group", searchBody(`{"Type":2,"ToGroupId":"a","StandardMark":"1"}`), `names group "a", which the request did not ask for`, nil},
		{"an entry nobody asked for", searchBody(readA, strings.Replace(readA, `"a"`, `"z"`, 1)), `names c2c "z", which the request did not ask for`, nil},
		{"Type as a string", searchBody(strings.Replace(readA, `"Type":1`, `"Type":"1"`, 1)), `Type is a string ("1"), not an integer`, nil},
		{"both peers", searchBody(strings.Replace(readA, `"To_Account":"a"`, `"To_Account":"a","ToGroupId":"g"`, 1)), `both are set`, nil},
		{"ContactResultItem missing", `{` + okHead + `}`, `ContactResultItem is missing`, nil},
		{"ContactResultItem null", `{` + okHead + `,"ContactResultItem":null}`, `ContactResultItem is null, not an array`, nil},
		{"StandardMark given twice", searchBody(strings.Replace(readA, `"StandardMark":"101"`, `"StandardMark":"101","StandardMark":"0"`, 1)), `member "StandardMark" given twice`, nil},
		{`ActionStatus "ok"`, `{"ActionStatus":"ok","ErrorCode":0,"ContactResultItem":[]}`, `ActionStatus "ok" is neither`, nil},
		{"another user's answer", `{` + okHead + `,"From_Account":"v","ContactResultItem":[]}`, `From_Account "v"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, got, err := decodeSearchAnswer([]byte(tt.body), "u", asked, mark.BitZeroLast)
			if tt.bad != "" {
				if _, ok := err.(*protocolError); !ok || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("err %v, want a protocol error with %q", err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if h.code == 0 || got != nil {
					t.Fatalf("head %+v, marks %v: want the FAIL code alone", h, got)
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for c, m := range tt.want {
				g, ok := got[c]
				// Text is the StandardMark sent, which Standard is read from.
				if v, err := parseStandardMark(g.Text, mark.BitZeroLast); ok && (err != nil || v != g.Standard) {
					t.Errorf("%v: Text %q does not read as Standard %#x", c, g.Text, g.Standard)
				}
				g.Text = ""
				if !ok || g != m {
					t.Errorf("%v: %+v (held %v), want %+v", c, g, ok, m)
				}
			}
		})
	}
}

// FuzzMarkAnswer: whatever the bytes, the decoder does not panic, and
// what it believes agrees with a plain reading by encoding/json: an item
// reported with code 0 has exactly one entry naming it, whose ResultCode is
// the JSON number 0, in an answer whose ActionStatus is "OK" and ErrorCode
// 0; and every item sent has a result or a problem.
func FuzzMarkAnswer(f *testing.F) {
	for _, s := range []string{
		markBody(entryA, entryB, entryG), markBody(entryA, entryA, entryB), markBody(),
		markBody(strings.Replace(entryA, `"ResultCode":0`, `"ResultCode":null`, 1), entryB, entryG),
		`{"ActionStatus":"FAIL","ErrorCode":60007}`, `{"ActionStatus":"ok","ErrorCode":0}`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, results, err := decodeMarkAnswer(body, "u", sentAB)
		if err != nil || h.code != 0 {
			return
		}
		if len(results) != len(sentAB) {
			t.Fatalf("%d results for %d items", len(results), len(sentAB))
		}
		var plain struct {
			ActionStatus json.RawMessage
			ErrorCode    json.RawMessage
			ResultItem   []struct {
				ContactItem struct {
					Type      json.RawMessage
					ToAccount json.RawMessage `json:"To_Account"`
					ToGroupID json.RawMessage `json:"ToGroupId"`
				}
				ResultCode json.RawMessage
			}
		}
		if err := json.Unmarshal(body, &plain); err != nil {
			t.Fatalf("believed an answer encoding/json cannot read: %v", err)
		}
		if string(plain.ActionStatus) != `"OK"` || string(plain.ErrorCode) != "0" && string(plain.ErrorCode) != "-0" {
			t.Fatalf("believed a head that is not OK with 0: %s", body)
		}
		for conv, r := range results {
			if r.problem != nil || r.code != 0 {
				continue
			}
			n := 0
			for _, e := range plain.ResultItem {
				peer := e.ContactItem.ToAccount
				if conv.Type == mark.Group {
					peer = e.ContactItem.ToGroupID
				}
				var p string
				if string(e.ContactItem.Type) == string(rune('0'+conv.Type)) && json.Unmarshal(peer, &p) == nil && p == conv.Peer {
					n++
					if rc := string(e.ResultCode); rc != "0" && rc != "-0" {
						t.Fatalf("%v believed ok with ResultCode %s: %s", conv, rc, body)
					}
				}
			}
			if n != 1 {
				t.Fatalf("%v believed ok with %d entries naming it: %s", conv, n, body)
			}
		}
	})
}

// FuzzSearchAnswer: whatever the bytes, the read decoder does not panic,
// and a believed answer holds only conversations asked for, each named by
// exactly one entry of encoding/json's plain reading, with its
// StandardMark.
func FuzzSearchAnswer(f *testing.F) {
	for _, s := range []string{
		searchBody(readA, readG), searchBody(readA, readA), searchBody(),
		searchBody(strings.Replace(readA, `"101"`, `null`, 1)), `{"ActionStatus":"OK","ErrorCode":0}`, `{`,
	} {
		f.Add([]byte(s))
	}
	asked := []mark.Conversation{convA, convB, convG}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, got, err := decodeSearchAnswer(body, "u", asked, mark.BitZeroLast)
		if err != nil || got == nil {
			return
		}
		var plain struct {
			ContactResultItem []struct {
				Type         json.RawMessage
				ToAccount    json.RawMessage `json:"To_Account"`
				ToGroupID    json.RawMessage `json:"ToGroupId"`
				StandardMark json.RawMessage
			}
		}
		if err := json.Unmarshal(body, &plain); err != nil {
			t.Fatalf("believed an answer encoding/json cannot read: %v", err)
		}
		if len(plain.ContactResultItem) != len(got) {
			t.Fatalf("%d entries, %d conversations believed: %s", len(plain.ContactResultItem), len(got), body)
		}
		for conv, m := range got {
			if conv != convA && conv != convB && conv != convG {
				t.Fatalf("believed %v, not asked for", conv)
			}
			n := 0
			for _, e := range plain.ContactResultItem {
				peer := e.ToAccount
				if conv.Type == mark.Group {
					peer = e.ToGroupID
				}
				var p, std string
				if string(e.Type) == string(rune('0'+conv.Type)) && json.Unmarshal(peer, &p) == nil && p == conv.Peer {
					n++
					if err := json.Unmarshal(e.StandardMark, &std); err != nil || e.StandardMark[0] != '"' {
						t.Fatalf("%v believed with StandardMark %s: %s", conv, e.StandardMark, body)
					}
					if v, err := parseStandardMark(std, mark.BitZeroLast); err != nil || v != m.Standard {
						t.Fatalf("%v believed as %#x; StandardMark %q: %#x %v", conv, m.Standard, std, v, err)
					}
				}
			}
			if n != 1 {
				t.Fatalf("%v believed with %d entries naming it: %s", conv, n, body)
			}
		}
	})
}
