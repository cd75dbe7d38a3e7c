package readers

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestParquetCells(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	str, i32 := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32
	tests := []struct {
		name string
		typ  arrow.DataType
		vals []any
		want []string
	}{
		{"string", str, strs("a", "", "<null>", " x "), []string{"a", "", "", " x "}},
		{"string_view", arrow.BinaryTypes.StringView, strs("short", "a longer string than twelve bytes", "<null>"), []string{"short", "a longer string than twelve bytes", ""}},
		{"binary_view", arrow.BinaryTypes.BinaryView, []any{[]byte("\xff\x00"), nil, "a longer value than twelve bytes"}, []string{"\xff\x00", "", "a longer value than twelve bytes"}},
		{"large_binary", arrow.BinaryTypes.LargeBinary, []any{[]byte("\xffb"), nil}, []string{"\xffb", ""}},
		{"int8", arrow.PrimitiveTypes.Int8, []any{-128, 127, nil, 0}, []string{"-128", "127", "", "0"}},
		{"int64", arrow.PrimitiveTypes.Int64, []any{int64(-1 << 63), int64(1<<63 - 1)}, []string{"-9223372036854775808", "9223372036854775807"}},
		{"uint64", arrow.PrimitiveTypes.Uint64, []any{int64(-1), 3}, []string{"18446744073709551615", "3"}},
		{"uint8", arrow.PrimitiveTypes.Uint8, []any{255, nil}, []string{"255", ""}},
		{"null", arrow.Null, []any{nil, nil}, []string{"", ""}},
		{"all null string", str, []any{nil, nil}, []string{"", ""}},
		{"dictionary int", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint8, ValueType: str}, strs("c2c", "group", "c2c", "<null>"), []string{"c2c", "group", "c2c", ""}},
		{"list", arrow.ListOf(i32), []any{[]any{1, 2}, []any{}, nil, []any{nil}, []any{3, nil}}, []string{"[1,2]", "[]", "", "[null]", "[3,null]"}},
		{"large_list uint64", arrow.LargeListOf(arrow.PrimitiveTypes.Uint64), []any{[]any{63}, []any{64}}, []string{"[63]", "[64]"}},
		{"list int8 negative", arrow.ListOf(arrow.PrimitiveTypes.Int8), []any{[]any{-1, 5}}, []string{"[-1,5]"}},
		{"fixed_size_list", arrow.FixedSizeListOf(2, i32), []any{[]any{1, 2}, nil, []any{nil, 4}}, []string{"[1,2]", "", "[null,4]"}},
		{"list_view", arrow.ListViewOf(arrow.PrimitiveTypes.Int16), []any{[]any{1}, nil, []any{}, []any{2, 3}}, []string{"[1]", "", "[]", "[2,3]"}},
		{"large_list_view", arrow.LargeListViewOf(arrow.PrimitiveTypes.Int16), []any{[]any{9, 8}}, []string{"[9,8]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkParquetType(SetMark, tt.typ); err != nil {
				t.Fatalf("checkParquetType: %v", err)
			}
			arr, err := buildArray(mem, tt.typ, tt.vals)
			if err != nil {
				t.Fatal(err)
			}
			defer arr.Release()
			got := renderColumn(t, arr)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// A slice of the column renders the same rows.
			if arr.Len() > 1 {
				s := array.NewSlice(arr, 1, int64(arr.Len()))
				defer s.Release()
				if got := renderColumn(t, s); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want[1:]) {
					t.Errorf("slice: got %q, want %q", got, tt.want[1:])
				}
			}
		})
	}
}

// An extension type over text (here arrow.json, which is what a Parquet
// JSON column reads as) is read as its storage.
func TestParquetExtensionColumn(t *testing.T) {
	jt, err := extensions.NewJSONType(arrow.BinaryTypes.String)
	if err != nil {
		t.Fatal(err)
	}
	storage, err := buildArray(memory.DefaultAllocator, arrow.BinaryTypes.String, strs(`{"a":1}`, "<null>"))
	if err != nil {
		t.Fatal(err)
	}
	defer storage.Release()
	arr := array.NewExtensionArrayWithStorage(jt, storage)
	defer arr.Release()
	if err := checkParquetType(CustomMark, arr.DataType()); err != nil {
		t.Fatal(err)
	}
	if got := renderColumn(t, arr); fmt.Sprintf("%q", got) != `["{\"a\":1}" ""]` {
		t.Errorf("got %q", got)
	}
}

func renderColumn(t *testing.T, arr arrow.Array) []string {
	t.Helper()
	w, err := newCellWriter(arr)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, arr.Len())
	for i := range out {
		b, cut := w(nil, i)
		if cut != (cellCut{}) {
			t.Errorf("row %d cut: %+v", i, cut)
		}
		out[i] = string(b)
	}
	return out
}

