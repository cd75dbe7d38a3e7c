package report

import (
	"markimport/pipeline/durable"

	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ParquetWriter writes rows of one schema to a Parquet file as one
// durable output (written beside its final path and renamed into place on
// Commit: a crash leaves the old file or none, never a torn one), in
// batches. Append a row's values to the builders of B, then call Row.
type ParquetWriter struct {
	B    *array.RecordBuilder
	out  durable.Output
	sum  *tally // the bytes written to out
	fw   *pqarrow.FileWriter
	n    int
	done bool // committed or aborted
}

// CreateParquet starts the Parquet file that will be path, written
// through fsys (nil: the disk).
func CreateParquet(fsys durable.FS, path string, schema *arrow.Schema) (*ParquetWriter, error) {
	out, err := durable.Disk(fsys).Create(path)
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
