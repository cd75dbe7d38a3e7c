package backup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// schema is the Parquet backup's: the columns of Header, all strings, as
// the CSV backup holds them (set_mark "1|2"), which markimport reads as it
// reads the CSV.
var schema = func() *arrow.Schema {
	fields := make([]arrow.Field, len(Header))
	for i, h := range Header {
		fields[i] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String}
	}
	return arrow.NewSchema(fields, nil)
}()

// writeParquet converts the CSV journal into the Parquet backup at path,
// through a temporary file renamed into place. The journal is read byte
// for byte (exactRecord), not as an input: see Faithful.
func writeParquet(journal, path string) (err error) {
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(1<<20))
	fw, err := pqarrow.NewFileWriter(schema, out, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		if rec.NumRows() == 0 {
			return nil
		}
		return fw.Write(rec)
	}
	in, err := os.Open(journal)
	if err != nil {
		return err
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 1<<20)
	var rec []string
	for n := 0; ; n++ {
		if rec, err = exactRecord(br, rec); err != nil {
			break
		}
		if len(rec) != len(Header) {
			err = fmt.Errorf("record %d has %d fields, want %d", n+1, len(rec), len(Header))
			break
		}
		if n == 0 {
			continue // the header
		}
		for i, v := range rec {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
		if n%65536 == 0 {
			if err = flush(); err != nil {
				break
			}
		}
	}
	if err == io.EOF {
		err = nil
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		fw.Close()
		return err
	}
	if err := fw.Close(); err != nil { // writes the footer, closes out
		return err
	}
	if err := out.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(path)
}
