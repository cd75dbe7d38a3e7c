package backup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parts splits a killed run's journal and check file into the parts a
// mirror uploads: the header's checkpoint, then each sync's rows (with
// the header) and its checkpoint.
func parts(t *testing.T, files Files) []JournalPart {
	t.Helper()
	j, _ := os.ReadFile(files.Journal)
	ck, _ := os.ReadFile(files.JournalCheck)
	var out []JournalPart
	from := int64(0)
	for k := 0; k*recordLen < len(ck); k++ {
		rec := ck[k*recordLen : (k+1)*recordLen]
		cp, err := parseRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		p := JournalPart{Name: "part" + string(rune('0'+k)), CheckName: "check" + string(rune('0'+k)), Check: rec}
		if k > 0 {
			p.Rows = append([]byte(PartHeader()), j[from:cp.Size]...)
		}
		from = cp.Size
		out = append(out, p)
	}
	return out
}

// TestRebuildIsTheJournalOrRefusesThePartNamed: the parts rebuild the
// journal and its check file byte for byte, which Resume continues; a
// part changed, one moved, or a checkpoint damaged is refused naming it;
// a last part without checkpoint is left out.
func TestRebuildIsTheJournalOrRefusesThePartNamed(t *testing.T) {
	files := FilesOf(filepath.Join(t.TempDir(), "b.csv"))
	w, err := Create(files)
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, w, 2, 3)
	writeRows(t, w, 3, 2)
	w.Keep()
	ps := parts(t, files)
	if len(ps) < 3 {
		t.Fatalf("%d parts", len(ps))
	}
	rebuild := func(ps []JournalPart) (Files, error) {
		to := FilesOf(filepath.Join(t.TempDir(), "b.csv"))
		rb, err := StartRebuild(to)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if err := rb.Add(p); err != nil {
				rb.Abort()
				return to, err
			}
		}
		return to, rb.Finish()
	}
	to, err := rebuild(ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{files.Journal, to.Journal}, {files.JournalCheck, to.JournalCheck}} {
		a, _ := os.ReadFile(p[0])
		b, _ := os.ReadFile(p[1])
		if !bytes.Equal(a, b) {
			t.Errorf("%s rebuilt differs", filepath.Base(p[1]))
		}
	}
	r, err := Resume(to, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kept() == 0 {
		t.Error("the resumed journal knows no row")
	}
	r.Keep()

	// The last part unproven is left out.
	last := ps[len(ps)-1]
	unproven := append(append([]JournalPart{}, ps[:len(ps)-1]...), JournalPart{Name: last.Name, Rows: last.Rows})
	if to, err := rebuild(unproven); err != nil {
		t.Fatal(err)
	} else if st, _ := os.Stat(to.Journal); st.Size() != int64(len(headerLine))+int64(countBody(ps[1:len(ps)-1])) {
		t.Errorf("the unproven part was rebuilt in: %d bytes", st.Size())
	}

	changed := append([]JournalPart{}, ps...)
	changed[1].Rows = bytes.Replace(bytes.Clone(ps[1].Rows), []byte("user"), []byte("usex"), 1)
	moved := append([]JournalPart{}, ps...)
	moved[1], moved[2] = JournalPart{Name: ps[2].Name, Rows: ps[2].Rows, CheckName: ps[1].CheckName, Check: ps[1].Check}, JournalPart{Name: ps[1].Name, Rows: ps[1].Rows, CheckName: ps[2].CheckName, Check: ps[2].Check}
	damaged := append([]JournalPart{}, ps...)
	damaged[2].Check = bytes.Clone(ps[2].Check)
	damaged[2].Check[10] ^= 1
	for name, tc := range map[string]struct {
		ps   []JournalPart
		want string
	}{
		"a row changed":     {changed, "part1"},
		"two parts swapped": {moved, ps[2].Name},
		"a check damaged":   {damaged, "part2"},
		"no header's check": {ps[1:], "part1"},
	} {
		_, err := rebuild(tc.ps)
		var pe *ProofError
		if !errors.As(err, &pe) || pe.Path != tc.want || !strings.Contains(err.Error(), "does not prove itself") {
			t.Errorf("%s: %v, want a proof error naming %s", name, err, tc.want)
		}
	}
}

// countBody is the length of the parts' rows without their headers.
func countBody(ps []JournalPart) int {
	n := 0
	for _, p := range ps {
		n += len(p.Rows) - len(PartHeader())
	}
	return n
}
