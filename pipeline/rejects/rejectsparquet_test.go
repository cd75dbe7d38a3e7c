package rejects

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/pipeline/report"
	"markimport/readers"
)

func TestWriteRejectsParquet(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.parquet")
	writeRejectsInput(t, in, 40000, 7000)
	orig := readPQTable(t, in)
	if orig.rows() != 40000 || orig.rowGroups != 6 {
		t.Fatalf("input has %d rows in %d row groups", orig.rows(), orig.rowGroups)
	}
	if !sameFields(orig.schema, rejectsInputSchema) {
		t.Fatalf("input schema:\n%s", orig.schema)
	}
	origRecs := readRecords(t, in)

	// Row group and batch boundaries (7000 and 16384 rows), added out of
	// order; row 5000 twice (the last one counts); a row past the end,
	// which is left out.
	wants := []want{
		{16385, report.StatusFailed, 50300, "timeout"},
		{1, report.StatusInvalid, 50002, "from_account: empty"},
		{7000, report.StatusRejected, 40301, "peer unknown"},
		{5000, report.StatusInvalid, 50002, "first outcome"},
		{7001, report.StatusInvalid, 50002, "from_account: empty"},
		{16384, report.StatusUnsent, 0, ""},
		{40000, report.StatusFailed, 50300, "timeout"},
		{5000, report.StatusRejected, 40302, "last outcome"},
		{24999, report.StatusInvalid, 50003, "set_mark: not a list"},
		{40001, report.StatusInvalid, 1, "not in the file"},
	}
	rej := newTestRejects(wants)
	expect := slices.Clone(wants)
	expect = slices.DeleteFunc(expect, func(w want) bool { return w.message == "first outcome" || w.row > 40000 })
	slices.SortFunc(expect, func(a, b want) int { return int(a.row - b.row) })

	out := filepath.Join(dir, "rejects.parquet")
	n, err := writeRejectsParquet(in, out, rej, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(expect)) {
		t.Errorf("wrote %d rows, want %d", n, len(expect))
	}
	if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
	checkRejects(t, out, orig, origRecs, expect)

	// The rejects file run again: one set of status, code and message,
	// the new ones.
	again := []want{
		{2, report.StatusInvalid, 50009, "still wrong"},  // input row 5000
		{5, report.StatusFailed, 50300, "timeout again"}, // input row 16384
		{8, report.StatusRejected, 40301, ""},            // input row 40000
	}
	rej2 := newTestRejects(again)
	out2 := filepath.Join(dir, "rejects2.parquet")
	if n, err := writeRejectsParquet(out, out2, rej2, testConfig(t)); err != nil || n != 3 {
		t.Fatalf("rejects of rejects: %d rows, %v", n, err)
	}
	for i := range again {
		again[i].row = expect[again[i].row-1].row
	}
	checkRejects(t, out2, orig, origRecs, again)
}

// TestWriteRejectsParquetMany selects many rows, alone and in runs, in
// every row group, with batches that do not line up with the row groups.
func TestWriteRejectsParquetMany(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.parquet")
	writeRejectsInput(t, in, 12345, 1000)
	orig := readPQTable(t, in)
	origRecs := readRecords(t, in)
	for _, tc := range []struct {
		name  string
		every func(i int64) bool
	}{
		{"every other", func(i int64) bool { return i%2 == 1 }},
		{"every 7th", func(i int64) bool { return i%7 == 0 }},
		{"runs", func(i int64) bool { return i%100 < 30 || i%1000 == 999 }},
		{"all", func(int64) bool { return true }},
		{"one row group", func(i int64) bool { return i > 3000 && i <= 4000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wants []want
			for i := int64(1); i <= 12345; i++ {
				if tc.every(i) {
					wants = append(wants, want{i, []report.Status{report.StatusInvalid, report.StatusFailed, report.StatusRejected}[i%3], int(i % 500), fmt.Sprintf("m%d", i%10)})
				}
			}
			cfg := testConfig(t)
			cfg.batchRows = 777
			cfg.rowGroupBytes = 32 << 10 // several row groups
			out := filepath.Join(t.TempDir(), "rejects.parquet")
			n, err := writeRejectsParquet(in, out, newTestRejects(wants), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(wants)) {
				t.Errorf("wrote %d rows, want %d", n, len(wants))
			}
			checkRejects(t, out, orig, origRecs, wants)
		})
	}
}

