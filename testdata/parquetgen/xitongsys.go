package main

import (
	"bytes"
	"os"

	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/writer"
)

// Fixtures written by github.com/xitongsys/parquet-go, a writer that shares
// no code with arrow: its own encoders, page layout and footer.

// xPlain has every column as a required UTF-8 string.
type xPlain struct {
	FromAccount string `parquet:"name=from_account, type=BYTE_ARRAY, convertedtype=UTF8"`
	Type        string `parquet:"name=type, type=BYTE_ARRAY, convertedtype=UTF8"`
	ToAccount   string `parquet:"name=to_account, type=BYTE_ARRAY, convertedtype=UTF8"`
	ToGroupID   string `parquet:"name=to_group_id, type=BYTE_ARRAY, convertedtype=UTF8"`
	SetMark     string `parquet:"name=set_mark, type=BYTE_ARRAY, convertedtype=UTF8"`
	ClearMark   string `parquet:"name=clear_mark, type=BYTE_ARRAY, convertedtype=UTF8"`
	CustomMark  string `parquet:"name=custom_mark, type=BYTE_ARRAY, convertedtype=UTF8"`
	OptType     string `parquet:"name=opt_type, type=BYTE_ARRAY, convertedtype=UTF8"`
}

// xOptional has optional strings (nulls), dictionary-encoded, with marks
// in the CSV text forms and differently spelled column names.
type xOptional struct {
	FromAccount *string `parquet:"name=From_Account, type=BYTE_ARRAY, convertedtype=UTF8, encoding=PLAIN_DICTIONARY"`
	Type        *string `parquet:"name=Type, type=BYTE_ARRAY, convertedtype=UTF8, encoding=PLAIN_DICTIONARY"`
	ToAccount   *string `parquet:"name=To_Account, type=BYTE_ARRAY, convertedtype=UTF8"`
	ToGroupID   *string `parquet:"name=ToGroupId, type=BYTE_ARRAY, convertedtype=UTF8"`
	SetMark     *string `parquet:"name=SetMark, type=BYTE_ARRAY, convertedtype=UTF8"`
	ClearMark   *string `parquet:"name=ClearMark, type=BYTE_ARRAY, convertedtype=UTF8"`
	CustomMark  *string `parquet:"name=CustomMark, type=BYTE_ARRAY, convertedtype=UTF8"`
	OptType     *string `parquet:"name=OptType, type=BYTE_ARRAY, convertedtype=UTF8, encoding=PLAIN_DICTIONARY"`
}

// xTyped has int32/int64 types and LIST<INT32> marks (the standard 3-level
// list layout), with nulls.
type xTyped struct {
	FromAccount *string `parquet:"name=from_account, type=BYTE_ARRAY, convertedtype=UTF8"`
	Type        *int32  `parquet:"name=type, type=INT32"`
	ToAccount   *string `parquet:"name=to_account, type=BYTE_ARRAY, convertedtype=UTF8"`
	ToGroupID   *string `parquet:"name=to_group_id, type=BYTE_ARRAY, convertedtype=UTF8"`
	SetMark     []int32 `parquet:"name=set_mark, type=LIST, valuetype=INT32"`
	ClearMark   []int32 `parquet:"name=clear_mark, type=LIST, valuetype=INT32"`
	CustomMark  *string `parquet:"name=custom_mark, type=BYTE_ARRAY, convertedtype=UTF8"`
	OptType     *int64  `parquet:"name=opt_type, type=INT64"`
}

