package rejects

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/readers"
)

// parquetConfig is how a Parquet rejects file is read and written; tests
// change it.
type parquetConfig struct {
	mem           memory.Allocator
	batchRows     int64 // rows read at a time
	rowGroupBytes int64 // a row group ends once this much is buffered
	rowGroupRows  int64 // and holds at most this many rows
}

var defaultParquet = parquetConfig{
	mem:           memory.DefaultAllocator,
	batchRows:     16 * 1024,
	rowGroupBytes: 64 << 20,
	rowGroupRows:  1 << 20,
}

// inputFile is one file of the input, opened for its rejects.
type inputFile struct {
	src    *readers.Source
	pf     *file.Reader
	fr     *pqarrow.FileReader
	schema *arrow.Schema
	fields []arrow.Field // the file's own columns, kept
}

func (p *inputFile) close() {
	if p.pf != nil {
		p.pf.Close() // closes src
	} else if p.src != nil {
		p.src.Close()
	}
}

// openInputFile opens a file of the input and reads its schema. The file
// is reached as the readers reach it (readers.Part.OpenSource): a local
// file, or an object by ranged reads under ctx, never downloaded whole.
func openInputFile(ctx context.Context, part *readers.Part, cfg parquetConfig) (p *inputFile, err error) {
	input := part.Path
	p = &inputFile{}
	// arrow panics on some malformed input; a bad file must be an error,
	// not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rejects: %s: corrupt Parquet file: %v", input, r)
		}
		if err != nil {
			p.close()
			p = nil
		}
	}()
	if p.src, err = part.OpenSource(ctx); err != nil {
		return p, fmt.Errorf("rejects: %w", err)
	}
	props := parquet.NewReaderProperties(cfg.mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = 256 << 10
	if p.pf, err = file.NewParquetReader(p.src, file.WithReadProps(props)); err != nil {
		return p, fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
	}
	if p.fr, err = newArrowReader(p.pf, cfg); err != nil {
		return p, fmt.Errorf("rejects: %s: unsupported Parquet schema: %w", input, err)
	}
	if p.schema, err = p.fr.Schema(); err != nil {
		return p, fmt.Errorf("rejects: %s: unsupported Parquet schema: %w", input, err)
	}
	p.fields = keepFields(p.schema.Fields())
	return p, nil
}

// newArrowReader opens the arrow view of the file with the arrow schema
// stored in it, which keeps dictionary, large and other arrow types as
// they were written. A stored schema that cannot be decoded is dropped,
// and the types are those of the Parquet schema alone.
func newArrowReader(pf *file.Reader, cfg parquetConfig) (*pqarrow.FileReader, error) {
	props := pqarrow.ArrowReadProperties{BatchSize: cfg.batchRows}
	fr, err := func() (fr *pqarrow.FileReader, err error) {
		defer func() {
			if p := recover(); p != nil {
				fr, err = nil, fmt.Errorf("%v", p)
			}
		}()
		return pqarrow.NewFileReader(pf, props, cfg.mem)
	}()
	if err == nil || !readers.DropArrowSchema(pf) {
		return fr, err
	}
	return pqarrow.NewFileReader(pf, props, cfg.mem)
}
