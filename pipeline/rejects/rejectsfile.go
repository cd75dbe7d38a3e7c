package rejects

import (
	"context"
	"errors"

	"markimport/pipeline/durable"
	"markimport/readers"
)

// WriteCSV reads the CSV input in again and writes every row of rows
// (nil: none) with all its original columns unchanged, in the input's
// order, under the input's header plus status, code and message, as path
// on the local disk, and returns the number of rows written. The file
// appears whole or not at all, and is a valid input: markimport ignores
// the added columns. opts are the options the input was read with; files
// in a bucket are read again under ctx.
func WriteCSV(ctx context.Context, in *readers.Input, opts readers.Options, path string, rows *Rows) (int64, error) {
	rows, err := prepare(in, rows)
	if err != nil {
		return 0, err
	}
	return writeCSV(ctx, durable.Disk(nil), path, in, opts, rows)
}

// WriteParquet reads the Parquet input in again and writes every row of
// rows (nil: none) with all its columns unchanged under the input's
// schema plus status (string), code (int32) and message (string), as path
// on the local disk, and returns the number of rows written. The file
// appears whole or not at all, and is a valid input: markimport ignores
// the added columns. Files in a bucket are read again by ranged reads
// (the footer, then only the row groups that hold a collected row) under
// ctx.
func WriteParquet(ctx context.Context, in *readers.Input, path string, rows *Rows) (int64, error) {
	return write(ctx, durable.Disk(nil), path, in, readers.Options{}, rows, defaultParquet)
}

// write writes the rejects file of in in the input's format through dst,
// with the Parquet writer's configuration cfg.
func write(ctx context.Context, dst durable.Destination, path string, in *readers.Input, opts readers.Options, rows *Rows, cfg parquetConfig) (int64, error) {
	rows, err := prepare(in, rows)
	if err != nil {
		return 0, err
	}
	if in.Format == readers.Parquet {
		return writeParquet(ctx, dst, path, in, rows, cfg)
	}
	return writeCSV(ctx, dst, path, in, opts, rows)
}

// prepare refuses an input that cannot be read again (standard input) and
// returns rows (nil: none), sorted by row.
func prepare(in *readers.Input, rows *Rows) (*Rows, error) {
	if in.Parts[0].Path == "-" {
		return nil, errors.New("--rejects needs an input file: standard input cannot be read twice")
	}
	if rows == nil {
		rows = New()
	}
	rows.sort()
	return rows, nil
}
