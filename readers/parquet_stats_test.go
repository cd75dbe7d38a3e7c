package readers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeAccounts writes a required int64 from_account column in encoding
// enc, uncompressed, no dictionary, in row groups of rgRows, so that a test
// can find and damage its values' bytes.
func writeAccounts(t testing.TB, path string, vals []int64, rgRows int64, enc parquet.Encoding) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "from_account", Type: arrow.PrimitiveTypes.Int64},
		{Name: "to_account", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(vals, nil)
	for i := range vals {
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("peer", i%7))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Uncompressed),
		parquet.WithDictionaryDefault(false),
		parquet.WithEncodingFor("from_account", enc),
		parquet.WithMaxRowGroupLength(rgRows),
	)
	fw, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeOneToHundred writes from_account 1..100 in encoding enc, in one row
// group, to a file of its own, and returns its path.
func writeOneToHundred(t *testing.T, enc parquet.Encoding) string {
	t.Helper()
	vals := make([]int64, 100)
	for i := range vals {
		vals[i] = int64(i + 1)
	}
	path := filepath.Join(t.TempDir(), "accounts.parquet")
	writeAccounts(t, path, vals, 1000, enc)
	return path
}

// plainPair is the PLAIN encoding of two int64 values side by side, as
// they lie in a data page: a pattern found once in the file, where the
// footer's statistics hold single values.
func plainPair(a, b int64) []byte {
	p := binary.LittleEndian.AppendUint64(nil, uint64(a))
	return binary.LittleEndian.AppendUint64(p, uint64(b))
}

// A byte changed inside a page is read as a wrong value without any error:
// in an uncompressed page the library has nothing to catch it by. Here
// from_account 1..100 is PLAIN-encoded and the first value's low byte is
// set to 0, so the Parquet library reads 0 where the file had 1; the
// statistics of the chunk (1..100) catch it.
func TestParquetStatsCorruptPlainValue(t *testing.T) {
	path := writeOneToHundred(t, parquet.Encodings.Plain)
	damageOnce(t, path, plainPair(1, 2), 0, 0)

	// What the library does with the page: 0 for row 1, no error.
	func() {
		defer func(on bool) { parquetCheckStats = on }(parquetCheckStats)
		parquetCheckStats = false
		got := readAll(t, path, Options{})
		if len(got) != 100 || got[0].Fields[FromAccount] != "0" || got[1].Fields[FromAccount] != "2" {
			t.Fatalf("without the check: %d records, first %s; want 0 then 2 (the damage this test is about)", len(got), fmtRecord(got[0]))
		}
	}()

	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("Next = %s, %v; want an *InputError", fmtRecord(rec), err)
	}
	var se *statsError
	if ie.Path != path || ie.Row != 1 || ie.Column != "from_account" || !errors.As(err, &se) {
		t.Errorf("err = %#v; want row 1, column from_account, a statsError", ie)
	}
	for _, s := range []string{"row group 1 of 1 (numbered from 1)", `decoded value "0"`, `min "1", max "100"`, "corrupt Parquet file"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if _, err2 := r.Next(); err2 != err {
		t.Errorf("Next after the error = %v; want the same error", err2)
	}
}

// deltaHeader is the start of a DELTA_BINARY_PACKED page of n (< 128)
// values from first (< 64): block size 128, 4 miniblocks, n, zigzag(first).
func deltaHeader(n int, first int64) []byte {
	return []byte{0x80, 0x01, 0x04, byte(n), byte(first << 1)}
}

