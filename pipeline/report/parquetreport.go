package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"markimport/pipeline/durable"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// A Parquet file is unreadable until its footer is written, so a Parquet
// report cannot be "written as results arrive and readable after a crash".
// Instead the run writes its CSV journal beside it (the same lines a CSV
// report would hold, which --resume reads), and the Parquet file is made
// from the journal when the run ends.

// reportSchema is the report's Parquet schema: the report's columns, with row
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

// writeParquetReport converts a CSV report (a journal) into a Parquet file
// with the report's schema, in batches, through a temporary file renamed
// into place, and returns what proves the file.
func writeParquetReport(fsys durable.FS, journal, path string) (check fileCheck, err error) {
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
	multi := len(header) == len(multiReportHeader)
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
	cols := reportColumnsOf(w, multi)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return check, fmt.Errorf("report journal %s: %w", journal, err)
		}
		if err := cols.append(rec); err != nil {
			return check, fmt.Errorf("report journal %s: %w", journal, err)
		}
		if err := w.Row(); err != nil {
			return check, err
		}
	}
	if err := w.Commit(); err != nil {
		return check, err
	}
	return w.written(), nil
}

// reportColumns are the builders of a Parquet report's columns.
type reportColumns struct {
	file                         *array.StringBuilder // nil unless the input has several files
	row                          *array.Int64Builder
	from, typ, peer, status, msg *array.StringBuilder
	code, att                    *array.Int32Builder
}

// reportColumnsOf takes the builders of w, a writer of reportSchemaOf(multi).
func reportColumnsOf(w *ParquetWriter, multi bool) reportColumns {
	fields := w.B.Fields()
	var c reportColumns
	if multi {
		c.file = fields[0].(*array.StringBuilder)
		fields = fields[1:]
	}
	c.row = fields[0].(*array.Int64Builder)
	c.from = fields[1].(*array.StringBuilder)
	c.typ = fields[2].(*array.StringBuilder)
	c.peer = fields[3].(*array.StringBuilder)
	c.status = fields[4].(*array.StringBuilder)
	c.code = fields[5].(*array.Int32Builder)
	c.msg = fields[6].(*array.StringBuilder)
	c.att = fields[7].(*array.Int32Builder)
	return c
}

// append appends a journal line, its fields as the journal's header has
// them.
func (c reportColumns) append(rec []string) error {
	if c.file != nil {
		c.file.Append(rec[0])
		rec = rec[1:]
	}
	r, err1 := strconv.ParseInt(rec[0], 10, 64)
	code, err2 := strconv.ParseInt(rec[5], 10, 32)
	a, err3 := strconv.ParseInt(rec[7], 10, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return fmt.Errorf("bad line for row %q", rec[0])
	}
	c.row.Append(r)
	c.from.Append(rec[1])
	c.typ.Append(rec[2])
	c.peer.Append(rec[3])
	c.status.Append(rec[4])
	c.code.Append(int32(code))
	c.msg.Append(rec[6])
	c.att.Append(int32(a))
	return nil
}

// readParquetReport calls fn with each line of a finished Parquet report,
// as the CSV journal would hold it, once its size and CRC-32C are those
// its record (meta) gives; multi says the report has the file column.
func readParquetReport(path, meta string, check *fileCheck, crc uint32, multi bool, fn func(line int64, rec []string) error) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := checkParquetBytes(f, path, meta, check, crc); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s is not a readable Parquet report: %v", path, p)
		}
	}()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("%s is not a readable Parquet report: %w", path, err)
	}
	defer pf.Close()
	if n := pf.NumRows(); n != check.Rows {
		return &damagedError{Path: path, Proof: meta, Detail: fmt.Sprintf("it holds %d rows, and %d were written", n, check.Rows)}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	want := reportSchemaOf(multi)
	sc, err := fr.Schema()
	if err != nil || !sameReportColumns(sc, want) {
		return fmt.Errorf("%s is not a markimport report of this input (its schema is %v)", path, sc)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	if err := eachReportLine(rr, len(want.Fields()), multi, fn); err != nil {
		return err
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// checkParquetBytes reads f whole and checks its size and CRC-32C against
// what was written (check, crc), recorded in meta.
func checkParquetBytes(f *os.File, path, meta string, check *fileCheck, crc uint32) error {
	sum := &tally{w: io.Discard}
	if _, err := io.Copy(sum, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return err
	}
	if sum.Size != check.Size || sum.CRC != crc {
		return &damagedError{Path: path, Proof: meta, Detail: fmt.Sprintf("it holds %d bytes of CRC-32C %s, and %d bytes of CRC-32C %s were written", sum.Size, crcString(sum.CRC), check.Size, check.CRC32C)}
	}
	return nil
}

// eachReportLine calls fn with each row of rr as the fields of a journal
// line (width of them), numbered from 1, until fn returns an error.
func eachReportLine(rr pqarrow.RecordReader, width int, multi bool, fn func(line int64, rec []string) error) error {
	rec := make([]string, width)
	var n int64
	for rr.Next() {
		b := rr.RecordBatch()
		cols := b.Columns()
		out := rec
		if multi {
			cols = cols[1:]
			out = rec[1:]
		}
		row, code, att := cols[0].(*array.Int64), cols[5].(*array.Int32), cols[7].(*array.Int32)
		str := func(c, i int) string { return cols[c].(*array.String).Value(i) }
		for i := range int(b.NumRows()) {
			n++
			if multi {
				rec[0] = b.Column(0).(*array.String).Value(i)
			}
			out[0] = strconv.FormatInt(row.Value(i), 10)
			out[1], out[2], out[3], out[4] = str(1, i), str(2, i), str(3, i), str(4, i)
			out[5] = strconv.Itoa(int(code.Value(i)))
			out[6] = str(6, i)
			out[7] = strconv.Itoa(int(att.Value(i)))
			if err := fn(n, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameReportColumns reports whether a schema read back from a Parquet file has
// the columns of want, by name and type. The reader adds metadata of its
// own to each field (PARQUET:field_id), which arrow's Schema.Equal counts.
func sameReportColumns(sc, want *arrow.Schema) bool {
	if sc == nil || sc.NumFields() != want.NumFields() {
		return false
	}
	for i, f := range want.Fields() {
		g := sc.Field(i)
		if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return false
		}
	}
	return true
}
