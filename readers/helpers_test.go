package readers

// Helpers shared by the tests of this package: reading every record of a
// file or reader, comparing and printing records, and writing Parquet files
// of given columns.

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// pqColumn is one column of a Parquet file written by a test. Values are
// nil (null), string, []byte, an integer, or []any for a list.
type pqColumn struct {
	name string
	typ  arrow.DataType
	vals []any
}

// pqWrite describes how a test writes a Parquet file.
type pqWrite struct {
	codec       compress.Compression
	rowGroupLen int64 // rows per row group; 0 for arrow's default
	pageSize    int64 // data page size in bytes; 0 for arrow's default
	dictionary  bool  // dictionary-encode pages
}

// writeParquet writes cols as a Parquet file at path with arrow's pqarrow
// writer, storing the arrow schema so that large, view and dictionary
// types read back as such.
func writeParquet(t testing.TB, path string, cols []pqColumn, w pqWrite) {
	t.Helper()
	if err := writeParquetFile(path, cols, w); err != nil {
		t.Fatal(err)
	}
}

func writeParquetFile(path string, cols []pqColumn, w pqWrite) error {
	mem := memory.DefaultAllocator
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
		a, err := buildArray(mem, c.typ, c.vals)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
		defer a.Release()
		arrs[i] = a
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, arrs, -1)
	defer rec.Release()

	opts := []parquet.WriterProperty{
		parquet.WithCompression(w.codec),
		parquet.WithDictionaryDefault(w.dictionary),
		parquet.WithCreatedBy("markimport tests"),
	}
	if w.rowGroupLen > 0 {
		opts = append(opts, parquet.WithMaxRowGroupLength(w.rowGroupLen))
	}
	if w.pageSize > 0 {
		opts = append(opts, parquet.WithDataPageSize(w.pageSize))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(opts...), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return err
	}
	return fw.Close() // closes f
}

// buildArray builds an array of type dt from test values.
func buildArray(mem memory.Allocator, dt arrow.DataType, vals []any) (arrow.Array, error) {
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		if err := appendValue(b, v); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.LargeStringBuilder:
		b.Append(v.(string))
	case *array.StringViewBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(asBytes(v))
	case *array.BinaryViewBuilder:
		b.Append(asBytes(v))
	case *array.BinaryDictionaryBuilder:
		return b.Append(asBytes(v))
	case *array.Int8Builder:
		b.Append(int8(asInt(v)))
	case *array.Int16Builder:
		b.Append(int16(asInt(v)))
	case *array.Int32Builder:
		b.Append(int32(asInt(v)))
	case *array.Int64Builder:
		b.Append(asInt(v))
	case *array.Uint8Builder:
		b.Append(uint8(asInt(v)))
	case *array.Uint16Builder:
		b.Append(uint16(asInt(v)))
	case *array.Uint32Builder:
		b.Append(uint32(asInt(v)))
	case *array.Uint64Builder:
		b.Append(uint64(asInt(v)))
	case *array.Float64Builder:
		b.Append(float64(asInt(v)))
	case array.ListLikeBuilder:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("list value %#v is not a []any", v)
		}
		if vb, ok := b.(array.VarLenListLikeBuilder); ok && !isFixedSize(b) {
			vb.AppendWithSize(true, len(list))
		} else {
			b.Append(true)
		}
		for _, e := range list {
			if err := appendValue(b.ValueBuilder(), e); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("no test builder for %T", b)
	}
	return nil
}

func asBytes(v any) []byte {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	return v.([]byte)
}

func asInt(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	}
	panic(fmt.Sprintf("not an integer: %#v", v))
}

func isFixedSize(b array.Builder) bool {
	_, ok := b.(*array.FixedSizeListBuilder)
	return ok
}

// renderText is the CSV text of a test value.
func renderText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case int:
		return strconv.Itoa(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			if e == nil {
				parts[i] = "null"
			} else {
				parts[i] = renderText(e)
			}
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	panic("renderText: unexpected value")
}

// readAll reads every record of path with Open.
func readAll(t testing.TB, path string, opts Options) []Record {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return drain(t, r)
}

func allOf(dt arrow.DataType) [NumFields]arrow.DataType {
	var ts [NumFields]arrow.DataType
	for i := range ts {
		ts[i] = dt
	}
	return ts
}

func typed(ids, typ, mark, optType arrow.DataType) [NumFields]arrow.DataType {
	return [NumFields]arrow.DataType{ids, typ, ids, ids, mark, mark, arrow.BinaryTypes.String, optType}
}

// diffRecords reports every record that differs.
func diffRecords(t testing.TB, got, want []Record) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d", len(got), len(want))
	}
	for j := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[j], want[j]) {
			t.Errorf("record %d:\n got %s\nwant %s", j, fmtRecord(got[j]), fmtRecord(want[j]))
		}
	}
}

func fmtRecord(r Record) string {
	return fmt.Sprintf("row %d %q problem %q %q", r.Row, r.Fields[:], r.Problem, r.ProblemColumn)
}

// drain reads every record of r, then closes it.
func drain(t testing.TB, r Reader) []Record {
	t.Helper()
	defer r.Close()
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// strs makes string test values; "<null>" is a null.
func strs(vs ...string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		if v != "<null>" {
			out[i] = v
		}
	}
	return out
}
