package readers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// readEvery reads every record of path until the end or an error, with
// textReader on or off (through pqarrow).
func readEvery(t *testing.T, path string, opts Options, lowLevel bool) ([]Record, error) {
	t.Helper()
	defer func(old bool) { parquetLowLevelText = old }(parquetLowLevelText)
	parquetLowLevelText = lowLevel
	r, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

// compareTextPaths reads path with textReader and through pqarrow and
// fails unless the records (every field, Problem, ProblemColumn, Row,
// Extra) and the errors are the same. It returns the records and the error.
func compareTextPaths(t *testing.T, path string, opts Options) ([]Record, error) {
	t.Helper()
	got, gotErr := readEvery(t, path, opts, true)
	want, wantErr := readEvery(t, path, opts, false)
	diffRecords(t, got, want)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Errorf("error %v; through pqarrow %v", gotErr, wantErr)
	}
	return got, gotErr
}

// compareTextOK is compareTextPaths of a file that reads without an error.
func compareTextOK(t *testing.T, path string, opts Options) []Record {
	t.Helper()
	recs, err := compareTextPaths(t, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// usesTextReader reports whether the reader of path reads the known field f
// with textReader.
func usesTextReader(t *testing.T, path string, f Field) bool {
	t.Helper()
	r, err := openParquet(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pr := r.(*parquetReader)
	c := pr.fields[f]
	return c >= 0 && pr.cols[c].text != nil
}

// writeTextFile writes cols with w, checks that field f is read with
// textReader, and returns the file and its n records, read as pqarrow
// reads them (compareTextOK).
func writeTextFile(t *testing.T, cols []pqColumn, w pqWrite, f Field, n int) (string, []Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "text.parquet")
	writeParquet(t, path, cols, w)
	if !usesTextReader(t, path, f) {
		t.Fatalf("%s is not read with textReader", f)
	}
	recs := compareTextOK(t, path, Options{})
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	return path, recs
}

// Every interop fixture and the fuzz corpus read the same with textReader
// as through pqarrow, errors included.
func TestParquetTextFixtures(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			compareTextPaths(t, path, Options{})
		})
	}
	corpus, err := filepath.Glob("testdata/fuzz/FuzzParquet/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range corpus {
		t.Run("fuzz/"+filepath.Base(entry), func(t *testing.T) {
			data, err := os.ReadFile(entry)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			lit, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
			if !ok {
				t.Skip("not a []byte entry")
			}
			s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "fuzz.parquet")
			if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
			compareTextPaths(t, path, Options{})
		})
	}
}

// textValue is the value of row i of column c of the generated files: nulls,
// empty values, values of keepBytes-1, keepBytes and keepBytes+1 bytes,
// values of kilobytes (cut in the middle of a multi-byte rune; up to 100 kB
// in custom_mark), a few
// distinct values (dictionary-friendly) and many distinct ones.
func textValue(c, i int) any {
	switch {
	case (i+c)%13 == 0:
		return nil
	case (i+c)%17 == 0:
		return ""
	case (i+3*c)%1001 == 0:
		return strings.Repeat("a", keepBytes-1)
	case (i+3*c)%1003 == 0:
		return strings.Repeat("b", keepBytes)
	case (i+3*c)%1007 == 0:
		return strings.Repeat("c", keepBytes+1)
	case (i+5*c)%997 == 0:
		// Under 4096 bytes but in custom_mark, not a statistics check's
		// column: arrow-go writes no max_value above 4096 bytes, which
		// the check takes as max "".
		long := i % 3000
		if Field(c) == CustomMark {
			long = i % 100_000
		}
		return strings.Repeat("é", keepBytes/2) + strings.Repeat("x", long)
	case c%2 == 0:
		return fmt.Sprintf("user%03d", (i*7+c)%50)
	}
	return fmt.Sprintf("peer%07d-%d", i*31%100003, c)
}

