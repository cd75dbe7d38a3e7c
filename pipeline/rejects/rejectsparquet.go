package rejects

import (
	"bufio"
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/pipeline/durable"
	"markimport/readers"
)

// A Parquet rejects file has the input's own schema (every column, nested
// or not, of the arrow type pqarrow reads it as) plus status (string),
// code (int32) and message (string), and holds the collected rows with
// their values unchanged. It is made from the input, read again a batch at
// a time: the selected rows of each batch are sliced out, the three
// columns appended, and the result written; row groups without a
// collected row are not read at all. An input that already ends with those
// three (a rejects file run again) gives them up for the new ones. An
// input of several files must have one schema (files with another are an
// input error naming both); the columns its folder names give (Hive's
// key=value) and its files lack are added as strings before status.

// writeParquet writes the rejects file of a Parquet input; rows are
// sorted.
func writeParquet(ctx context.Context, dst durable.Destination, path string, in *readers.Input, rows *Rows, cfg parquetConfig) (n int64, err error) {
	// Every file's schema first: a file of another schema is an input
	// error before anything is written.
	fields, meta, pathKeys, err := parquetShape(ctx, in, cfg)
	if err != nil {
		return 0, err
	}
	outFields := slices.Clone(fields)
	for _, k := range pathKeys {
		outFields = append(outFields, arrow.Field{Name: k, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	outsc := arrow.NewSchema(append(outFields, addedFields...), &meta)

	out, err := dst.Create(path)
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	defer func() {
		if err != nil {
			out.Abort()
		}
	}()
	// The writer gets no Close method, so that it leaves the output open
	// for Commit.
	bw := bufio.NewWriterSize(out, 256<<10)
	wprops := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(cfg.rowGroupRows),
		parquet.WithAllocator(cfg.mem),
	)
	// The stored arrow schema makes dictionary, large and other arrow
	// types read back as they were read from the input.
	fw, err := pqarrow.NewFileWriter(outsc, bw, wprops, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(cfg.mem)))
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			fw.Close()
		}
	}()
	w := &parquetWriter{fw: fw, schema: outsc, keep: len(fields), cfg: cfg}
	for k, sub := range rows.split(in) {
		if sub.Len() == 0 {
			continue
		}
		if err := w.file(ctx, &in.Parts[k], sub, pathValues(in.Parts[k].Hive, pathKeys)); err != nil {
			return w.n, err
		}
	}
	n = w.n
	closed = true
	if err := fw.Close(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := out.Commit(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	return n, nil
}

// parquetWriter writes the rejects of the input's files, one file after
// another, into one Parquet file.
type parquetWriter struct {
	fw     *pqarrow.FileWriter
	schema *arrow.Schema
	keep   int // the input's columns
	cfg    parquetConfig
	split  bool // start a new row group before the next write
	n      int64
}

// file writes the collected rows (numbered within the file) of the input
// file part, with vals for the columns of its folder names (nil: null).
func (w *parquetWriter) file(ctx context.Context, part *readers.Part, rows *Rows, vals []*string) (err error) {
	input := part.Path
	p, err := openInputFile(ctx, part, w.cfg)
	if err != nil {
		return err
	}
	var rr pqarrow.RecordReader
	defer func() {
		if rr != nil {
			rr.Release()
		}
		p.close()
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rejects: %s: corrupt Parquet file: %v", input, r)
		}
	}()
	sel, groups := selectRows(rows, p.pf)
	if len(groups) == 0 {
		return nil
	}
	rr, err = p.fr.GetRecordReader(ctx, nil, groups)
	if err != nil {
		return fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
	}
	if got := rr.Schema().Fields(); !slices.EqualFunc(got, p.schema.Fields(), func(a, b arrow.Field) bool { return arrow.TypeEqual(a.Type, b.Type) }) {
		return fmt.Errorf("rejects: %s: the columns read (%s) do not match the file's schema (%s)", input, rr.Schema(), p.schema)
	}
	var (
		start int64 // position of the batch in the row groups read
		next  int   // next row of sel
		cols  = make([]arrow.Array, len(w.schema.Fields()))
	)
	for next < len(sel) {
		if !rr.Next() {
			if err := rr.Err(); err != nil {
				return fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
			}
			return fmt.Errorf("rejects: %s: corrupt Parquet file: fewer rows than its metadata declares", input)
		}
		rec := rr.RecordBatch()
		end := start + rec.NumRows()
		j := next
		for j < len(sel) && sel[j].row < end {
			j++
		}
		if j > next {
			if err := w.write(input, rec, sel[next:j], start, rows, cols, vals); err != nil {
				return err
			}
		}
		next, start = j, end
	}
	return nil
}

// write writes the rows sel of rec, a batch that starts at position
// start, starting a new row group first when the last one is full.
func (w *parquetWriter) write(input string, rec arrow.RecordBatch, sel []rejectRow, start int64, rows *Rows, cols []arrow.Array, vals []*string) error {
	if w.split {
		if err := w.fw.NewBufferedRowGroupChecked(); err != nil {
			return fmt.Errorf("rejects: %w", err)
		}
		w.split = false
	}
	batch, err := batchOf(w.cfg.mem, w.schema, rec, w.keep, sel, start, rows, cols, vals)
	if err != nil {
		return fmt.Errorf("rejects: %s: %w", input, err)
	}
	err = w.fw.WriteBuffered(batch)
	batch.Release()
	if err != nil {
		return fmt.Errorf("rejects: %w", err)
	}
	w.n += int64(len(sel))
	w.split = w.fw.RowGroupTotalBytesWritten() >= w.cfg.rowGroupBytes
	return nil
}
