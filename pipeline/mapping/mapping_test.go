package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"markimport/readers"
)

// legacyMap is the mapping of testdata/legacy's table.
const legacyMap = `from_account = "user_id"
type = { group_flag = "is_group" }
peer = "peer_id"
custom_mark = "label"
marks = { starred = "star", pinned = 32 }
`

// record is a record of the given source values, as a reader configured
// by m gives it.
func record(t *testing.T, m *Mapping, vals map[string]string) readers.Record {
	t.Helper()
	var b []byte
	for _, s := range m.sources {
		v, ok := vals[s.Name]
		if !ok {
			t.Fatalf("no value for source column %s", s.Name)
		}
		b = appendTestExtra(b, v)
	}
	return readers.Record{Row: 7, Extra: readers.Extras(b)}
}

// appendTestExtra encodes v as readers does (a uvarint length, then v).
func appendTestExtra(b []byte, v string) []byte {
	n := uint64(len(v))
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(append(b, byte(n)), v...)
}

func TestApply(t *testing.T) {
	legacy, err := parse("map.toml", legacyMap)
	if err != nil {
		t.Fatal(err)
	}
	twoPeers, err := parse("two.toml", "from_account = \"u\"\ntype = \"kind\"\npeer = { c2c = \"peer_user\", group = \"peer_group\" }\nopt_type = { value = 1 }\nset_mark = { value = \"star\" }\n")
	if err != nil {
		t.Fatal(err)
	}
	row := func(user, peer, group, starred, pinned, label string) map[string]string {
		return map[string]string{"user_id": user, "peer_id": peer, "is_group": group, "starred": starred, "pinned": pinned, "label": label}
	}
	for _, tc := range []struct {
		name    string
		m       *Mapping
		vals    map[string]string
		want    [readers.NumFields]string
		problem string // "column: problem", "" when valid
	}{
		{"c2c, star set, 32 cleared", legacy, row("u1", "p1", "0", "true", "false", ""),
			[readers.NumFields]string{"u1", "c2c", "p1", "", "0", "32", "", ""}, ""},
		{"group, both set, label", legacy, row(" u2 ", "g1", "1", "TRUE", "yes", "vip, \"q\""),
			[readers.NumFields]string{" u2 ", "group", "", "g1", "0|32", "", "vip, \"q\"", ""}, ""},
		{"spellings: t/f, y/n, 1/0", legacy, row("u3", "p3", "f", "Y", " n ", ""),
			[readers.NumFields]string{"u3", "c2c", "p3", "", "0", "32", "", ""}, ""},
		{"group flag not a boolean: kept as written, invalid", legacy, row("u4", "p4", "2", "true", "true", ""),
			[readers.NumFields]string{"u4", "2", "", "p4", "0|32", "", "", ""},
			`is_group: "2" is not true or false (true/false, t/f, yes/no, y/n or 1/0, any case) (a group flag: map.toml line 2 (type))`},
		{"mark column not a boolean", legacy, row("u5", "p5", "0", "maybe", "true", ""),
			[readers.NumFields]string{"u5", "c2c", "p5", "", "32", "", "", ""},
			`starred: "maybe" is not true or false (true/false, t/f, yes/no, y/n or 1/0, any case) (a mark's column: map.toml line 5 (marks))`},
		{"mark column empty", legacy, row("u6", "p6", "1", "true", "", ""),
			[readers.NumFields]string{"u6", "group", "", "p6", "0", "", "", ""},
			`pinned: empty; want true/false, t/f, yes/no, y/n or 1/0, any case (a mark's column: map.toml line 5 (marks))`},
		{"two peer columns, by type", twoPeers, map[string]string{"u": "a", "kind": "group", "peer_user": "stale", "peer_group": "g"},
			[readers.NumFields]string{"a", "group", "", "g", "star", "", "", "1"}, ""},
		{"two peer columns, no type: both, for validation to infer", twoPeers, map[string]string{"u": "a", "kind": "", "peer_user": "b", "peer_group": ""},
			[readers.NumFields]string{"a", "", "b", "", "star", "", "", "1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := record(t, tc.m, tc.vals)
			tc.m.apply(&rec)
			if rec.Fields != tc.want {
				t.Errorf("fields %q, want %q", rec.Fields, tc.want)
			}
			got := ""
			if rec.Problem != "" {
				got = rec.ProblemColumn + ": " + rec.Problem
			}
			if got != tc.problem {
				t.Errorf("problem %q, want %q", got, tc.problem)
			}
		})
	}
}

// TestApplyKeepsFirstProblem: a record a reader already found invalid
// keeps its problem.
func TestApplyKeepsFirstProblem(t *testing.T) {
	m, err := parse("map.toml", legacyMap)
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, m, map[string]string{"user_id": "u", "peer_id": "p", "is_group": "x", "starred": "1", "pinned": "0", "label": ""})
	rec.Problem, rec.ProblemColumn = "too long", "label"
	m.apply(&rec)
	if rec.Problem != "too long" || rec.ProblemColumn != "label" {
		t.Errorf("problem %q %q", rec.ProblemColumn, rec.Problem)
	}
}