// Files written by pqarrow and by the low-level writer, with nulls, empty
// strings, values longer than keepBytes, dictionary and plain pages (and
// dictionaries that fall back to plain), several row groups, small pages
// split across batches, data pages v1 and v2, read the same with
// textReader as through pqarrow; so do the Extras of the same columns.
func TestParquetTextMatchesArrow(t *testing.T) {
	const n = 40_000
	textTypes := []arrow.DataType{
		arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString,
		arrow.BinaryTypes.Binary, arrow.BinaryTypes.LargeBinary,
		&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String},
	}
	var cols []pqColumn
	for f := range int(NumFields) {
		vals := make([]any, n)
		typ := textTypes[f%len(textTypes)]
		for i := range vals {
			vals[i] = textValue(f, i)
			if typ.ID() == arrow.BINARY || typ.ID() == arrow.LARGE_BINARY {
				if s, ok := vals[i].(string); ok {
					vals[i] = []byte(s)
				}
			}
		}
		if Field(f) == ToGroupID {
			vals = make([]any, n) // all null
		}
		cols = append(cols, pqColumn{name: Field(f).String(), typ: typ, vals: vals})
	}
	note := make([]any, n)
	for i := range note {
		note[i] = textValue(99, i)
	}
	cols = append(cols, pqColumn{name: "note", typ: arrow.BinaryTypes.String, vals: note})
	extra := Options{Extra: []ExtraColumn{{Name: "note", Origin: "test"}, {Name: "custom_mark", Origin: "test"}, {Name: "from_account", Origin: "test"}}}

	for _, w := range []pqWrite{
		{dictionary: true},
		{dictionary: false},
		{dictionary: true, rowGroupLen: 10_000, pageSize: 1024, codec: compress.Codecs.Snappy},
		{dictionary: false, rowGroupLen: 7_777, pageSize: 4096},
		{dictionary: true, rowGroupLen: 16 * 1024},
	} {
		t.Run(fmt.Sprintf("dict=%v,rg=%d,page=%d", w.dictionary, w.rowGroupLen, w.pageSize), func(t *testing.T) {
			path, recs := writeTextFile(t, cols, w, FromAccount, n)
			cut := 0
			for _, r := range recs {
				if r.Problem != "" {
					cut++
				}
			}
			if cut == 0 {
				t.Error("no value was cut")
			}
			compareTextOK(t, path, extra)
		})
	}

	// Required and optional byte arrays without a logical type, written
	// with the low-level writer, pages v1 and v2.
	optionalBytes := func(name string, c int) lowColumn {
		return lowColumn{
			node: mustNode(schema.NewPrimitiveNode(name, optional, parquet.Types.ByteArray, -1, -1)),
			write: func(cw file.ColumnChunkWriter, from, to int) error {
				var vals []parquet.ByteArray
				var defs []int16
				for i := from; i < to; i++ {
					switch v := textValue(c, i).(type) {
					case nil:
						defs = append(defs, 0)
					case string:
						defs = append(defs, 1)
						vals = append(vals, parquet.ByteArray(v))
					}
				}
				_, err := cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(vals, defs, nil)
				return err
			},
		}
	}
	required := func(name string, c int) lowColumn {
		return stringColumn(name, func(i int) string {
			s, _ := textValue(c, i).(string)
			return s
		})
	}
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("low-level,v2=%v", v2), func(t *testing.T) {
			version := parquet.DataPageV1
			if v2 {
				version = parquet.DataPageV2
			}
			path := filepath.Join(t.TempDir(), "low.parquet")
			writeLowLevel(t, path, 33_000, 5_000, []lowColumn{
				required("from_account", 1),
				optionalBytes("to_account", 2),
				optionalBytes("custom_mark", 3),
				required("type", 4),
			}, parquet.WithDataPageVersion(version), parquet.WithDataPageSize(2048), parquet.WithDictionaryFor("custom_mark", true), parquet.WithDictionaryDefault(false))
			if !usesTextReader(t, path, FromAccount) || !usesTextReader(t, path, ToAccount) {
				t.Fatal("from_account and to_account are not read with textReader")
			}
			compareTextOK(t, path, Options{})
			compareTextOK(t, path, Options{Extra: []ExtraColumn{{Name: "to_account", Origin: "test"}}})
		})
	}
}

