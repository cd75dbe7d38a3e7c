package main

import (
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Fixtures written by arrow: pqarrow for the arrow types (stored in the
// file's ARROW:schema, as pyarrow does), and arrow's low-level column
// writer for the legacy list layouts of Spark, Hive and parquet-avro,
// which no current arrow writer produces.

var (
	str        = arrow.BinaryTypes.String
	i32        = arrow.PrimitiveTypes.Int32
	i64        = arrow.PrimitiveTypes.Int64
	dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
)

func allOf(dt arrow.DataType) [numFields]arrow.DataType {
	var ts [numFields]arrow.DataType
	for i := range ts {
		ts[i] = dt
	}
	return ts
}

func typedAs(ids, typ, mark, opt arrow.DataType) [numFields]arrow.DataType {
	return [numFields]arrow.DataType{ids, typ, ids, ids, mark, mark, str, opt}
}

// arrowWrite says how a pqarrow fixture is written.
type arrowWrite struct {
	types       [numFields]arrow.DataType
	codec       compress.Compression
	rowGroupLen int64
	dictionary  bool
	pageV2      bool
}

func arrowFixtures() []fixture {
	text := sampleRows(80, true, false)
	typed := sampleRows(200, true, true)
	invalid := sampleRows(40, true, false)
	invalid[3][fCustom] = "bad \xff\xfe bytes"
	invalid[7][fFrom] = "user\xc3"
	invalid[8][fCustom] = []byte{0, 1, 2}

	pq := func(name, doc string, rows []row, w arrowWrite) fixture {
		return fixture{name: name, doc: doc, rows: rows, write: func(path string, rows []row) error {
			return writeArrow(path, rows, w)
		}}
	}
	fs := []fixture{
		pq("arrow_large_string", "large_string columns with nulls, snappy", text,
			arrowWrite{types: allOf(arrow.BinaryTypes.LargeString), codec: compress.Codecs.Snappy}),
		pq("arrow_binary", "binary columns, invalid UTF-8 kept verbatim, uncompressed", invalid,
			arrowWrite{types: allOf(arrow.BinaryTypes.Binary)}),
		pq("arrow_large_binary", "large_binary columns, gzip", invalid,
			arrowWrite{types: allOf(arrow.BinaryTypes.LargeBinary), codec: compress.Codecs.Gzip}),
		pq("arrow_dictionary_strings", "dictionary<int32, string> columns, dictionary pages, zstd", text,
			arrowWrite{types: allOf(dictString), dictionary: true, codec: compress.Codecs.Zstd}),
		// Written by arrow-go v18.8.0 (this module's), whose statistics
		// of a dictionary column leave "" out: to_account's min_value is
		// "peer0" though the group rows hold "" there. Later versions put ""
		// in; files from earlier writers stay in the wild.
		pq("arrow_dictionary_empty_ids", "dictionary<int32, string> columns with empty (not null) ids that their statistics leave out", sampleRows(40, false, false),
			arrowWrite{types: allOf(dictString), dictionary: true}),
		pq("arrow_small_ints", "uint8 type, int16 opt_type, list<int8> marks", typed,
			arrowWrite{types: typedAs(str, arrow.PrimitiveTypes.Uint8, arrow.ListOf(arrow.PrimitiveTypes.Int8), arrow.PrimitiveTypes.Int16), codec: compress.Codecs.Snappy}),
		pq("arrow_large_list", "int64 types, large_list<int64> marks, large_string ids", withNullElements(typed),
			arrowWrite{types: typedAs(arrow.BinaryTypes.LargeString, i64, arrow.LargeListOf(i64), i64), codec: compress.Codecs.Snappy}),
		pq("arrow_unsigned", "uint16/uint64 types, list<uint32> marks", typed,
			arrowWrite{types: typedAs(str, arrow.PrimitiveTypes.Uint16, arrow.ListOf(arrow.PrimitiveTypes.Uint32), arrow.PrimitiveTypes.Uint64)}),
		pq("arrow_brotli", "int32 types, list<int32> marks, brotli", withNullElements(typed),
			arrowWrite{types: typedAs(str, i32, arrow.ListOf(i32), i32), codec: compress.Codecs.Brotli}),
		pq("arrow_lz4_raw", "int32 types, list<int32> marks, lz4 (LZ4_RAW)", typed,
			arrowWrite{types: typedAs(str, i32, arrow.ListOf(i32), i32), codec: compress.Codecs.Lz4Raw}),
		pq("arrow_page_v2", "data page v2, dictionary pages, zstd", typed,
			arrowWrite{types: typedAs(str, i32, arrow.ListOf(i32), i64), codec: compress.Codecs.Zstd, pageV2: true, dictionary: true}),
		pq("arrow_many_row_groups", "2000 rows in row groups of 97 rows, snappy", sampleRows(2000, true, true),
			arrowWrite{types: typedAs(str, i32, arrow.ListOf(i32), i32), codec: compress.Codecs.Snappy, rowGroupLen: 97}),
		pq("arrow_fixed_size_list", "fixed_size_list<int32, 2> marks", fixedPairs(typed),
			arrowWrite{types: typedAs(str, i32, arrow.FixedSizeListOf(2, i32), i32)}),
		pq("arrow_no_rows", "a schema and no rows", nil,
			arrowWrite{types: typedAs(str, i32, arrow.ListOf(i32), i32)}),
		{
			name: "arrow_null_column",
			doc:  "to_group_id of arrow type null (pandas all-None column), string text marks",
			rows: nullGroups(text),
			write: func(path string, rows []row) error {
				ts := allOf(str)
				ts[fGroup] = arrow.Null
				return writeArrow(path, rows, arrowWrite{types: ts})
			},
		},
		{
			name:    "arrow_bad_set_mark_double",
			doc:     "set_mark as list<double>: refused when the file is opened",
			wantErr: "column set_mark",
			write: func(path string, _ []row) error {
				return writeColumns(path, []arrow.Field{
					{Name: "from_account", Type: str, Nullable: true},
					{Name: "set_mark", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
				}, [][]any{{"alice"}, {[]any{1.0}}}, arrowWrite{})
			},
		},
		{
			name: "legacy_two_level_lists",
			doc: "low-level writer: set_mark `optional group (LIST) { repeated int32 element }` (2-level), " +
				"clear_mark `optional group (LIST) { repeated group bag { optional int32 array_element } }` (Hive/Spark legacy)",
			rows: legacyRows(withNullElements(sampleRows(150, true, true))),
			write: func(path string, rows []row) error {
				return writeLegacy(path, rows, false)
			},
		},
		{
			name: "legacy_avro_array",
			doc:  "low-level writer: marks `required group (LIST) { repeated int32 array }` (parquet-avro 2-level)",
			rows: legacyRows(noNullLists(sampleRows(150, true, true))),
			write: func(path string, rows []row) error {
				return writeLegacy(path, rows, true)
			},
		},
	}
	return fs
}

// withNullElements puts a null element into some clear_mark lists (only
// there: the 2-level set_mark of the legacy fixture cannot hold one).
func withNullElements(rows []row) []row {
	out := append([]row(nil), rows...)
	for i := range out {
		if l, ok := out[i][fClear].([]any); ok && i%10 == 2 {
			out[i][fClear] = append(append([]any{}, l...), nil)
		}
	}
	return out
}

// legacyRows keeps only the columns the legacy-layout files have.
func legacyRows(rows []row) []row {
	for i := range rows {
		rows[i][fType], rows[i][fTo], rows[i][fGroup], rows[i][fOpt] = nil, nil, nil, nil
	}
	return rows
}

// fixedPairs makes every list two elements long (pqarrow cannot write a
// null fixed-size list).
func fixedPairs(rows []row) []row {
	out := append([]row(nil), rows...)
	for i := range out {
		out[i][fSet] = []any{int64(i % 64), int64((i + 1) % 64)}
		out[i][fClear] = []any{int64((i + 2) % 64), nil}
	}
	return out
}

func nullGroups(rows []row) []row {
	out := append([]row(nil), rows...)
	for i := range out {
		out[i][fGroup] = nil
	}
	return out
}

// writeArrow writes rows with pqarrow using the column types of w.
func writeArrow(path string, rows []row, w arrowWrite) error {
	fields := make([]arrow.Field, numFields)
	cols := make([][]any, numFields)
	for f := range numFields {
		fields[f] = arrow.Field{Name: columnNames[f], Type: w.types[f], Nullable: true}
		cols[f] = make([]any, len(rows))
		for i, r := range rows {
			cols[f][i] = r[f]
		}
	}
	return writeColumns(path, fields, cols, w)
}

func writeColumns(path string, fields []arrow.Field, cols [][]any, w arrowWrite) error {
	mem := memory.DefaultAllocator
	arrs := make([]arrow.Array, len(fields))
	for i, fd := range fields {
		b := array.NewBuilder(mem, fd.Type)
		for _, v := range cols[i] {
			if err := appendValue(b, v); err != nil {
				return fmt.Errorf("column %s: %w", fd.Name, err)
			}
		}
		arrs[i] = b.NewArray()
		b.Release()
		defer arrs[i].Release()
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, arrs, -1)
	defer rec.Release()

	codec := w.codec
	if codec == 0 {
		codec = compress.Codecs.Uncompressed
	}
	opts := []parquet.WriterProperty{
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(w.dictionary),
		parquet.WithCreatedBy("markimport parquetgen (arrow-go pqarrow)"),
		parquet.WithDataPageSize(4 * 1024),
	}
	if w.rowGroupLen > 0 {
		opts = append(opts, parquet.WithMaxRowGroupLength(w.rowGroupLen))
	}
	if w.pageV2 {
		opts = append(opts, parquet.WithDataPageVersion(parquet.DataPageV2))
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
	return fw.Close()
}

func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(asString(v))
	case *array.LargeStringBuilder:
		b.Append(asString(v))
	case *array.BinaryBuilder:
		b.Append([]byte(asString(v)))
	case *array.BinaryDictionaryBuilder:
		return b.AppendString(asString(v))
	case *array.Int8Builder:
		b.Append(int8(v.(int64)))
	case *array.Int16Builder:
		b.Append(int16(v.(int64)))
	case *array.Int32Builder:
		b.Append(int32(v.(int64)))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Uint8Builder:
		b.Append(uint8(v.(int64)))
	case *array.Uint16Builder:
		b.Append(uint16(v.(int64)))
	case *array.Uint32Builder:
		b.Append(uint32(v.(int64)))
	case *array.Uint64Builder:
		b.Append(uint64(v.(int64)))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.FixedSizeListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			if err := appendValue(b.ValueBuilder(), e); err != nil {
				return err
			}
		}
	case array.VarLenListLikeBuilder:
		l := v.([]any)
		b.AppendWithSize(true, len(l))
		for _, e := range l {
			if err := appendValue(b.ValueBuilder(), e); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("no builder for %T", b)
	}
	return nil
}

func asString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v.(string)
}

// writeLegacy writes from_account, set_mark, clear_mark and custom_mark
// with arrow's low-level column writer and a hand-made schema in one of
// the legacy list layouts.
func writeLegacy(path string, rows []row, avro bool) error {
	opt, req, rep := parquet.Repetitions.Optional, parquet.Repetitions.Required, parquet.Repetitions.Repeated
	must := func(n schema.Node, err error) schema.Node {
		if err != nil {
			panic(err)
		}
		return n
	}
	utf8 := func(name string) schema.Node {
		return must(schema.NewPrimitiveNodeLogical(name, opt, schema.StringLogicalType{}, parquet.Types.ByteArray, -1, -1))
	}
	var set, clear schema.Node
	var setLevels, clearLevels listLevels
	if avro {
		// required group set_mark (LIST) { repeated int32 array; }
		set = must(schema.NewGroupNodeConverted("set_mark", req, schema.FieldList{schema.NewInt32Node("array", rep, -1)}, schema.ConvertedTypes.List, -1))
		clear = must(schema.NewGroupNodeConverted("clear_mark", req, schema.FieldList{schema.NewInt32Node("array", rep, -1)}, schema.ConvertedTypes.List, -1))
		setLevels = listLevels{empty: 0, value: 1}
		clearLevels = setLevels
	} else {
		// optional group set_mark (LIST) { repeated int32 element; }
		set = must(schema.NewGroupNodeConverted("set_mark", opt, schema.FieldList{schema.NewInt32Node("element", rep, -1)}, schema.ConvertedTypes.List, -1))
		setLevels = listLevels{nullable: true, empty: 1, value: 2}
		// optional group clear_mark (LIST) { repeated group bag { optional int32 array_element; } }
		bag := must(schema.NewGroupNode("bag", rep, schema.FieldList{schema.NewInt32Node("array_element", opt, -1)}, -1))
		clear = must(schema.NewGroupNodeConverted("clear_mark", opt, schema.FieldList{bag}, schema.ConvertedTypes.List, -1))
		clearLevels = listLevels{nullable: true, empty: 1, nullElem: 2, value: 3}
	}
	root, err := schema.NewGroupNode("schema", req, schema.FieldList{utf8("from_account"), set, clear, utf8("custom_mark")}, -1)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithCreatedBy("markimport parquetgen (arrow-go low-level writer)"), parquet.WithDictionaryDefault(false))
	w, err := file.NewParquetWriterWithError(f, root, file.WithWriterProps(props))
	if err != nil {
		f.Close()
		return err
	}
	// Two row groups, to check levels restart cleanly.
	half := len(rows) / 2
	for _, part := range [][]row{rows[:half], rows[half:]} {
		rg := w.AppendRowGroup()
		if err := writeStrings(rg, part, fFrom); err != nil {
			return err
		}
		if err := writeList(rg, part, fSet, setLevels); err != nil {
			return err
		}
		if err := writeList(rg, part, fClear, clearLevels); err != nil {
			return err
		}
		if err := writeStrings(rg, part, fCustom); err != nil {
			return err
		}
		if err := rg.Close(); err != nil {
			return err
		}
	}
	return w.Close()
}

