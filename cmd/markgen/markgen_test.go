package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/pipeline/plan"
	"markimport/readers"
)

func TestParquetSameRecordsAsCSV(t *testing.T) {
	dir := t.TempDir()
	// More than two row groups, and a last one that is not full.
	rows := generate(2*parquetRowGroupRows+1234, 5000, 7, 0.01, false)
	csvPath := filepath.Join(dir, "g.csv")
	pqPath := filepath.Join(dir, "g.parquet")
	if err := writeCSV(csvPath, io.Discard, rows, "full"); err != nil {
		t.Fatal(err)
	}
	if err := writeParquet(pqPath, rows); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(pqPath)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pf.NumRowGroups(), 3; got != want {
		t.Errorf("row groups = %d, want %d", got, want)
	}
	for i := range pf.NumRowGroups() {
		md := pf.MetaData().RowGroup(i)
		if i < 2 && md.NumRows() != parquetRowGroupRows {
			t.Errorf("row group %d has %d rows, want %d", i, md.NumRows(), parquetRowGroupRows)
		}
		cc, err := md.ColumnChunk(0)
		if err != nil {
			t.Fatal(err)
		}
		if c := cc.Compression().String(); !strings.EqualFold(c, "snappy") {
			t.Errorf("codec %s, want snappy", c)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	for i, fd := range sc.Fields() {
		if fd.Name != header[i] || fd.Type.ID().String() != "STRING" || !fd.Nullable {
			t.Errorf("column %d: %s %s nullable=%v, want %s nullable string", i, fd.Name, fd.Type, fd.Nullable, header[i])
		}
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tbl.Release()
	pf.Close()

	// markimport's own readers see the same records in both files.
	cr, err := readers.Open(csvPath, readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	pr, err := readers.Open(pqPath, readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	n := 0
	for {
		a, errA := cr.Next()
		b, errB := pr.Next()
		if errA == io.EOF || errB == io.EOF {
			if errA != errB {
				t.Fatalf("after %d rows: csv %v, parquet %v", n, errA, errB)
			}
			break
		}
		if errA != nil || errB != nil {
			t.Fatalf("row %d: csv %v, parquet %v", n+1, errA, errB)
		}
		if a != b {
			t.Fatalf("row %d differs:\ncsv     %+v\nparquet %+v", n+1, a, b)
		}
		n++
	}
	if n != len(rows) {
		t.Errorf("read %d rows, want %d", n, len(rows))
	}
}

func TestParquetEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.parquet")
	if err := writeParquet(path, nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRows() != 0 {
		t.Errorf("rows = %d, want 0", pf.NumRows())
	}
}

func TestParquetWriteErrorRemovesNothingLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir.parquet")
	if err := writeParquet(path, []inputRow{{From: "a", ToAccount: "b", SetMark: "1"}}); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func analyzeString(t *testing.T, s string) analysis {
	t.Helper()
	a, err := analyzeCSV(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAnalyzeSmall(t *testing.T) {
	in := "From_Account,type,To_Account,to_group_id,set_mark\n" +
		"u1,,p1,,1\n" +
		"u1,,p2,,1\n" +
		"u2,,p1,,1\n" + // user change: new request
		"u1,,p1,,2\n" + // u1 again: new request for the streamer, same conversation for the plan
		"u1,,,p1,2\n" + // group p1 is another conversation than c2c p1
		"u1,,p1,p1,2\n" + // both peers: skipped
		",,p1,,2\n" // no user: skipped
	a := analyzeString(t, in)
	want := analysis{Rows: 7, Skipped: 2, Users: 2, Conversations: 4, LowerBound: 2, ReadLowerBound: 2, Streamer: 3}
	if a != want {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
}

func TestAnalyzeFullRequestsAndLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("from_account,to_account\n")
	// 1005 conversations of one user, in order, then a repeat of the first:
	// 1000 are sendable in 10 requests; the streamer also fills 10, then
	// the repeat of p0 is not in its open request: one more.
	for i := range 1005 {
		fmt.Fprintf(&b, "u,p%d\n", i)
	}
	b.WriteString("u,p0\n")
	// A repeat inside the open request merges: v has 150 rows over 100
	// conversations, p0..p99 then p50..p99 again.
	for i := range 100 {
		fmt.Fprintf(&b, "v,p%d\n", i)
	}
	for i := 50; i < 100; i++ {
		fmt.Fprintf(&b, "v,p%d\n", i)
	}
	a := analyzeString(t, b.String())
	want := analysis{Rows: 1156, Users: 2, Conversations: 1105, OverLimit: 5, LowerBound: 11, ReadLowerBound: 5, Streamer: 12}
	if a != want {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
}

func TestAnalyzeGeneratedSortedStreamerMeetsBound(t *testing.T) {
	// Sorted by user, a streamer loses only where a user's repeats fall
	// outside the open request; shuffled, it sends far more.
	var sorted, shuffled bytes.Buffer
	rows := generate(20000, 2000, 3, 0, false)
	writeCSV("-", &shuffled, rows, "full")
	slices.SortStableFunc(rows, func(a, b inputRow) int { return strings.Compare(a.From, b.From) })
	writeCSV("-", &sorted, rows, "full")
	s := analyzeString(t, sorted.String())
	u := analyzeString(t, shuffled.String())
	if s.LowerBound != u.LowerBound || s.Conversations != u.Conversations || s.Users != u.Users {
		t.Errorf("order changed the counts: sorted %+v, shuffled %+v", s, u)
	}
	if s.Streamer < s.LowerBound || u.Streamer <= s.Streamer {
		t.Errorf("streamer: sorted %d, shuffled %d, lower bound %d", s.Streamer, u.Streamer, s.LowerBound)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	for _, in := range []string{"", "to_account\nx\n", "from_account\n\"unterminated\n"} {
		if _, err := analyzeCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

func TestRunAnalyze(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.csv")
	if err := os.WriteFile(path, []byte("from_account,to_account\nu,p\nu,q\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := runAnalyze(path, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"users=1\n", "conversations=2\n", "lower_bound=1\n", "streamer=1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := runAnalyze(filepath.Join(t.TempDir(), "missing.csv"), &out, &errb); code == 0 {
		t.Error("missing file: want a non-zero exit")
	}
}

// TestUUIDIDs: -ids uuid gives 32-hex-digit ids (the longest valid UserID)
// that keep the same users,
// conversations and plan as the short ids.
func TestUUIDIDs(t *testing.T) {
	dir := t.TempDir()
	analyze := func(ids string) string {
		path := filepath.Join(dir, ids+".csv")
		var errb bytes.Buffer
		if code := run([]string{"-n", "3000", "-seed", "4", "-ids", ids, "-o", path}, io.Discard, &errb); code != 0 {
			t.Fatalf("-ids %s: exit %d: %s", ids, code, errb.String())
		}
		data, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if ids == "uuid" {
			for _, l := range lines[1:] {
				if from, _, _ := strings.Cut(l, ","); len(from) != 32 || strings.Trim(from, "0123456789abcdef") != "" {
					t.Fatalf("from_account %q is not 32 hex digits", from)
				}
			}
		}
		var out bytes.Buffer
		if code := runAnalyze(path, &out, &errb); code != 0 {
			t.Fatalf("analyze: exit %d: %s", code, errb.String())
		}
		return out.String()
	}
	if short, long := analyze("short"), analyze("uuid"); short != long {
		t.Fatalf("analysis differs:\nshort ids:\n%s\nuuid ids:\n%s", short, long)
	}
	if code := run([]string{"-n", "3", "-ids", "nope"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("-ids nope: exit %d, want 2", code)
	}
}

// TestLayouts: the narrow and quoted layouts are valid rows, as many as
// asked, with the same users as the full layout.
func TestLayouts(t *testing.T) {
	dir := t.TempDir()
	for _, layout := range []string{"narrow", "quoted"} {
		path := filepath.Join(dir, layout+".csv")
		var errb bytes.Buffer
		if code := run([]string{"-n", "2000", "-seed", "5", "-layout", layout, "-ids", "uuid", "-o", path}, io.Discard, &errb); code != 0 {
			t.Fatalf("-layout %s: exit %d: %s", layout, code, errb.String())
		}
		r, err := readers.Open(path, readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		users := map[string]bool{}
		n := 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			c, bad := plan.Validate(&rec)
			if bad != nil {
				t.Fatalf("-layout %s: row %d invalid: %s", layout, rec.Row, bad.Message)
			}
			users[c.From] = true
			n++
		}
		r.Close()
		if n != 2000 || len(users) != 200 {
			t.Fatalf("-layout %s: %d rows, %d users; want 2000 and 200", layout, n, len(users))
		}
	}
	if code := run([]string{"-n", "3", "-layout", "narrow", "-o", filepath.Join(dir, "x.parquet")}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("-layout with Parquet output: exit %d, want 2", code)
	}
}