// The fuzz regression corpus of apache/arrow-testing has a file
// (data/parquet/fuzzing/crash-61d6204d481340860da54e30f1937b67234ad0f7, a
// damaged copy of parquet-testing's delta_encoding_required_column.parquet)
// whose column c_customer_sk has a DELTA_BINARY_PACKED page whose header
// was damaged to declare 0 values (and first value 0), where the page
// header declares 100. arrow-go up to v18.8.0 read it as 100 zeros, which
// only the statistics caught; the library now refuses the page itself.
// This builds the same damage in a small file (from_account 1..100 whose
// page header's value count is set to 0): either way, no row of it is
// returned and the error names row 1 and the column.
func TestParquetCorruptDeltaPage(t *testing.T) {
	path := writeOneToHundred(t, parquet.Encodings.DeltaBinaryPacked)
	damageOnce(t, path, deltaHeader(100, 1), 3, 0)
	for _, check := range []bool{true, false} {
		func() {
			defer func(on bool) { parquetCheckStats = on }(parquetCheckStats)
			parquetCheckStats = check
			err := readError(t, path)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Path != path || ie.Row != 1 || !strings.Contains(err.Error(), "corrupt Parquet file") || !strings.Contains(err.Error(), "from_account") {
				t.Fatalf("statistics checked %v: %v; want an *InputError at row 1 saying the file is corrupt and naming from_account", check, err)
			}
		}()
	}
}