func TestWriteRejectsParquetEmpty(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.parquet")
	writeRejectsInput(t, in, 100, 30)
	orig := readPQTable(t, in)
	for _, rej := range []*Rows{nil, New(), newTestRejects([]want{{101, report.StatusInvalid, 1, "past the end"}})} {
		out := filepath.Join(dir, "rejects.parquet")
		n, err := writeRejectsParquet(in, out, rej, testConfig(t))
		if err != nil || n != 0 {
			t.Fatalf("%d rows, %v", n, err)
		}
		checkRejects(t, out, orig, nil, nil)
	}
}

func TestWriteRejectsParquetErrors(t *testing.T) {
	dir := t.TempDir()
	notPQ := filepath.Join(dir, "in.parquet")
	if err := os.WriteFile(notPQ, []byte("from_account\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.parquet")
	writeRejectsInput(t, truncated, 1000, 100)
	b, err := os.ReadFile(truncated)
	if err != nil {
		t.Fatal(err)
	}
	// Row groups cut off: the footer survives, the data does not.
	damaged := filepath.Join(dir, "damaged.parquet")
	cut := slices.Clone(b)
	for i := 200; i < len(cut)/2; i++ {
		cut[i] ^= 0x5a
	}
	if err := os.WriteFile(damaged, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	rej := newTestRejects([]want{{1, report.StatusInvalid, 1, "x"}, {999, report.StatusInvalid, 1, "x"}})
	for _, input := range []string{"-", filepath.Join(dir, "missing.parquet"), notPQ, truncated, damaged} {
		out := filepath.Join(dir, "rejects.parquet")
		n, err := writeRejectsParquet(input, out, rej, defaultParquet)
		if err == nil {
			t.Errorf("%s: no error (%d rows)", input, n)
			continue
		}
		t.Logf("%s: %v", filepath.Base(input), err)
		for _, p := range []string{out, out + ".tmp"} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %s exists after an error", input, p)
			}
		}
	}
}

// TestWriteRejectsParquetBadStoredSchema: a stored arrow schema that cannot
// be decoded gives way to the Parquet schema.
func TestWriteRejectsParquetBadStoredSchema(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.parquet")
	sc := arrow.NewSchema([]arrow.Field{{Name: "from_account", Type: arrow.BinaryTypes.String}}, nil)
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.AppendKeyValueMetadata("ARROW:schema", "/////w=="); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rejects.parquet")
	n, err := writeRejectsParquet(in, out, newTestRejects([]want{{2, report.StatusInvalid, 7, "x"}}), testConfig(t))
	if err != nil || n != 1 {
		t.Fatalf("%d rows, %v", n, err)
	}
	recs := readRecords(t, out)
	if len(recs) != 1 || recs[0].Fields[readers.FromAccount] != "b" {
		t.Fatalf("records %+v", recs)
	}
}

// TestPickRows covers both ways of gathering rows: arrow's take, and
// slices concatenated for the types take has no kernel for.
func TestPickRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	runs := []rowRun{{0, 1}, {2, 4}, {6, 7}}
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{0, 2, 3, 6}, nil)
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	for _, tc := range []struct {
		typ  arrow.DataType
		json string
	}{
		{arrow.BinaryTypes.String, `["a", "b", null, "d", "e", "f", "g", "h"]`},
		{arrow.BinaryTypes.StringView, `["a", "b", null, "a string longer than twelve bytes", "e", "f", "g", "h"]`}, // no take kernel
		{arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1], [], null, [4, 5], [6], [7], [8, null], [9]]`},
		{arrow.ListViewOf(arrow.PrimitiveTypes.Int32), `[[1], [], null, [4, 5], [6], [7], [8, null], [9]]`}, // no take kernel
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, `["x", "y", null, "x", "z", "y", "z", "x"]`},
	} {
		col, _, err := array.FromJSON(mem, tc.typ, strings.NewReader(tc.json))
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		got, err := pickRows(mem, col, runs, idx)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		if !arrow.TypeEqual(got.DataType(), tc.typ) || got.Len() != 4 {
			t.Errorf("%s: got %s of %d values", tc.typ, got.DataType(), got.Len())
		}
		for k, i := range []int{0, 2, 3, 6} {
			if g, w := got.ValueStr(k), col.ValueStr(i); g != w {
				t.Errorf("%s: value %d = %q, want %q", tc.typ, k, g, w)
			}
		}
		got.Release()
		col.Release()
	}
}
