package backup

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/pipeline/durable"
	"markimport/pipeline/report"
)

// fields are the Parquet backup's columns: those of header, all strings,
// as the CSV backup holds them (set_mark "1|2"), which markimport reads as
// it reads the CSV.
var fields = func() []arrow.Field {
	fs := make([]arrow.Field, len(header))
	for i, h := range header {
		fs[i] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String}
	}
	return fs
}()

// writeParquet converts the CSV journal into the Parquet backup at path,
// written beside it and renamed into place, its metadata holding cp (the
// journal's last checkpoint). The journal is read byte for byte
// (exactRecord), not as an input: see Faithful; and it is checked against
// cp as it is read, so that the Parquet file never vouches for rows the
// journal did not prove.
func writeParquet(fsys durable.FS, journal, path string, cp checkpoint) (err error) {
	in, err := os.Open(journal)
	if err != nil {
		return err
	}
	defer in.Close()
	md := arrow.NewMetadata([]string{parquetMetaKey}, []string{string(cp.record())})
	w, err := report.CreateParquet(fsys, path, arrow.NewSchema(fields, &md))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	t := newTally()
	br := bufio.NewReaderSize(io.TeeReader(in, &t), 1<<20)
	var rec []string
	for n := 0; ; n++ {
		if rec, err = exactRecord(br, rec); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if len(rec) != len(header) {
			return fmt.Errorf("record %d has %d fields, want %d", n+1, len(rec), len(header))
		}
		if n == 0 {
			continue // the header
		}
		t.rows++
		for i, v := range rec {
			w.B.Field(i).(*array.StringBuilder).Append(v)
		}
		if err = w.Row(); err != nil {
			return err
		}
	}
	if err = proveBytes(journal, &t, cp); err != nil {
		return err
	}
	return w.Commit()
}

// proveParquet checks a Parquet input. It claims to be a markimport
// backup when its columns are exactly header and its metadata holds
// parquetMetaKey; then the CSV form of its rows must be what that
// checkpoint proves, else the error is a *ProofError.
func proveParquet(path string) (claimed bool, err error) {
	return proveParquetFrom(localFile(path))
}

// proveParquetFrom is proveParquet of the file src.
func proveParquetFrom(src source) (claimed bool, err error) {
	path := src.name()
	f, c, err := src.readerAt()
	if err != nil {
		return false, err
	}
	defer c.Close()
	defer func() {
		if p := recover(); p != nil {
			claimed, err = true, &ProofError{Path: path, Why: fmt.Sprintf("it is not a readable Parquet file: %v", p)}
		}
	}()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return false, nil // not a backup; reading it as an input says what is wrong
	}
	defer pf.Close()
	meta := pf.MetaData().KeyValueMetadata().FindValue(parquetMetaKey)
	if meta == nil {
		return false, nil
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return true, &ProofError{Path: path, Why: err.Error()}
	}
	if sc, err := fr.Schema(); err != nil || !backupColumns(sc) {
		return false, nil // another file made from a backup: a rejects file, say
	}
	cp, err := parseRecord([]byte(*meta))
	if err != nil {
		return true, &ProofError{Path: path, Why: fmt.Sprintf("the checkpoint in its metadata (%s) is damaged: %v", parquetMetaKey, err)}
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return true, &ProofError{Path: path, Why: err.Error()}
	}
	defer rr.Release()
	t := newTally()
	t.Write([]byte(bom))
	cw := csv.NewWriter(&t)
	cw.Write(header)
	rec := make([]string, len(header))
	for rr.Next() {
		b := rr.RecordBatch()
		for i := range int(b.NumRows()) {
			for c := range rec {
				col := b.Column(c).(*array.String)
				if col.IsNull(i) {
					return true, &ProofError{Path: path, Why: fmt.Sprintf("row %d has a null %s: markimport writes none", t.rows+1, header[c])}
				}
				rec[c] = col.Value(i)
			}
			cw.Write(rec)
			t.rows++
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return true, &ProofError{Path: path, Why: err.Error()}
	}
	cw.Flush()
	if t.rows != cp.Rows {
		return true, &ProofError{Path: path, Why: fmt.Sprintf("it holds %d rows, the checkpoint in its metadata proves %d: rows were removed or added", t.rows, cp.Rows)}
	}
	if err := proveBytes(path, &t, cp); err != nil {
		return true, &ProofError{Path: path, Why: "its rows are not those the checkpoint in its metadata proves: a value was changed or rows were moved"}
	}
	return true, nil
}

// backupColumns reports whether sc has exactly the backup's columns, all
// strings.
func backupColumns(sc *arrow.Schema) bool {
	if sc.NumFields() != len(header) {
		return false
	}
	for i, f := range sc.Fields() {
		if f.Name != header[i] || !arrow.TypeEqual(f.Type, arrow.BinaryTypes.String) {
			return false
		}
	}
	return true
}