// xSmallInts has INT_8/UINT_8 annotated types, delta encodings, and marks
// as bare repeated int32 fields (the oldest list layout: no LIST group).
type xSmallInts struct {
	FromAccount string  `parquet:"name=from_account, type=BYTE_ARRAY, convertedtype=UTF8, encoding=DELTA_LENGTH_BYTE_ARRAY"`
	Type        int32   `parquet:"name=type, type=INT32, convertedtype=INT_8, encoding=DELTA_BINARY_PACKED"`
	ToAccount   string  `parquet:"name=to_account, type=BYTE_ARRAY, convertedtype=UTF8, encoding=DELTA_BYTE_ARRAY"`
	ToGroupID   string  `parquet:"name=to_group_id, type=BYTE_ARRAY, convertedtype=UTF8"`
	SetMark     []int32 `parquet:"name=set_mark, type=INT32, repetitiontype=REPEATED"`
	ClearMark   []int32 `parquet:"name=clear_mark, type=INT32, convertedtype=UINT_8, repetitiontype=REPEATED"`
	CustomMark  string  `parquet:"name=custom_mark, type=BYTE_ARRAY, convertedtype=UTF8"`
	OptType     int32   `parquet:"name=opt_type, type=INT32, convertedtype=UINT_8"`
}

// xStringList has set_mark as a list of strings, which markimport refuses.
type xStringList struct {
	FromAccount string   `parquet:"name=from_account, type=BYTE_ARRAY, convertedtype=UTF8"`
	SetMark     []string `parquet:"name=set_mark, type=LIST, valuetype=BYTE_ARRAY, valueconvertedtype=UTF8"`
}

// xDoubleAccount has from_account as a double, which markimport refuses.
type xDoubleAccount struct {
	FromAccount float64 `parquet:"name=from_account, type=DOUBLE"`
	ToAccount   string  `parquet:"name=to_account, type=BYTE_ARRAY, convertedtype=UTF8"`
}

func strPtr(v any) *string {
	if v == nil {
		return nil
	}
	s := v.(string)
	return &s
}

func text(v any) string {
	if v == nil {
		return ""
	}
	return v.(string)
}

func int32Ptr(v any) *int32 {
	if v == nil {
		return nil
	}
	n := int32(v.(int64))
	return &n
}

func int64Ptr(v any) *int64 {
	if v == nil {
		return nil
	}
	n := v.(int64)
	return &n
}

func int32s(v any) []int32 {
	l, _ := v.([]any)
	out := make([]int32, len(l))
	for i, e := range l {
		out[i] = int32(e.(int64))
	}
	return out
}

