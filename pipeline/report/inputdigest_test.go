package report

import (
	"strings"
	"testing"
)

// TestChangedFile: what a resume is told about an input whose files
// differ from the report's: a file added, removed or changed is named so,
// and a file whose content the report holds under another name (written
// ./a.csv then a.csv, or named by an earlier markimport) is said to be
// that file named otherwise, not a new one, with what to do: give the
// values as then, or, for a name no --input gives any more, start anew.
func TestChangedFile(t *testing.T) {
	file := func(name, sha string) InputDigest { return InputDigest{Input: name, Size: 10, SHA256: sha} }
	then := InputDigest{Files: []InputDigest{file("g/*/a.csv/x/a.csv", "aa"), file("h.csv", "bb")}}
	for _, tc := range []struct {
		name string
		now  []InputDigest
		want string
	}{
		{"the same", []InputDigest{file("g/*/a.csv/x/a.csv", "aa"), file("h.csv", "bb")}, ""},
		{"named otherwise", []InputDigest{file("g/x/a.csv", "aa"), file("h.csv", "bb")}, "g/x/a.csv is the file the report names g/*/a.csv/x/a.csv, as markimport named a glob's files before"},
		{"written otherwise", []InputDigest{file("g/*/a.csv/x/a.csv", "aa"), file("./h.csv", "bb")}, "./h.csv is the file the report names h.csv (the --input values are written otherwise, or an earlier markimport named it so)"},
		{"added", []InputDigest{file("g/*/a.csv/x/a.csv", "aa"), file("h.csv", "bb"), file("i.csv", "cc")}, "i.csv was added"},
		{"added, with other content", []InputDigest{file("g/x/a.csv", "dd"), file("h.csv", "bb")}, "g/x/a.csv was added"},
		{"removed", []InputDigest{file("h.csv", "bb")}, "g/*/a.csv/x/a.csv was removed"},
		{"changed", []InputDigest{file("g/*/a.csv/x/a.csv", "ee"), file("h.csv", "bb")}, "g/*/a.csv/x/a.csv changed"},
	} {
		got, _ := changedFile(then, InputDigest{Files: tc.now})
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// What to do: a name of the earlier naming cannot be given again, a
	// name written otherwise can.
	if _, hint := changedFile(then, InputDigest{Files: []InputDigest{file("g/x/a.csv", "aa"), file("h.csv", "bb")}}); !strings.Contains(hint, "start a new one") {
		t.Errorf("earlier naming: hint %q, want a new report", hint)
	}
	if _, hint := changedFile(then, InputDigest{Files: []InputDigest{file("g/*/a.csv/x/a.csv", "aa"), file("./h.csv", "bb")}}); !strings.Contains(hint, "as they were given then") {
		t.Errorf("written otherwise: hint %q, want the values as then", hint)
	}
}