func TestParquetTypeErrors(t *testing.T) {
	str := arrow.BinaryTypes.String
	n := 2
	col := func(name string, typ arrow.DataType, vals []any) pqColumn {
		if vals == nil {
			vals = make([]any, n)
		}
		return pqColumn{name: name, typ: typ, vals: vals}
	}
	from := col("from_account", str, strs("a", "b"))
	tests := []struct {
		name       string
		cols       []pqColumn
		column     string
		wantInText []string
	}{
		{"from_account double", []pqColumn{col("from_account", arrow.PrimitiveTypes.Float64, []any{1, 2})}, "from_account", []string{"float64"}},
		{"set_mark list<string>", []pqColumn{from, col("set_mark", arrow.ListOf(str), nil)}, "set_mark", []string{"list<", "utf8", "list of integers"}},
		{"clear_mark double", []pqColumn{from, col("ClearMark", arrow.PrimitiveTypes.Float64, nil)}, "clear_mark", []string{`"ClearMark"`, "float64"}},
		{"type bool", []pqColumn{from, col("type", arrow.FixedWidthTypes.Boolean, nil)}, "type", []string{"bool"}},
		{"custom_mark list", []pqColumn{from, col("custom_mark", arrow.ListOf(arrow.PrimitiveTypes.Int32), nil)}, "custom_mark", []string{"list<"}},
		{"opt_type date", []pqColumn{from, col("opt_type", arrow.FixedWidthTypes.Date32, nil)}, "opt_type", []string{"date32"}},
		{"to_account struct", []pqColumn{from, col("to_account", arrow.StructOf(arrow.Field{Name: "id", Type: str, Nullable: true}), []any{nil, nil})}, "to_account", []string{"struct"}},
		{"missing from_account", []pqColumn{col("user", str, nil)}, "from_account", []string{"required column from_account is missing", "user"}},
		{"two from_accounts", []pqColumn{from, col("FromAccount", str, nil)}, "from_account", []string{"both match"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.parquet")
			if err := writeParquetFile(path, tt.cols, pqWrite{}); err != nil {
				// The struct column needs its own builder; write it empty.
				t.Fatal(err)
			}
			r, err := openParquet(path, Options{})
			if err == nil {
				r.Close()
				t.Fatal("openParquet succeeded; want an input error")
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Path != path || ie.Column != tt.column || ie.Row != 0 {
				t.Fatalf("err = %#v (%v); want *InputError for column %s", err, err, tt.column)
			}
			for _, s := range tt.wantInText {
				if !strings.Contains(ie.Err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// Unknown columns are not read, whatever their type; a renamed column is.
func TestParquetMapAndUnknownColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "legacy.parquet")
	writeParquet(t, path, []pqColumn{
		{name: "uid", typ: arrow.BinaryTypes.String, vals: strs("u1", "u2")},
		{name: "peer", typ: arrow.BinaryTypes.String, vals: strs("p1", "p2")},
		{name: "weird", typ: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}), vals: []any{nil, nil}},
		{name: "bits", typ: arrow.ListOf(arrow.PrimitiveTypes.Int64), vals: []any{[]any{1}, nil}},
	}, pqWrite{})
	got := readAll(t, path, Options{Map: map[string]string{"uid": "from_account", "peer": "to_account", "bits": "set_mark"}})
	want := []Record{
		{Row: 1, Fields: [NumFields]string{FromAccount: "u1", ToAccount: "p1", SetMark: "[1]"}},
		{Row: 2, Fields: [NumFields]string{FromAccount: "u2", ToAccount: "p2"}},
	}
	diffRecords(t, got, want)
}

func TestParquetBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeParquet(t, good, []pqColumn{
		{name: "from_account", typ: arrow.BinaryTypes.String, vals: strs("a", "b", "c")},
		{name: "set_mark", typ: arrow.ListOf(arrow.PrimitiveTypes.Int32), vals: []any{[]any{1}, []any{2}, nil}},
	}, pqWrite{})
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"csv", []byte("from_account,to_account\nalice,bob\n"), "not a Parquet file"},
		{"magic only", []byte("PAR1"), "truncated"},
		{"two magics", []byte("PAR1PAR1"), "truncated"},
		{"truncated by one byte", data[:len(data)-1], "truncated"},
		{"truncated to half", data[:len(data)/2], "truncated"},
		{"footer length too large", append(append([]byte{}, data[:len(data)-8]...), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'), "corrupt Parquet file"},
		{"footer garbage", append(append([]byte("PAR1"), make([]byte, 64)...), 64, 0, 0, 0, 'P', 'A', 'R', '1'), "corrupt Parquet file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".parquet")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, Options{})
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded; want an input error")
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Path != path {
				t.Fatalf("err = %#v; want *InputError", err)
			}
			if msg := ie.Err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line mentioning %q", msg, tt.want)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		_, err := Open("-", Options{Format: "parquet"})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "standard input") {
			t.Fatalf("err = %v; want an *InputError about standard input", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := openParquet(filepath.Join(dir, "nope.parquet"), Options{})
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v; want *InputError wrapping ErrNotExist", err)
		}
	})
}

// A file whose column data is damaged fails on Next with an *InputError
// naming the row, and keeps failing.
func TestParquetCorruptData(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.parquet")
	vals := make([]any, 1000)
	for i := range vals {
		vals[i] = fmt.Sprintf("user%d", i)
	}
	writeParquet(t, path, []pqColumn{{name: "from_account", typ: arrow.BinaryTypes.String, vals: vals}}, pqWrite{})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite the page data (after the first page header) with junk.
	for i := 30; i < 400; i++ {
		data[i] = 0xA5
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := openParquet(path, Options{})
	if err != nil {
		checkInputError(t, err, path)
		return
	}
	defer r.Close()
	for {
		_, err := r.Next()
		if err == io.EOF {
			t.Fatal("damaged file read to the end without an error")
		}
		if err != nil {
			checkInputError(t, err, path)
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("second Next = %v; want the same error", err2)
			}
			return
		}
	}
}

func checkInputError(t *testing.T, err error, path string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) || ie.Path != path {
		t.Fatalf("err = %#v; want *InputError", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
}

func TestParquetNoRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.parquet")
	writeParquet(t, path, []pqColumn{{name: "from_account", typ: arrow.BinaryTypes.String, vals: nil}}, pqWrite{})
	if got := readAll(t, path, Options{}); len(got) != 0 {
		t.Errorf("got %d records from a file with no rows", len(got))
	}
}

// Rows are numbered across row groups and batches, and records stay
// intact after the batches they came from are released.
func TestParquetManyRowGroups(t *testing.T) {
	const n = 3*parquetBatchRows + 123
	from := make([]any, n)
	marks := make([]any, n)
	for i := range from {
		from[i] = fmt.Sprintf("user-%d", i)
		if i%3 != 0 {
			marks[i] = []any{i % 64, (i + 1) % 64}
		}
	}
	path := filepath.Join(t.TempDir(), "many.parquet")
	writeParquet(t, path, []pqColumn{
		{name: "from_account", typ: arrow.BinaryTypes.String, vals: from},
		{name: "set_mark", typ: arrow.ListOf(arrow.PrimitiveTypes.Int32), vals: marks},
	}, pqWrite{rowGroupLen: 7777})
	got := readAll(t, path, Options{})
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	for i, rec := range got {
		want := Record{Row: int64(i + 1)}
		want.Fields[FromAccount] = renderText(from[i])
		if marks[i] != nil {
			want.Fields[SetMark] = renderText(marks[i])
		}
		if !reflect.DeepEqual(rec, want) {
			t.Fatalf("record %d = %s; want %s", i, fmtRecord(rec), fmtRecord(want))
		}
	}
}

func TestParquetNextAfterEndAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.parquet")
	writeParquet(t, path, []pqColumn{{name: "from_account", typ: arrow.BinaryTypes.String, vals: strs("a")}}, pqWrite{})
	r, err := openParquet(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Next(); err != nil || rec.Fields[FromAccount] != "a" || rec.Row != 1 {
		t.Fatalf("Next = %v, %v", fmtRecord(rec), err)
	}
	for range 2 {
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next after the end = %v; want io.EOF", err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Fatalf("Next after Close = %v; want an error", err)
	}
}

// TestNullCellsAreEmpty: a null cell is "" whatever bytes its slot holds
// (Arrow lets a null slot hold any), in a batch with nulls and beside one
// without.
func TestNullCellsAreEmpty(t *testing.T) {
	valid := memory.NewBufferBytes([]byte{0b101}) // rows 0 and 2 valid
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 1, 6, 7}))
	data := memory.NewBufferBytes([]byte("aSTALEb"))
	withNull := array.NewStringData(array.NewData(arrow.BinaryTypes.String, 3, []*memory.Buffer{valid, offsets, data}, nil, 1, 0))
	defer withNull.Release()
	if got := renderColumn(t, withNull); fmt.Sprintf("%q", got) != `["a" "" "b"]` {
		t.Errorf("with a null: got %q", got)
	}
	noNull := array.NewStringData(array.NewData(arrow.BinaryTypes.String, 3, []*memory.Buffer{nil, offsets, data}, nil, 0, 0))
	defer noNull.Release()
	if got := renderColumn(t, noNull); fmt.Sprintf("%q", got) != `["a" "STALE" "b"]` {
		t.Errorf("without nulls: got %q", got)
	}
}
