package main

import (
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetRowGroupRows is the rows of each row group: several per million
// rows, so that readers see a multi-row-group file as real writers produce.
const parquetRowGroupRows = 128 * 1024

// parquetBatchRows is the rows appended to the writer at a time; only one
// batch of Arrow arrays (plus the encoded row group being buffered) is held
// in memory besides the rows themselves.
const parquetBatchRows = 16 * 1024

// parquetSchema is the eight columns of the CSV, all nullable strings.
func parquetSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(header))
	for i, name := range header {
		fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// writeParquet writes rows as a snappy-compressed Parquet file with the same
// columns and text as the CSV: every column is a nullable string and an empty
// CSV field is a null (which markimport reads as ""), so markimport reads
// identical records from either file. Rows are appended in batches into row
// groups of parquetRowGroupRows rows.
func writeParquet(path string, rows []inputRow) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	// The Parquet writer closes f when it is closed; until it exists, and on
	// any failure, f is closed here and the partial file removed.
	closed := false
	defer func() {
		if !closed {
			f.Close()
		}
		if err != nil {
			os.Remove(path)
		}
	}()

	schema := parquetSchema()
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetRowGroupRows),
		parquet.WithDictionaryDefault(true),
		parquet.WithCreatedBy("markgen"),
	)
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := fw.Close(); err == nil {
			err = cerr
		}
		closed = true
	}()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	cols := make([]*array.StringBuilder, len(header))
	for i := range cols {
		cols[i] = b.Field(i).(*array.StringBuilder)
	}

	// One row group at a time: WriteBuffered appends to the open row group
	// up to its maximum length; a new one starts at each boundary.
	for start := 0; start < len(rows); start += parquetBatchRows {
		end := min(start+parquetBatchRows, len(rows))
		for _, r := range rows[start:end] {
			for i, v := range r.fields() {
				if v == "" {
					cols[i].AppendNull()
				} else {
					cols[i].Append(v)
				}
			}
		}
		rec := b.NewRecordBatch()
		werr := fw.WriteBuffered(rec)
		rec.Release()
		if werr != nil {
			return werr
		}
		if end%parquetRowGroupRows == 0 && end < len(rows) {
			if err := fw.NewBufferedRowGroupChecked(); err != nil {
				return err
			}
		}
	}
	return nil
}
