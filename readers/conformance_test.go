package readers

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// The conformance test holds both readers to one contract: the same records
// written as CSV and as Parquet yield identical []Record from Open. The
// Parquet side is written with arrow's pqarrow writer in many type and
// layout variants; the CSV side is the same values as text.

// textRows has every column as text, as an export from a database with
// only string columns would. nil is null in Parquet and empty in CSV.
// (CSV cannot carry "\r\n" inside a field unchanged, so none is used.)
var textRows = [][NumFields]any{
	{"alice", "1", "bob", nil, "[1, 2]", "", "plain", "3"},
	{"  spaced  ", "C2C", " bob ", "", "1|2", "[]", "  leading and trailing  ", ""},
	{"用户一", "group", "", "群组-1", "5", "7", "中文，逗号, \"quotes\"\nnew line", "2"},
	{"emoji😀", "2", nil, "g,1", "", "", "tab\there", nil},
	{"x", "", "y", nil, nil, nil, "", nil},
	{"bad\xffutf8", "1", "z", "", "[1,2]", "", "\xfe\xff", "1"},
	{"", "", "", "", "", "", "", ""},
	{"q", "1", "r", nil, "", "", `"`, "2"},
	{"q", "1", "r", nil, "", "", `""`, "2"},
	{"n", "1", "m", nil, "", "", "\nleading newline", "2"},
	{"n", "1", "m", nil, "", "", "trailing newline\n", "2"},
	{"s", " 1 ", "t", nil, " [ 3 , 4 ] ", " 5 ", "a,b,c", " 3 "},
	{"long", "1", "peer", nil, "63", "0", strings.Repeat("长", 100), "3"},
}

// typedRows has integer types and list marks, as a pandas or Spark export
// would. A nil inside a list is a null element.
var typedRows = [][NumFields]any{
	{"alice", 1, "bob", nil, []any{1, 2}, []any{}, "plain", 3},
	{"  spaced  ", 1, " bob ", nil, []any{}, []any{3}, "", 1},
	{"用户一", 2, nil, "群组-1", []any{63}, nil, "中文，逗号, \"quotes\"\nnew line", nil},
	{"emoji😀", nil, "peer", nil, nil, nil, "custom only", 2},
	{"nulls", nil, nil, nil, nil, nil, nil, nil},
	{"null element", 1, "p", nil, []any{nil}, []any{0, nil, 5}, nil, 1},
	{"", 0, "", "", []any{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31, 32, 62, 63}, []any{}, "", 0},
	{"x", 2, "", "g", []any{7}, []any{8}, "  ", 3},
}

// csvNames are the header names of the CSV side.
var csvNames = [NumFields]string{"from_account", "type", "to_account", "to_group_id", "set_mark", "clear_mark", "custom_mark", "opt_type"}

