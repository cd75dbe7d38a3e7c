package readers

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestNextIntoSetsEveryField: NextInto writes every field of the record it
// is given, whatever that record held before (the read stage reuses its
// batches), and gives the records Next gives: a CSV with a malformed row,
// a row cut to the bounds and extra columns, and the legacy table as CSV
// and as Parquet with nulls.
func TestNextIntoSetsEveryField(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "m.csv")
	body := "from_account,to_account,set_mark,label\n" +
		"u1,p1,1,x\n" +
		"u2,\"p2\n" + // a quoted field the file never closes
		""
	if err := os.WriteFile(csvPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("from_account,to_account,set_mark\nu1,p1\nu2,p2,3,4\nu3,p3,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join("..", "testdata", "legacy")
	legacyOpts := Options{Extra: legacyColumns}
	legacyOpts.Replaced[FromAccount] = true
	for _, tc := range []struct {
		path string
		opts Options
	}{
		{csvPath, Options{Extra: []ExtraColumn{{Name: "label", Origin: "test"}}}},
		{bad, Options{}},
		{filepath.Join(legacy, "legacy.csv"), legacyOpts},
		{filepath.Join(legacy, "legacy.parquet"), legacyOpts},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			want := readInput(t, tc.path, tc.opts)
			in, err := SingleInput(tc.path, "")
			if err != nil {
				t.Fatal(err)
			}
			r, err := in.Open(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var got []Record
			for {
				rec := stale()
				err := NextInto(r, &rec)
				if err == io.EOF {
					if rec != (Record{}) {
						t.Errorf("at the end the record holds %s", fmtRecord(rec))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rec)
			}
			diffRecords(t, got, want)
		})
	}
}

// stale is a record every field of which a reader must write over.
func stale() Record {
	rec := Record{Row: -1, Extra: "stale", Problem: "stale", ProblemColumn: "stale"}
	for f := range rec.Fields {
		rec.Fields[f] = "stale"
	}
	return rec
}
