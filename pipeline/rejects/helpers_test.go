package rejects

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/pipeline/durable"
	"markimport/pipeline/report"
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
	for _, f := range addedFields {
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
	status  report.Status
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

func newTestRejects(wants []want) *Rows {
	rej := New()
	for _, w := range wants {
		rej.Add(&report.Line{Row: w.row, Status: w.status, Code: w.code, Message: w.message})
	}
	return rej
}

// testConfig is the default configuration with an allocator that checks
// every buffer is freed.
func testConfig(t *testing.T) parquetConfig {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	cfg := defaultParquet
	cfg.mem = mem
	return cfg
}

// writeRejectsParquet writes the rejects file of the Parquet file input,
// with cfg.
func writeRejectsParquet(input, path string, rows *Rows, cfg parquetConfig) (int64, error) {
	in, err := readers.SingleInput(input, "parquet")
	if err != nil {
		return 0, err
	}
	return write(context.Background(), durable.Disk(nil), path, in, readers.Options{}, rows, cfg)
}