// TestSinglePeerNeedsType: one peer column and a row without a type.
func TestSinglePeerNeedsType(t *testing.T) {
	m, err := parse("m.toml", "from_account = \"u\"\npeer = \"p\"\n")
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, m, map[string]string{"u": "a", "p": "b"})
	m.apply(&rec)
	if rec.ProblemColumn != "type" || !strings.Contains(rec.Problem, "m.toml line 2 (peer)") {
		t.Errorf("problem %q %q", rec.ProblemColumn, rec.Problem)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown target", "from_account = \"u\"\nstarred = \"s\"\n", `m.toml line 2 (starred): "starred" is not a column markimport takes`},
		{"mapped twice: two spellings", "from_account = \"u\"\nFromAccount = \"v\"\n", `m.toml line 2 (FromAccount): from_account is mapped twice: by "from_account" and by "FromAccount"`},
		{"mapped twice: peer and to_account", "to_account = \"a\"\npeer = \"p\"\n", `m.toml line 2 (peer): to_account is mapped twice: by "to_account" and by "peer"`},
		{"mapped twice: marks and set_mark", "set_mark = \"s\"\n\n[marks]\nstarred = \"star\"\n", `m.toml line 3 (marks): set_mark is mapped twice`},
		{"mapped twice: one key twice", "from_account = \"u\"\nfrom_account = \"v\"\n", `m.toml: toml: line 2`},
		{"unknown kind", "type = { flag = \"is_group\" }\n", `m.toml line 1 (type.flag): "flag" is not a kind of rule (column, value, group_flag; or the column's name alone)`},
		{"two kinds", "type = { column = \"a\", value = \"c2c\" }\n", `m.toml line 1 (type): a rule is one of column, value, group_flag, not 2 of them`},
		{"group flag elsewhere", "to_account = { group_flag = \"g\" }\n", `m.toml line 1 (to_account.group_flag): group_flag makes type, not to_account`},
		{"bit out of range", "marks = { starred = \"star\", pinned = 64 }\n", `m.toml line 1 (marks.pinned): bit 64 is out of range: want 0–63 or star, unread, fold, hide`},
		{"negative bit", "[marks]\nstarred = 0\npinned = -1\n", `m.toml line 3 (marks.pinned): bit -1 is out of range`},
		{"unknown mark name", "marks = { starred = \"starred\" }\n", `m.toml line 1 (marks.starred): "starred" is not a bit: want 0–63 or star, unread, fold, hide`},
		{"one bit from two columns", "marks = { starred = \"star\", fav = 0 }\n", `bit 0 comes from both "fav" and "starred"`},
		{"marks not a table", "marks = \"starred\"\n", `m.toml line 1 (marks): marks is a table of boolean columns`},
		{"peer table half", "peer = { c2c = \"a\" }\n", `m.toml line 1 (peer): peer as a table needs both c2c and group`},
		{"peer table unknown", "peer = { user = \"a\", group = \"g\" }\n", `m.toml line 1 (peer.user): "user" is not a kind of peer rule`},
		{"column not a string", "from_account = 3\n", `m.toml line 1 (from_account): want a source column's name (a non-empty string), not 3`},
		{"empty", "# nothing\n", `m.toml: it maps no column`},
		{"not TOML", "from_account = \n", `--map-file m.toml: toml: line 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse("m.toml", tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSources: each source column is read once, however many rules name
// it, and a missing one is refused naming the first rule's line and key.
func TestSources(t *testing.T) {
	m, err := parse("map.toml", legacyMap)
	if err != nil {
		t.Fatal(err)
	}
	var o readers.Options
	m.Configure(&o)
	var names []string
	for _, e := range o.Extra {
		names = append(names, e.Name+" "+e.Origin)
	}
	want := []string{"user_id map.toml line 1 (from_account)", "is_group map.toml line 2 (type)", "peer_id map.toml line 3 (peer)",
		"label map.toml line 4 (custom_mark)", "pinned map.toml line 5 (marks)", "starred map.toml line 5 (marks)"}
	if strings.Join(names, "; ") != strings.Join(want, "; ") {
		t.Errorf("sources %q, want %q", names, want)
	}
	for _, f := range []readers.Field{readers.FromAccount, readers.Type, readers.ToAccount, readers.ToGroupID, readers.SetMark, readers.ClearMark, readers.CustomMark} {
		if !o.Replaced[f] {
			t.Errorf("%s not replaced", f)
		}
	}
	if o.Replaced[readers.OptType] {
		t.Error("opt_type replaced, but the mapping does not make it")
	}

	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte("user_id,peer,is_group,starred,pinned,label\nu,p,0,true,true,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = readers.Open(path, o)
	if err == nil || !strings.Contains(err.Error(), `map.toml line 3 (peer): the file has no column "peer_id"`) {
		t.Errorf("open: %v", err)
	}
}
