package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/readers"
)

// rejectsInputSchema is the schema of the test inputs: the known columns
// markimport reads, as a plain, a dictionary and a list column, and columns
// it does not know, one of them nested, with nulls.
var rejectsInputSchema = arrow.NewSchema([]arrow.Field{
	{Name: "from_account", Type: arrow.BinaryTypes.String},
	{Name: "type", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "to_account", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
	{Name: "set_mark", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	{Name: "legacy_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "note", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	{Name: "extra", Type: arrow.StructOf(
		arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	), Nullable: true},
}, &rejectsInputMeta)

var rejectsInputMeta = arrow.NewMetadata([]string{"origin"}, []string{"markimport tests"})

// writeRejectsInput writes rows rows of made-up values (row i, from 1, is a
// function of i), in row groups of rowGroup rows.
func writeRejectsInput(t *testing.T, path string, rows, rowGroup int) {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, rejectsInputSchema)
	defer b.Release()
	from := b.Field(0).(*array.StringBuilder)
	typ := b.Field(1).(*array.StringBuilder)
	to := b.Field(2).(*array.BinaryDictionaryBuilder)
	set := b.Field(3).(*array.ListBuilder)
	setv := set.ValueBuilder().(*array.Int32Builder)
	legacy := b.Field(4).(*array.Int64Builder)
	note := b.Field(5).(*array.LargeStringBuilder)
	extra := b.Field(6).(*array.StructBuilder)
	score := extra.FieldBuilder(0).(*array.Float64Builder)
	tags := extra.FieldBuilder(1).(*array.ListBuilder)
	tagv := tags.ValueBuilder().(*array.StringBuilder)
	for i := 1; i <= rows; i++ {
		from.Append(fmt.Sprintf("acct-%d", i))
		typ.Append([]string{"user", "group"}[i%2])
		if i%11 == 0 {
			to.AppendNull()
		} else if err := to.AppendString(fmt.Sprintf("peer-%d", i%97)); err != nil {
			t.Fatal(err)
		}
		switch {
		case i%5 == 0:
			set.AppendNull()
		case i%7 == 0:
			set.Append(true) // empty list
		default:
			set.Append(true)
			for k := range i % 4 {
				setv.Append(int32(i + k))
			}
			if i%13 == 0 {
				setv.AppendNull()
			}
		}
		legacy.Append(int64(i) * 1_000_003)
		if i%3 == 0 {
			note.AppendNull()
		} else {
			note.Append(fmt.Sprintf("note %d", i))
		}
		if i%17 == 0 {
			extra.AppendNull()
		} else {
			extra.Append(true)
			score.Append(float64(i) / 4)
			tags.Append(true)
			for k := range i % 3 {
				tagv.Append(fmt.Sprintf("t%d", k))
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(int64(rowGroup)))
	fw, err := pqarrow.NewFileWriter(rejectsInputSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// pqTable is a Parquet file read whole with pqarrow, as text per cell.
type pqTable struct {
	schema    *arrow.Schema
	rowGroups int
	cols      [][]string // cols[c][i] is row i+1 of column c
}

func readPQTable(t *testing.T, path string) pqTable {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 5000}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	tb := pqTable{schema: sc, rowGroups: pf.NumRowGroups(), cols: make([][]string, len(sc.Fields()))}
	if pf.NumRows() == 0 {
		return tb
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		for c, col := range rec.Columns() {
			for i := range col.Len() {
				tb.cols[c] = append(tb.cols[c], col.ValueStr(i))
			}
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return tb
}

func (tb pqTable) rows() int {
	if len(tb.cols) == 0 {
		return 0
	}
	return len(tb.cols[0])
}

// readRecords reads a file as markimport does.
func readRecords(t *testing.T, path string) []readers.Record {
	t.Helper()
	rd, err := readers.Open(path, readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var recs []readers.Record
	for {
		r, err := rd.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
}

// rejectsSchema is in (as pqarrow reads it) plus status, code and message
// (also as pqarrow reads them: it marks fields without a field id).
func rejectsSchema(in *arrow.Schema) *arrow.Schema {
	meta := in.Metadata()
	fields := in.Fields()
	for _, f := range rejectsFields {
		f.Metadata = arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{"-1"})
		fields = append(fields, f)
	}
	return arrow.NewSchema(fields, &meta)
}

// sameFields reports whether a and b have the same fields but for their
// metadata.
func sameFields(a, b *arrow.Schema) bool {
	return slices.EqualFunc(a.Fields(), b.Fields(), func(x, y arrow.Field) bool {
		return x.Name == y.Name && x.Nullable == y.Nullable && arrow.TypeEqual(x.Type, y.Type)
	})
}

// want is a row expected in a rejects file.
type want struct {
	row     int64 // in the original input
	status  Status
	code    int
	message string
}

// checkRejects checks that the rejects file at path holds exactly want,
// with every original column of orig (the input's table and records)
// unchanged.
func checkRejects(t *testing.T, path string, orig pqTable, origRecs []readers.Record, wants []want) {
	t.Helper()
	got := readPQTable(t, path)
	ws := rejectsSchema(orig.schema)
	if !got.schema.Equal(ws) {
		t.Fatalf("schema:\n%s\nwant:\n%s", got.schema, ws)
	}
	if !slices.Equal(got.schema.Metadata().Keys(), ws.Metadata().Keys()) || !slices.Equal(got.schema.Metadata().Values(), ws.Metadata().Values()) {
		t.Errorf("schema metadata %v, want %v", got.schema.Metadata(), ws.Metadata())
	}
	if got.rows() != len(wants) {
		t.Fatalf("%d rows, want %d", got.rows(), len(wants))
	}
	n := len(orig.cols)
	for k, w := range wants {
		for c := range n {
			if g, o := got.cols[c][k], orig.cols[c][w.row-1]; g != o {
				t.Errorf("row %d (input row %d) column %s = %q, want %q", k+1, w.row, orig.schema.Field(c).Name, g, o)
			}
		}
		if g := [3]string{got.cols[n][k], got.cols[n+1][k], got.cols[n+2][k]}; g != [3]string{string(w.status), fmt.Sprint(w.code), w.message} {
			t.Errorf("row %d (input row %d) status, code, message = %q, want %v", k+1, w.row, g, w)
		}
	}
	// markimport reads the rows as it read them from the input.
	recs := readRecords(t, path)
	if len(recs) != len(wants) {
		t.Fatalf("readers.Open: %d records, want %d", len(recs), len(wants))
	}
	for k, w := range wants {
		r, o := recs[k], origRecs[w.row-1]
		if r.Row != int64(k+1) {
			t.Errorf("record %d has row %d", k+1, r.Row)
		}
		if o.Row != w.row {
			t.Fatalf("input record %d has row %d", w.row, o.Row)
		}
		r.Row, o.Row = 0, 0
		if r != o {
			t.Errorf("record %d (input row %d) = %+v, want %+v", k+1, w.row, r, o)
		}
	}
}

func newTestRejects(wants []want) *Rejects {
	rej := NewRejects()
	for _, w := range wants {
		rej.Add(&Line{Row: w.row, Status: w.status, Code: w.code, Message: w.message})
	}
	return rej
}

// testConfig is the default configuration with an allocator that checks
// every buffer is freed.
func testConfig(t *testing.T) rejectsParquetConfig {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	cfg := defaultRejectsParquet
	cfg.mem = mem
	return cfg
}

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
		{16385, StatusFailed, 50300, "timeout"},
		{1, StatusInvalid, 50002, "from_account: empty"},
		{7000, StatusRejected, 40301, "peer unknown"},
		{5000, StatusInvalid, 50002, "first outcome"},
		{7001, StatusInvalid, 50002, "from_account: empty"},
		{16384, StatusUnsent, 0, ""},
		{40000, StatusFailed, 50300, "timeout"},
		{5000, StatusRejected, 40302, "last outcome"},
		{24999, StatusInvalid, 50003, "set_mark: not a list"},
		{40001, StatusInvalid, 1, "not in the file"},
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
		{2, StatusInvalid, 50009, "still wrong"},  // input row 5000
		{5, StatusFailed, 50300, "timeout again"}, // input row 16384
		{8, StatusRejected, 40301, ""},            // input row 40000
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
					wants = append(wants, want{i, []Status{StatusInvalid, StatusFailed, StatusRejected}[i%3], int(i % 500), fmt.Sprintf("m%d", i%10)})
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
	for _, rej := range []*Rejects{nil, NewRejects(), newTestRejects([]want{{101, StatusInvalid, 1, "past the end"}})} {
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
	rej := newTestRejects([]want{{1, StatusInvalid, 1, "x"}, {999, StatusInvalid, 1, "x"}})
	for _, input := range []string{"-", filepath.Join(dir, "missing.parquet"), notPQ, truncated, damaged} {
		out := filepath.Join(dir, "rejects.parquet")
		n, err := writeRejectsParquet(input, out, rej, defaultRejectsParquet)
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
	n, err := writeRejectsParquet(in, out, newTestRejects([]want{{2, StatusInvalid, 7, "x"}}), testConfig(t))
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
