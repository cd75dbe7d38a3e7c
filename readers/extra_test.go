package readers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// legacyColumns are the columns of testdata/legacy's table, read as extra
// columns: what a mapping file asks of the readers.
var legacyColumns = []ExtraColumn{
	{"user_id", "map.toml line 1 (from_account)"}, {"peer_id", "map.toml line 2 (peer)"},
	{"is_group", "map.toml line 3 (type)"}, {"starred", "map.toml line 4 (marks)"},
	{"pinned", "map.toml line 4 (marks)"}, {"label", "map.toml line 5 (custom_mark)"},
}

// readInput reads every record of one file through Input.Open, as the
// pipeline does.
func readInput(t *testing.T, path string, opts Options) []Record {
	t.Helper()
	in, err := SingleInput(path, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := in.Open(opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return drain(t, r)
}

// TestExtraColumnsConformance: the legacy table as CSV and as the Parquet
// DuckDB writes of it (integers, booleans, nulls) gives the same records,
// its columns read as extra ones, none of them a known column.
func TestExtraColumnsConformance(t *testing.T) {
	dir := filepath.Join("..", "testdata", "legacy")
	opts := Options{Extra: legacyColumns}
	opts.Replaced[FromAccount] = true
	csvRecs := readInput(t, filepath.Join(dir, "legacy.csv"), opts)
	pqRecs := readInput(t, filepath.Join(dir, "legacy.parquet"), opts)
	if len(csvRecs) != 600 {
		t.Fatalf("%d CSV records, want 600", len(csvRecs))
	}
	for i := range csvRecs {
		if i >= len(pqRecs) || csvRecs[i] != pqRecs[i] {
			t.Fatalf("record %d: CSV %q %q, Parquet %q %q", i+1, fmtRecord(csvRecs[i]), csvRecs[i].Extra.Values(nil), fmtRecord(pqRecs[i]), pqRecs[i].Extra.Values(nil))
		}
	}
	if len(pqRecs) != len(csvRecs) {
		t.Fatalf("%d Parquet records, %d CSV", len(pqRecs), len(csvRecs))
	}
	got := strings.Join(csvRecs[3].Extra.Values(nil), "|")
	if want := `u36|18|1|true|false|label 3, "q"`; got != want || csvRecs[3].Fields != [NumFields]string{} {
		t.Errorf("row 4: extras %q, fields %q; want %q and no known field", got, csvRecs[3].Fields, want)
	}
}

// TestExtraColumnsRefused: a column asked for that a file lacks, or has
// twice, or of a type no value can be read from, is an input error that
// names who asked for it.
func TestExtraColumnsRefused(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(csvPath, []byte("user_id,UserID,score\nu1,u1,1.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pqPath := filepath.Join(dir, "in.parquet")
	writeParquet(t, pqPath, []pqColumn{
		{"user", arrow.BinaryTypes.String, []any{"u1"}},
		{"score", arrow.ListOf(arrow.PrimitiveTypes.Int64), []any{[]any{1}}},
	}, pqWrite{})
	for _, tc := range []struct {
		path, column, want string
	}{
		{csvPath, "starred", `in.csv: map.toml line 4 (marks): the file has no column "starred" (its columns: "user_id", "UserID", "score")`},
		{csvPath, "user_id", `map.toml line 4 (marks): columns "user_id" and "UserID" both match "user_id"`},
		{pqPath, "score", `is not supported: want text (string or binary), an integer or a boolean`},
	} {
		opts := Options{Extra: []ExtraColumn{{tc.column, "map.toml line 4 (marks)"}}}
		opts.Replaced[FromAccount] = true
		_, err := Open(tc.path, opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", filepath.Base(tc.path), tc.column, err, tc.want)
		}
	}
}

// TestExtraColumnsBounded: an extra column keeps what a known one keeps
// (keepBytes); a longer value makes its row invalid, naming the column,
// and the next row reads on.
func TestExtraColumnsBounded(t *testing.T) {
	long := strings.Repeat("x", 5000)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(csvPath, []byte("user,label,note\nu1,"+long+",n\nu2,ok,"+long+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pqPath := filepath.Join(dir, "in.parquet")
	writeParquet(t, pqPath, []pqColumn{
		{"user", arrow.BinaryTypes.String, []any{"u1", "u2"}},
		{"label", arrow.BinaryTypes.String, []any{long, "ok"}},
		{"note", arrow.BinaryTypes.String, []any{"n", long}},
	}, pqWrite{})
	opts := Options{Extra: []ExtraColumn{{"user", "m"}, {"label", "m"}}}
	opts.Replaced[FromAccount] = true
	for _, path := range []string{csvPath, pqPath} {
		recs := readAll(t, path, opts)
		if len(recs) != 2 {
			t.Fatalf("%s: %d records", path, len(recs))
		}
		if r := recs[0]; r.ProblemColumn != "label" || !strings.HasPrefix(r.Problem, "5000 bytes, longer than any valid value") {
			t.Errorf("%s row 1: problem %q %q", filepath.Base(path), r.ProblemColumn, r.Problem)
		}
		if v := recs[0].Extra.Values(nil); len(v) != 2 || len(v[1]) != keepBytes {
			t.Errorf("%s row 1 kept %d bytes of label", filepath.Base(path), len(v[1]))
		}
		if r := recs[1]; r.Problem != "" || strings.Join(r.Extra.Values(nil), "|") != "u2|ok" {
			t.Errorf("%s row 2: %s extras %q", filepath.Base(path), fmtRecord(r), r.Extra.Values(nil))
		}
	}
}

// TestReplacedAndReshape: a replaced known column is not read from the
// file's column of that name, which an extra column may still read; an
// Input's reader reshapes every record and drops its extras.
func TestReplacedAndReshape(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte("from_account,to_account\nlegacy,p1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Extra: []ExtraColumn{{"from_account", "m"}}}
	opts.Replaced[FromAccount] = true
	opts.Reshape = func(r *Record) { r.Fields[FromAccount] = "mapped:" + r.Extra.Values(nil)[0] }
	recs := readInput(t, path, opts)
	want := Record{Row: 1, Fields: [NumFields]string{FromAccount: "mapped:legacy", ToAccount: "p1"}}
	if len(recs) != 1 || recs[0] != want {
		t.Errorf("got %+v, want %+v", recs, want)
	}
}
