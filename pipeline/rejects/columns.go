package rejects

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"markimport/readers"
)

// addedColumns are the columns a rejects file adds after the input's own.
var addedColumns = []string{"status", "code", "message"}

// addedFields are addedColumns as Parquet columns.
var addedFields = []arrow.Field{
	{Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "code", Type: arrow.PrimitiveTypes.Int32},
	{Name: "message", Type: arrow.BinaryTypes.String},
}

// Check checks, before a run, that the input's files make one rejects
// file: every file of a Parquet input has one schema, every file of a CSV
// input the same columns. It returns an input error naming the first file
// that differs and the first file. Files in a bucket are read under ctx.
func Check(ctx context.Context, in *readers.Input, opts readers.Options) error {
	if !in.Multi() {
		return nil
	}
	if in.Format == readers.Parquet {
		_, _, _, err := parquetShape(ctx, in, defaultParquet)
		return err
	}
	var first []string
	for k := range in.Parts {
		p := &in.Parts[k]
		o := opts
		o.Format, o.PathColumns = "csv", p.Hive
		rd, err := p.Open(ctx, o)
		if errors.Is(err, readers.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		cr, ok := rd.(*readers.CSVReader)
		if !ok {
			rd.Close()
			return fmt.Errorf("rejects: %s is not CSV", p.Path)
		}
		h := slices.Clone(keepColumns(cr.Header()))
		rd.Close()
		if first == nil {
			first = h
			continue
		}
		if !sameNames(first, h) {
			return &readers.InputError{Path: in.Parts[k].Path, Err: fmt.Errorf("its header (%s) has other columns than that of %s (%s): a rejects file has one header", readers.ShowHeader(h), in.Parts[0].Path, readers.ShowHeader(first))}
		}
	}
	return nil
}

// parquetShape reads the schema of every file of the input: the columns
// of the first (without the status, code and message of a rejects file
// run again), its metadata, and the keys of the folder names that the
// files lack. A file of another schema is an input error naming both.
func parquetShape(ctx context.Context, in *readers.Input, cfg parquetConfig) (fields []arrow.Field, meta arrow.Metadata, pathKeys []string, err error) {
	first, err := openInputFile(ctx, &in.Parts[0], cfg)
	if err != nil {
		return nil, meta, nil, err
	}
	fields, meta = first.fields, first.schema.Metadata()
	first.close()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	for k := range in.Parts {
		if k > 0 {
			p, err := openInputFile(ctx, &in.Parts[k], cfg)
			if err != nil {
				return nil, meta, nil, err
			}
			same := sameColumns(fields, p.fields)
			pschema := p.schema
			p.close()
			if !same {
				return nil, meta, nil, &readers.InputError{Path: in.Parts[k].Path, Err: fmt.Errorf("its schema (%s) has other columns than that of %s (%s): a Parquet rejects file has one schema", pschema, in.Parts[0].Path, first.schema)}
			}
		}
	}
	return fields, meta, pathKeysLacking(in, names), nil
}

// keepColumns is a header without the status, code and message a rejects
// file added: a rejects file run again gives a rejects file of the same
// shape, its old outcome giving way to the new one.
func keepColumns(header []string) []string {
	keep := len(header)
	if keep >= 3 && slices.Equal(header[keep-3:], addedColumns) {
		keep -= 3
	}
	return header[:keep]
}

// keepFields is keepColumns of a Parquet schema's fields.
func keepFields(fields []arrow.Field) []arrow.Field {
	keep := len(fields)
	if keep >= len(addedFields) {
		tail := fields[keep-len(addedFields):]
		if slices.EqualFunc(tail, addedFields, func(a, b arrow.Field) bool { return a.Name == b.Name }) {
			keep -= len(addedFields)
		}
	}
	return slices.Clip(fields[:keep])
}

// sameNames reports whether two headers hold the same columns, in any
// order.
func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// sameColumns reports whether two files' kept columns have the same names
// and types, in the same order.
func sameColumns(a, b []arrow.Field) bool {
	return slices.EqualFunc(a, b, func(x, y arrow.Field) bool { return x.Name == y.Name && arrow.TypeEqual(x.Type, y.Type) })
}

// pathKeysLacking are the keys of the input's folder names (Hive's
// key=value) that its files' columns lack, in order of appearance: the
// columns a rejects file adds for them.
func pathKeysLacking(in *readers.Input, columns []string) []string {
	var keys []string
	for _, p := range in.Parts {
		for _, c := range p.Hive {
			n := readers.NormalizeName(c.Key)
			if !slices.Contains(keys, c.Key) && !slices.ContainsFunc(columns, func(f string) bool { return readers.NormalizeName(f) == n }) {
				keys = append(keys, c.Key)
			}
		}
	}
	return keys
}

// pathValues are a file's values of the columns keys (nil where its
// folders do not name the key).
func pathValues(hive []readers.PathColumn, keys []string) []*string {
	vals := make([]*string, len(keys))
	for _, c := range hive {
		if i := slices.Index(keys, c.Key); i >= 0 && vals[i] == nil {
			v := c.Value
			vals[i] = &v
		}
	}
	return vals
}