// xitongsysFile writes objs with the xitongsys writer.
func xitongsysFile(path string, schema any, objs []any, codec parquet.CompressionCodec, rowGroupBytes int64) error {
	var buf bytes.Buffer
	pw, err := writer.NewParquetWriterFromWriter(&buf, schema, 1)
	if err != nil {
		return err
	}
	pw.CompressionType = codec
	pw.PageSize = 4 * 1024
	if rowGroupBytes > 0 {
		pw.RowGroupSize = rowGroupBytes
	}
	for _, o := range objs {
		if err := pw.Write(o); err != nil {
			return err
		}
	}
	if err := pw.WriteStop(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// xitongsysFixtures lists the fixtures written by xitongsys/parquet-go.
func xitongsysFixtures() []fixture {
	var fs []fixture

	plain := sampleRows(60, false, false)
	for _, c := range []struct {
		name  string
		codec parquet.CompressionCodec
	}{
		{"uncompressed", parquet.CompressionCodec_UNCOMPRESSED},
		{"snappy", parquet.CompressionCodec_SNAPPY},
		{"gzip", parquet.CompressionCodec_GZIP},
		{"zstd", parquet.CompressionCodec_ZSTD},
		{"lz4", parquet.CompressionCodec_LZ4},
	} {
		fs = append(fs, fixture{
			name: "xitongsys_plain_strings_" + c.name,
			doc:  "required UTF-8 strings, marks in the CSV text forms, " + c.name,
			rows: plain,
			write: func(path string, rows []row) error {
				objs := make([]any, len(rows))
				for i, r := range rows {
					objs[i] = xPlain{text(r[fFrom]), text(r[fType]), text(r[fTo]), text(r[fGroup]), text(r[fSet]), text(r[fClear]), text(r[fCustom]), text(r[fOpt])}
				}
				return xitongsysFile(path, new(xPlain), objs, c.codec, 0)
			},
		})
	}

	fs = append(fs, fixture{
		name: "xitongsys_optional_strings",
		doc:  "optional dictionary-encoded strings with nulls, column names spelled From_Account, SetMark, ...",
		rows: sampleRows(80, true, false),
		write: func(path string, rows []row) error {
			objs := make([]any, len(rows))
			for i, r := range rows {
				objs[i] = xOptional{strPtr(r[fFrom]), strPtr(r[fType]), strPtr(r[fTo]), strPtr(r[fGroup]), strPtr(r[fSet]), strPtr(r[fClear]), strPtr(r[fCustom]), strPtr(r[fOpt])}
			}
			return xitongsysFile(path, new(xOptional), objs, parquet.CompressionCodec_SNAPPY, 0)
		},
	})

	// xitongsys writes a nil slice as an empty list, so the typed rows
	// carry no null lists.
	typed := noNullLists(sampleRows(300, true, true))
	fs = append(fs, fixture{
		name: "xitongsys_int_types_lists",
		doc:  "int32 type, int64 opt_type, LIST<INT32> marks, optional strings with nulls, zstd",
		rows: typed,
		write: func(path string, rows []row) error {
			return xitongsysFile(path, new(xTyped), xTypedObjs(rows), parquet.CompressionCodec_ZSTD, 0)
		},
	})
	fs = append(fs, fixture{
		name: "xitongsys_row_groups",
		doc:  "the int32/LIST<INT32> layout in many small row groups, gzip",
		rows: noNullLists(sampleRows(3000, true, true)),
		write: func(path string, rows []row) error {
			return xitongsysFile(path, new(xTyped), xTypedObjs(rows), parquet.CompressionCodec_GZIP, 8*1024)
		},
	})

	small := sampleRows(120, false, true)
	for i := range small {
		for _, f := range []int{fType, fOpt} {
			if small[i][f] == "" {
				small[i][f] = int64(0)
			}
		}
	}
	fs = append(fs, fixture{
		name: "xitongsys_small_ints_repeated",
		doc:  "INT_8 type and UINT_8 opt_type, marks as bare repeated INT32 fields (1-level legacy lists), delta encodings",
		rows: small,
		write: func(path string, rows []row) error {
			objs := make([]any, len(rows))
			for i, r := range rows {
				objs[i] = xSmallInts{text(r[fFrom]), int32(r[fType].(int64)), text(r[fTo]), text(r[fGroup]), int32s(r[fSet]), int32s(r[fClear]), text(r[fCustom]), int32(r[fOpt].(int64))}
			}
			return xitongsysFile(path, new(xSmallInts), objs, parquet.CompressionCodec_SNAPPY, 0)
		},
	})

	fs = append(fs, fixture{
		name:    "xitongsys_bad_list_of_strings",
		doc:     "set_mark as LIST<UTF8>: refused when the file is opened",
		wantErr: "column set_mark",
		write: func(path string, _ []row) error {
			objs := []any{xStringList{"alice", []string{"1", "2"}}}
			return xitongsysFile(path, new(xStringList), objs, parquet.CompressionCodec_SNAPPY, 0)
		},
	})
	fs = append(fs, fixture{
		name:    "xitongsys_bad_double_account",
		doc:     "from_account as DOUBLE: refused when the file is opened",
		wantErr: "column from_account",
		write: func(path string, _ []row) error {
			objs := []any{xDoubleAccount{1.5, "bob"}}
			return xitongsysFile(path, new(xDoubleAccount), objs, parquet.CompressionCodec_SNAPPY, 0)
		},
	})
	return fs
}

func xTypedObjs(rows []row) []any {
	objs := make([]any, len(rows))
	for i, r := range rows {
		objs[i] = xTyped{strPtr(r[fFrom]), int32Ptr(r[fType]), strPtr(r[fTo]), strPtr(r[fGroup]), int32s(r[fSet]), int32s(r[fClear]), strPtr(r[fCustom]), int64Ptr(r[fOpt])}
	}
	return objs
}

// noNullLists replaces null lists by empty ones.
func noNullLists(rows []row) []row {
	for i := range rows {
		for _, f := range []int{fSet, fClear} {
			if rows[i][f] == nil {
				rows[i][f] = []any{}
			}
		}
	}
	return rows
}