// In a later row group, the error names that row group and the row of the
// damaged value; no row of the batch holding it is returned.
func TestParquetStatsLaterRowGroup(t *testing.T) {
	var vals []int64
	for rg := range 3 {
		for i := range 100 {
			vals = append(vals, int64(rg*1000+i+1))
		}
	}
	path := filepath.Join(t.TempDir(), "plain3.parquet")
	writeAccounts(t, path, vals, 100, parquet.Encodings.Plain)
	// Row group 2 starts 1001 (0x3e9): its low byte set to 0 reads 768.
	damageOnce(t, path, plainPair(1001, 1002), 0, 0)
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next()
	var ie *InputError
	if !errors.As(err, &ie) || ie.Row != 101 || ie.Column != "from_account" {
		t.Fatalf("first Next = %s, %v; want an *InputError at row 101 column from_account", fmtRecord(rec), err)
	}
	for _, s := range []string{"row group 2 of 3 (numbered from 1)", `decoded value "768"`, `min "1001", max "1100"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// A byte-array column is checked bytewise (unsigned: "é" sorts after "z"),
// against min_value/max_value: damaging the footer's max_value makes the
// values above it an error.
func TestParquetStatsBytes(t *testing.T) {
	ids := strs("ana", "bo", "zed", "émile", "carl", "", "<null>")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeParquet(t, good, []pqColumn{{name: "from_account", typ: arrow.BinaryTypes.String, vals: ids}}, pqWrite{})
	if got := readAll(t, good, Options{}); len(got) != len(ids) || got[3].Fields[FromAccount] != "émile" {
		t.Fatalf("the undamaged file: %d records", len(got))
	}
	c := openStatsCheck(t, good, 0)
	if c == nil || c.bounds[0].kind != statsBytes || c.bounds[0].blo != "" || c.bounds[0].bhi != "émile" {
		t.Fatalf("statistics %+v; want \"\"..émile", *c.bounds[0])
	}

	// The footer is the last place the max value is written.
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(data, []byte("émile"))
	copy(data[i:], "carlo!") // as long as "émile": max_value "carlo!"
	bad := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	err = readError(t, bad)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Row != 3 || ie.Column != "from_account" || !strings.Contains(err.Error(), `decoded value "zed"`) || !strings.Contains(err.Error(), `max "carlo!"`) {
		t.Fatalf("err = %v; want an *InputError at row 3 about \"zed\" above max \"carlo!\"", err)
	}
}

// openStatsCheck returns the statistics check of column leaf of path.
func openStatsCheck(t *testing.T, path string, leaf int) *statsCheck {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	dt := fr.Manifest.Fields[leaf].Field.Type
	return newStatsCheck(pf, leaf, dt)
}

// Which statistics are trusted: min_value/max_value for every type (the
// file declares a column order); without a column order arrow-go reads the
// deprecated min/max, trusted for signed integers only.
func TestParquetStatsTrust(t *testing.T) {
	path := filepath.Join(t.TempDir(), "types.parquet")
	writeParquet(t, path, []pqColumn{
		{name: "from_account", typ: arrow.BinaryTypes.String, vals: strs("b", "a", "c")},
		{name: "to_account", typ: arrow.PrimitiveTypes.Int64, vals: []any{5, -3, 9}},
		{name: "to_group_id", typ: arrow.PrimitiveTypes.Uint64, vals: []any{int64(1), int64(-1), int64(7)}},
	}, pqWrite{})
	for leaf, want := range []statsBounds{
		{kind: statsBytes, blo: "a", bhi: "c"},
		{kind: statsSigned, lo: -3, hi: 9},
		{kind: statsUnsigned, ulo: 1, uhi: 1<<64 - 1},
	} {
		c := openStatsCheck(t, path, leaf)
		if c == nil {
			t.Fatalf("column %d: no statistics", leaf)
		}
		b := *c.bounds[0]
		b.minS, b.maxS, b.rowGroup, b.rowGroups, b.loKey, b.hiKey = "", "", 0, 0, 0, 0
		if b != want {
			t.Errorf("column %d: bounds %+v, want %+v", leaf, b, want)
		}
	}
	// The same file as a writer without column orders would have it.
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	undefined := []parquet.ColumnOrder{parquet.ColumnOrders.Undefined, parquet.ColumnOrders.Undefined, parquet.ColumnOrders.Undefined}
	if err := pf.MetaData().Schema.UpdateColumnOrders(undefined); err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	for leaf, trusted := range []bool{false, true, false} {
		c := newStatsCheck(pf, leaf, fr.Manifest.Fields[leaf].Field.Type)
		if (c != nil) != trusted {
			t.Errorf("column %d without a column order: check %v, want trusted %v", leaf, c, trusted)
		}
	}
}

// arrow-go's writer up to v18.8.0 left "" out of the statistics of a
// dictionary column: an empty value below min_value is no sign of damage.
// The fixture is such a file: to_account is "" in its group rows.
func TestParquetStatsEmptyValue(t *testing.T) {
	path := filepath.Join(fixtureDir, "arrow_dictionary_empty_ids.parquet")
	if c := openStatsCheck(t, path, 2); c == nil || c.bounds[0].blo != "peer0" {
		t.Fatalf("statistics %+v; the test needs a file whose min_value leaves \"\" out", c)
	}
	got := readAll(t, path, Options{})
	if len(got) != 40 || got[4].Fields[ToAccount] != "" || got[4].Fields[ToGroupID] != "group-4" || got[5].Fields[ToAccount] != "peer35" {
		t.Fatalf("got %d records, row 5 %s, row 6 %s", len(got), fmtRecord(got[4]), fmtRecord(got[5]))
	}
}

// Every array type an id column can be read as skips "" in the check,
// as textReader does: "" below min_value is no sign of damage, and a value
// below it in the same array still is.
func TestParquetStatsEmptyValueEveryType(t *testing.T) {
	mem := memory.NewGoAllocator()
	b := statsBounds{kind: statsBytes, blo: "b", bhi: "d", loKey: prefixKey("b"), hiKey: prefixKey("d")}
	for _, dt := range []arrow.DataType{
		arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString, arrow.BinaryTypes.StringView,
		arrow.BinaryTypes.Binary, arrow.BinaryTypes.LargeBinary, arrow.BinaryTypes.BinaryView,
	} {
		for _, tt := range []struct {
			vals []string
			want int
		}{
			{[]string{"c", "", "d"}, -1},
			{[]string{"c", "", "a"}, 2},
		} {
			bld := array.NewBuilder(mem, dt)
			for _, v := range tt.vals {
				switch bb := bld.(type) {
				case array.StringLikeBuilder:
					bb.Append(v)
				case *array.BinaryBuilder:
					bb.Append([]byte(v))
				case *array.BinaryViewBuilder:
					bb.Append([]byte(v))
				default:
					t.Fatalf("%s: builder %T", dt, bld)
				}
			}
			arr := bld.NewArray()
			bld.Release()
			if got := b.firstOutside(arr, 0, arr.Len()); got != tt.want {
				t.Errorf("%s %q: firstOutside = %d, want %d", dt, tt.vals, got, tt.want)
			}
			arr.Release()
		}
	}
}

// A value longer than arrow-go's limit of statistics (4096 bytes) beside
// an empty one: the writer gives the chunk min_value "" and an empty
// max_value, which every other value is above; the file is not damaged,
// and its rows are read, the long one as too long.
func TestParquetStatsLongMax(t *testing.T) {
	for _, w := range []pqWrite{{}, {dictionary: true}} {
		path := filepath.Join(t.TempDir(), "long.parquet")
		long := "z" + strings.Repeat("x", 5000)
		writeParquet(t, path, []pqColumn{
			{name: "from_account", typ: arrow.BinaryTypes.String, vals: strs("ana", long, "bo", "")},
			{name: "to_account", typ: arrow.BinaryTypes.String, vals: strs("p", "q", "r", "s")},
		}, w)
		got := readAll(t, path, Options{})
		if len(got) != 4 || got[0].Fields[FromAccount] != "ana" || got[1].Problem == "" || got[2].Fields[FromAccount] != "bo" {
			t.Fatalf("dictionary %v: %d records, the long one's problem %q", w.dictionary, len(got), got[1].Problem)
		}
	}
}

// BenchmarkParquetStatsCheck reads a file of a million rows with and
// without the statistics check.
func BenchmarkParquetStatsCheck(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "million.parquet")
	writeBenchFile(b, path, rows, true)
	for _, check := range []bool{true, false} {
		name := "check"
		if !check {
			name = "nocheck"
		}
		b.Run(name, func(b *testing.B) {
			defer func(on bool) { parquetCheckStats = on }(parquetCheckStats)
			parquetCheckStats = check
			b.ReportAllocs()
			for b.Loop() {
				r, err := openParquet(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := r.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				r.Close()
				if n != rows {
					b.Fatalf("read %d rows", n)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// readError opens path and reads it to the end, and returns the error, or
// nil if it read to the end.
func readError(t *testing.T, path string) error {
	t.Helper()
	r, err := Open(path, Options{})
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		_, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// BenchmarkParquetStatsCheckValues measures the check alone: one column of
// a million ids against its bounds, as text and as int64.
func BenchmarkParquetStatsCheckValues(b *testing.B) {
	const rows = 1_000_000
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range rows {
		sb.Append(fmt.Sprintf("user%07d", i))
		ib.Append(int64(i))
	}
	texts, ints := sb.NewArray(), ib.NewArray()
	defer texts.Release()
	defer ints.Release()
	for _, tt := range []struct {
		name string
		arr  arrow.Array
		b    statsBounds
	}{
		{"string", texts, statsBounds{kind: statsBytes, blo: "user0000000", bhi: fmt.Sprintf("user%07d", rows-1),
			loKey: prefixKey("user0000000"), hiKey: prefixKey(fmt.Sprintf("user%07d", rows-1))}},
		{"int64", ints, statsBounds{kind: statsSigned, lo: 0, hi: rows - 1}},
	} {
		c := &statsCheck{starts: []int64{0, rows}, bounds: []*statsBounds{&tt.b}}
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if bad := c.check(tt.arr, 0); bad != nil {
					b.Fatal(bad)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/value")
		})
	}
}

// prefixKey's shortcut agrees with comparing the strings, on short strings
// over an alphabet with the extreme bytes (where zero padding could fool it).
func TestParquetStatsPrefixKey(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0, 1, 'a', 'b', 0x7f, 0x80, 0xfe, 0xff}
	str := func() string {
		b := make([]byte, rnd.IntN(11))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 200_000 {
		v, w := str(), str()
		if prefixKey(v) > prefixKey(w) && !(v > w) {
			t.Fatalf("prefixKey(%q) > prefixKey(%q) but the string is not greater", v, w)
		}
		if prefixKey(v) < prefixKey(w) && !(v < w) {
			t.Fatalf("prefixKey(%q) < prefixKey(%q) but the string is not less", v, w)
		}
	}
}
