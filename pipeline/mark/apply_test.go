package mark_test

import (
	"testing"

	"markimport/pipeline/mark"
)

func TestItemChangesAndApplied(t *testing.T) {
	prev := mark.ServerMarks{Standard: 1<<0 | 1<<5, Custom: "vip"}
	for _, tc := range []struct {
		name    string
		it      mark.Item
		found   bool
		changes bool
		after   mark.ServerMarks
	}{
		{"sets a bit already set", mark.Item{Set: 1 << 5, Opt: mark.OptStandard}, true, false, prev},
		{"sets a new bit", mark.Item{Set: 1 << 63, Opt: mark.OptStandard}, true, true, mark.ServerMarks{Standard: prev.Standard | 1<<63, Custom: "vip"}},
		{"clears a set bit", mark.Item{Clear: 1, Opt: mark.OptStandard}, true, true, mark.ServerMarks{Standard: 1 << 5, Custom: "vip"}},
		{"clears a clear bit", mark.Item{Clear: 1 << 2, Opt: mark.OptStandard}, true, false, prev},
		{"same custom mark", mark.Item{Custom: "vip", Opt: mark.OptCustom}, true, false, prev},
		{"new custom mark", mark.Item{Custom: "", Opt: mark.OptCustom}, true, true, mark.ServerMarks{Standard: prev.Standard}},
		{"standard only leaves the custom mark", mark.Item{Set: 1, Custom: "ignored", Opt: mark.OptStandard}, true, false, prev},
		{"absent conversation", mark.Item{Set: 1 << 5, Opt: mark.OptStandard}, false, true, mark.ServerMarks{Standard: 1 << 5}},
	} {
		if got := tc.it.Changes(prev, tc.found); got != tc.changes {
			t.Errorf("%s: Changes %v, want %v", tc.name, got, tc.changes)
		}
		base := prev
		if !tc.found {
			base = mark.ServerMarks{}
		}
		if got := tc.it.Applied(base); got != tc.after {
			t.Errorf("%s: Applied %+v, want %+v", tc.name, got, tc.after)
		}
	}
	if got := (mark.ServerMarks{Standard: 1<<0 | 1<<63, Custom: `a "b"`}).Describe(); got != `standard bits 0,63 custom "a \"b\""` {
		t.Errorf("Describe: %s", got)
	}
	if got := (mark.ServerMarks{}).Describe(); got != `standard bits none custom ""` {
		t.Errorf("Describe of none: %s", got)
	}
}
