package backup

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"markimport/pipeline/report"
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
	in, err := os.Open(journal)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := report.CreateParquet(nil, path, schema)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	br := bufio.NewReaderSize(in, 1<<20)
	var rec []string
	for n := 0; ; n++ {
		if rec, err = exactRecord(br, rec); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if len(rec) != len(Header) {
			return fmt.Errorf("record %d has %d fields, want %d", n+1, len(rec), len(Header))
		}
		if n == 0 {
			continue // the header
		}
		for i, v := range rec {
			w.B.Field(i).(*array.StringBuilder).Append(v)
		}
		if err = w.Row(); err != nil {
			return err
		}
	}
	if err = w.Commit(); err != nil {
		return err
	}
	return syncDir(path)
}
