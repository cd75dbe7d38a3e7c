package report

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/pipeline/durable"
)

// A Parquet file is unreadable until its footer is written, so a Parquet
// report cannot be "written as results arrive and readable after a crash".
// Instead the run writes its CSV journal beside it (the same lines a CSV
// report would hold, which --resume reads), and the Parquet file is made
// from the journal when the run ends.

// reportSchema is the report's Parquet schema: SPEC §5's columns, with row
// int64, code and attempts int32, and the rest strings.
var reportSchema = arrow.NewSchema([]arrow.Field{
	{Name: "row", Type: arrow.PrimitiveTypes.Int64},
	{Name: "from_account", Type: arrow.BinaryTypes.String},
	{Name: "type", Type: arrow.BinaryTypes.String},
	{Name: "peer", Type: arrow.BinaryTypes.String},
	{Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "code", Type: arrow.PrimitiveTypes.Int32},
	{Name: "message", Type: arrow.BinaryTypes.String},
	{Name: "attempts", Type: arrow.PrimitiveTypes.Int32},
}, nil)

// multiReportSchema is the schema of the report of an input of several
// files: the file's name (string) first.
var multiReportSchema = arrow.NewSchema(append([]arrow.Field{{Name: "file", Type: arrow.BinaryTypes.String}}, reportSchema.Fields()...), nil)

func reportSchemaOf(multi bool) *arrow.Schema {
	if multi {
		return multiReportSchema
	}
	return reportSchema
}

// ParquetWriter writes rows of one schema to a Parquet file as one
// durable output (written beside its final path and renamed into place on
// Commit: a crash leaves the old file or none, never a torn one), in
// batches. Append a row's values to the builders of B, then call Row.
type ParquetWriter struct {
	B    *array.RecordBuilder
	out  *durable.Atomic
	sum  *tally // the bytes written to out
	fw   *pqarrow.FileWriter
	n    int
	done bool // committed or aborted
}

// CreateParquet starts the Parquet file that will be path, written
// through fsys (nil: the disk).
func CreateParquet(fsys durable.FS, path string, schema *arrow.Schema) (*ParquetWriter, error) {
	out, err := durable.Create(fsys, path)
	if err != nil {
		return nil, err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(1<<20))
	// The file writer closes a sink that has a Close method when it writes
	// the footer; the output must stay open until Commit syncs it (a tally
	// has none).
	sum := &tally{w: out}
	fw, err := pqarrow.NewFileWriter(schema, sum, props, pqarrow.DefaultWriterProps())
	if err != nil {
		out.Abort()
		return nil, err
	}
	return &ParquetWriter{B: array.NewRecordBuilder(memory.DefaultAllocator, schema), out: out, sum: sum, fw: fw}, nil
}

// Row counts the row just appended to B; every 65,536 rows are written as
// one batch.
func (w *ParquetWriter) Row() error {
	if w.n++; w.n%65536 == 0 {
		return w.flush()
	}
	return nil
}

func (w *ParquetWriter) flush() error {
	rec := w.B.NewRecordBatch()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil
	}
	return w.fw.Write(rec)
}

// Commit writes the last batch and the footer and commits the output.
func (w *ParquetWriter) Commit() error {
	if w.done {
		return errors.New("parquet: committed twice")
	}
	w.done = true
	defer w.B.Release()
	err := w.flush()
	if cerr := w.fw.Close(); err == nil { // writes the footer
		err = cerr
	}
	if err != nil {
		w.out.Abort()
		return err
	}
	return w.out.Commit()
}

// written is what was written: the file's size and CRC-32C once
// committed, and the rows.
func (w *ParquetWriter) written() fileCheck {
	return fileCheck{Size: w.sum.Size, Rows: int64(w.n), CRC32C: crcString(w.sum.CRC)}
}

// Abort drops the file; the final path is untouched. After Commit it does
// nothing.
func (w *ParquetWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.B.Release()
	w.fw.Close()
	w.out.Abort()
}

// WriteParquet converts a CSV report (a journal) into a Parquet file
// with the report's schema, in batches, through a temporary file renamed
// into place, and returns what proves the file.
func WriteParquet(fsys durable.FS, journal, path string) (check fileCheck, err error) {
	in, err := os.Open(journal)
	if err != nil {
		return check, err
	}
	defer in.Close()
	cr := csv.NewReader(bufio.NewReaderSize(in, 1<<20))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return check, fmt.Errorf("report journal %s: %w", journal, err)
	}
	multi := len(header) == len(MultiHeader)
	cr.FieldsPerRecord = len(header)
	w, err := CreateParquet(fsys, path, reportSchemaOf(multi))
	if err != nil {
		return check, err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	fields := w.B.Fields()
	var file *array.StringBuilder
	if multi {
		file = fields[0].(*array.StringBuilder)
		fields = fields[1:]
	}
	row := fields[0].(*array.Int64Builder)
	from := fields[1].(*array.StringBuilder)
	typ := fields[2].(*array.StringBuilder)
	peer := fields[3].(*array.StringBuilder)
	status := fields[4].(*array.StringBuilder)
	code := fields[5].(*array.Int32Builder)
	msg := fields[6].(*array.StringBuilder)
	att := fields[7].(*array.Int32Builder)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return check, fmt.Errorf("report journal %s: %w", journal, err)
		}
		if multi {
			file.Append(rec[0])
			rec = rec[1:]
		}
		r, err1 := strconv.ParseInt(rec[0], 10, 64)
		c, err2 := strconv.ParseInt(rec[5], 10, 32)
		a, err3 := strconv.ParseInt(rec[7], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			return check, fmt.Errorf("report journal %s: bad line for row %q", journal, rec[0])
		}
		row.Append(r)
		from.Append(rec[1])
		typ.Append(rec[2])
		peer.Append(rec[3])
		status.Append(rec[4])
		code.Append(int32(c))
		msg.Append(rec[6])
		att.Append(int32(a))
		if err := w.Row(); err != nil {
			return check, err
		}
	}
	if err := w.Commit(); err != nil {
		return check, err
	}
	return w.written(), nil
}