func writeCSV(t *testing.T, path string, names [NumFields]string, rows [][NumFields]any) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write(names[:])
	for _, r := range rows {
		rec := make([]string, NumFields)
		for i, v := range r {
			rec[i] = renderText(v)
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// variant is one way of writing the test rows as Parquet.
type variant struct {
	name  string
	names [NumFields]string         // column names; csvNames if zero
	types [NumFields]arrow.DataType // column types
	// emptyAsNull writes "" as a null.
	emptyAsNull bool
	// extra columns the reader must ignore, whatever their type.
	extra []pqColumn
	// reverse writes the columns in the reverse order.
	reverse bool
	// noNullElements drops null list elements from the rows first.
	noNullElements bool
	write          pqWrite
}

func (v variant) columns(rows [][NumFields]any) []pqColumn {
	names := v.names
	if names == ([NumFields]string{}) {
		names = csvNames
	}
	var cols []pqColumn
	for f := range NumFields {
		vals := make([]any, len(rows))
		for i, r := range rows {
			vals[i] = r[f]
			if v.emptyAsNull && r[f] == "" {
				vals[i] = nil
			}
		}
		cols = append(cols, pqColumn{name: names[f], typ: v.types[f], vals: vals})
	}
	if v.reverse {
		for i, j := 0, len(cols)-1; i < j; i, j = i+1, j-1 {
			cols[i], cols[j] = cols[j], cols[i]
		}
	}
	for _, e := range v.extra {
		// Extra columns go between the known ones.
		cols = append(cols[:1], append([]pqColumn{e}, cols[1:]...)...)
	}
	return cols
}

var (
	dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	dictBinary = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.Binary}
)

func textVariants() []variant {
	vs := []variant{
		{name: "string", types: allOf(arrow.BinaryTypes.String)},
		{name: "string empty as null", types: allOf(arrow.BinaryTypes.String), emptyAsNull: true},
		{name: "large_string", types: allOf(arrow.BinaryTypes.LargeString)},
		{name: "binary", types: allOf(arrow.BinaryTypes.Binary), emptyAsNull: true},
		{name: "large_binary", types: allOf(arrow.BinaryTypes.LargeBinary)},
		{name: "dictionary string", types: allOf(dictString), write: pqWrite{dictionary: true}},
		{name: "dictionary binary", types: allOf(dictBinary), emptyAsNull: true},
		{name: "dictionary pages", types: allOf(arrow.BinaryTypes.String), write: pqWrite{dictionary: true}},
		{
			name:    "other names, order and extra columns",
			names:   [NumFields]string{"From_Account", "Type", "to-account", "ToGroupID", "SET MARK", "clear_mark", "CustomMark", "OPT_TYPE"},
			types:   allOf(arrow.BinaryTypes.String),
			reverse: true,
			extra: []pqColumn{
				{name: "score", typ: arrow.PrimitiveTypes.Float64, vals: make([]any, len(textRows))},
				{name: "tags", typ: arrow.ListOf(arrow.BinaryTypes.String), vals: make([]any, len(textRows))},
			},
		},
		{name: "row group per row", types: allOf(arrow.BinaryTypes.String), write: pqWrite{rowGroupLen: 1, pageSize: 64}},
		{name: "row groups of 3", types: allOf(dictString), write: pqWrite{rowGroupLen: 3, dictionary: true}},
	}
	for _, c := range codecs {
		vs = append(vs, variant{name: "codec " + c.String(), types: allOf(arrow.BinaryTypes.String), write: pqWrite{codec: c, rowGroupLen: 4}})
	}
	return vs
}

var codecs = []compress.Compression{
	compress.Codecs.Uncompressed, compress.Codecs.Snappy, compress.Codecs.Gzip,
	compress.Codecs.Zstd, compress.Codecs.Brotli, compress.Codecs.Lz4Raw, compress.Codecs.Lz4,
}

func typedVariants() []variant {
	str, i32, i64 := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64
	return []variant{
		{name: "int32 list<int32>", types: typed(str, i32, arrow.ListOf(i32), i32)},
		{name: "int64 list<int64>", types: typed(str, i64, arrow.ListOf(i64), i64)},
		{name: "int8 uint8 large_list<int16>", types: typed(arrow.BinaryTypes.LargeString, arrow.PrimitiveTypes.Int8, arrow.LargeListOf(arrow.PrimitiveTypes.Int16), arrow.PrimitiveTypes.Uint8)},
		{name: "uint16 uint64 list<uint8>", types: typed(str, arrow.PrimitiveTypes.Uint16, arrow.ListOf(arrow.PrimitiveTypes.Uint8), arrow.PrimitiveTypes.Uint64)},
		{name: "int16 uint32 list<uint64>", types: typed(dictString, arrow.PrimitiveTypes.Int16, arrow.ListOf(arrow.PrimitiveTypes.Uint64), arrow.PrimitiveTypes.Uint32)},
		{name: "non-null elements", types: typed(str, i32, arrow.ListOfNonNullable(i32), i32), noNullElements: true},
		{name: "row groups of 2, dictionary pages", types: typed(str, i32, arrow.ListOf(i32), i32), write: pqWrite{rowGroupLen: 2, dictionary: true, codec: compress.Codecs.Snappy}},
		{name: "row group per row", types: typed(str, i64, arrow.LargeListOf(i64), i64), write: pqWrite{rowGroupLen: 1, codec: compress.Codecs.Zstd}},
	}
}

func TestConformance(t *testing.T) {
	run := func(t *testing.T, rows [][NumFields]any, vs []variant) {
		for _, v := range vs {
			t.Run(v.name, func(t *testing.T) {
				rows := rows
				if v.noNullElements {
					rows = dropNullElements(rows)
				}
				dir := t.TempDir()
				csvPath := filepath.Join(dir, "rows.csv")
				writeCSV(t, csvPath, csvNames, rows)
				want := readAll(t, csvPath, Options{})
				checkRecords(t, want, rows)

				path := filepath.Join(dir, "rows.parquet")
				writeParquet(t, path, v.columns(rows), v.write)
				got := readAll(t, path, Options{})
				diffRecords(t, got, want)
			})
		}
	}
	t.Run("text", func(t *testing.T) { run(t, textRows, textVariants()) })
	t.Run("typed", func(t *testing.T) { run(t, typedRows, typedVariants()) })
}

// checkRecords checks that the CSV side holds the test values verbatim, so
// that the comparison with Parquet is not between two wrong answers.
func checkRecords(t *testing.T, recs []Record, rows [][NumFields]any) {
	t.Helper()
	if len(recs) != len(rows) {
		t.Fatalf("CSV gave %d records, want %d", len(recs), len(rows))
	}
	for i, rec := range recs {
		if rec.Row != int64(i+1) || rec.Problem != "" {
			t.Fatalf("CSV record %d: row %d problem %q", i, rec.Row, rec.Problem)
		}
		for f, v := range rows[i] {
			if got := rec.Fields[f]; got != renderText(v) {
				t.Fatalf("CSV row %d %s = %q, want %q", i+1, Field(f), got, renderText(v))
			}
		}
	}
}

// dropNullElements removes the null elements of list values, for a list
// type whose elements may not be null.
func dropNullElements(rows [][NumFields]any) [][NumFields]any {
	out := make([][NumFields]any, len(rows))
	for i, r := range rows {
		for f, v := range r {
			l, ok := v.([]any)
			if !ok {
				out[i][f] = v
				continue
			}
			kept := []any{}
			for _, e := range l {
				if e != nil {
					kept = append(kept, e)
				}
			}
			out[i][f] = kept
		}
	}
	return out
}