func writeStrings(rg file.SerialRowGroupWriter, rows []row, f int) error {
	cw, err := rg.NextColumn()
	if err != nil {
		return err
	}
	var vals []parquet.ByteArray
	defs := make([]int16, len(rows))
	for i, r := range rows {
		if r[f] != nil {
			defs[i] = 1
			vals = append(vals, parquet.ByteArray(asString(r[f])))
		}
	}
	_, err = cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(vals, defs, nil)
	return err
}

// listLevels are the definition levels of a list column's states.
type listLevels struct {
	nullable               bool
	empty, nullElem, value int16
}

func writeList(rg file.SerialRowGroupWriter, rows []row, f int, lv listLevels) error {
	cw, err := rg.NextColumn()
	if err != nil {
		return err
	}
	var vals []int32
	var defs, reps []int16
	for _, r := range rows {
		l, ok := r[f].([]any)
		switch {
		case !ok:
			if !lv.nullable {
				return fmt.Errorf("%s: null list in a required layout", columnNames[f])
			}
			defs, reps = append(defs, 0), append(reps, 0)
		case len(l) == 0:
			defs, reps = append(defs, lv.empty), append(reps, 0)
		default:
			for k, e := range l {
				rl := int16(1)
				if k == 0 {
					rl = 0
				}
				reps = append(reps, rl)
				if e == nil {
					if lv.nullElem == 0 {
						return fmt.Errorf("%s: null element in a layout without them", columnNames[f])
					}
					defs = append(defs, lv.nullElem)
					continue
				}
				defs = append(defs, lv.value)
				vals = append(vals, int32(e.(int64)))
			}
		}
	}
	_, err = cw.(*file.Int32ColumnChunkWriter).WriteBatch(vals, defs, reps)
	return err
}