// A damaged max_value in the footer fails the batch at the same row, with
// the same message, with textReader as through pqarrow; a batch in a later
// row group too.
func TestParquetTextStats(t *testing.T) {
	const n = 40_000
	ids := make([]any, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("user%06d", i)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	from := make([]any, n)
	for i := range from {
		from[i] = "ana"
	}
	writeParquet(t, good, []pqColumn{
		{name: "from_account", typ: arrow.BinaryTypes.String, vals: from},
		{name: "to_account", typ: arrow.BinaryTypes.String, vals: ids},
	}, pqWrite{rowGroupLen: 30_000})
	if !usesTextReader(t, good, ToAccount) {
		t.Fatal("to_account is not read with textReader")
	}
	compareTextOK(t, good, Options{})
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The max of the second row group, user039999, becomes user035000.
	i := bytes.LastIndex(data, []byte("user039999"))
	copy(data[i:], "user035000")
	bad := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := compareTextPaths(t, bad, Options{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Row != 35_002 || !strings.Contains(err.Error(), `decoded value "user035001"`) {
		t.Fatalf("err = %v after %d records; want an *InputError at row 35002", err, len(recs))
	}
}

// TestParquetTextUncutBatchesMatchArrow: batches with no value cut (whose
// fields nextInto reads inline) and a batch with one value cut, in one
// column, beside them, read the same with textReader as through pqarrow.
func TestParquetTextUncutBatchesMatchArrow(t *testing.T) {
	n := 3*parquetBatchRows + 5
	cutRow := 2*parquetBatchRows + 100 // in the third batch
	var cols []pqColumn
	for f := range int(NumFields) {
		vals := make([]any, n)
		for i := range vals {
			v := textValue(f, i)
			if s, ok := v.(string); ok && len(s) > keepBytes {
				v = s[:10]
			}
			vals[i] = v
		}
		if Field(f) == ToAccount {
			vals[cutRow] = strings.Repeat("z", keepBytes+3)
		}
		var typ arrow.DataType = arrow.BinaryTypes.String
		// Columns that are not text between the text ones: their
		// fields are carved from a slab, the text ones' are not.
		switch Field(f) {
		case SetMark:
			typ = arrow.ListOf(arrow.PrimitiveTypes.Int32)
			for i := range vals {
				vals[i] = []any{i % 64, (i + 7) % 64}
				if i%11 == 0 {
					vals[i] = nil
				}
			}
		case ClearMark:
			typ = arrow.PrimitiveTypes.Int64
			for i := range vals {
				vals[i] = i % 64
				if i%5 == 0 {
					vals[i] = nil
				}
			}
		}
		cols = append(cols, pqColumn{name: Field(f).String(), typ: typ, vals: vals})
	}
	for _, w := range []pqWrite{{dictionary: true}, {dictionary: false, rowGroupLen: 7_777, pageSize: 4096}} {
		t.Run(fmt.Sprintf("dict=%v", w.dictionary), func(t *testing.T) {
			_, recs := writeTextFile(t, cols, w, ToAccount, n)
			for i, r := range recs {
				if (r.Problem != "") != (i == cutRow) {
					t.Fatalf("record %d: problem %q", i, r.Problem)
				}
			}
			if r := recs[6]; r.Fields[FromAccount] == "" || r.Fields[CustomMark] == "" || r.Fields[SetMark] == "" || r.Fields[ClearMark] == "" {
				t.Errorf("record 7 has an empty field: %q", r.Fields)
			}
		})
	}
}
