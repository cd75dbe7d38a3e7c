package readers

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Open opens an input file ("-" for standard input) and returns a reader of
// its records. The format comes from opts.Format or else the file name:
// ".parquet" is Parquet, everything else CSV; ".gz" and ".zst" CSV files are
// decompressed on the fly.
func Open(path string, opts Options) (Reader, error) {
	format := strings.ToLower(opts.Format)
	lower := strings.ToLower(path)
	if format == "" {
		if strings.HasSuffix(lower, ".parquet") || strings.HasSuffix(lower, ".pq") {
			format = "parquet"
		} else {
			format = "csv"
		}
	}
	switch format {
	case "csv":
	case "parquet":
		return OpenParquet(path, opts)
	default:
		return nil, &InputError{Path: path, Err: fmt.Errorf("unknown format %q (want csv or parquet)", opts.Format)}
	}
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		f, err = os.Open(path)
		if err != nil {
			return nil, &InputError{Path: path, Err: err}
		}
	}
	var r io.Reader = f
	closer := closers{f}
	switch {
	case strings.HasSuffix(lower, ".gz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, &InputError{Path: path, Err: fmt.Errorf("gzip: %w", err)}
		}
		r = gz
		closer = closers{gz, f}
	case strings.HasSuffix(lower, ".zst"):
		zr, err := zstd.NewReader(f)
		if err != nil {
			f.Close()
			return nil, &InputError{Path: path, Err: fmt.Errorf("zstd: %w", err)}
		}
		r = zr
		closer = closers{zstdCloser{zr}, f}
	}
	cr, err := NewCSVReader(path, r, closer, opts)
	if err != nil {
		closer.Close()
		return nil, err
	}
	return cr, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Close() error { z.d.Close(); return nil }
