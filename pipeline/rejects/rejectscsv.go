package rejects

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"

	"markimport/pipeline/durable"
	"markimport/readers"
)

// writeCSV writes the rows of a CSV input under the input's header plus
// status, code and message. An input of several files gives one file
// under the first file's header: a file whose header holds other columns
// is an input error naming both, one with the same columns in another
// order has its fields put in the first's order; the columns its folder
// names give (Hive's key=value) and its files lack are added before
// status. rows are sorted.
func writeCSV(ctx context.Context, dst durable.Destination, path string, in *readers.Input, opts readers.Options, rows *Rows) (n int64, err error) {
	opts.Format = "csv"
	rd, err := in.OpenContext(ctx, opts)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	out, err := dst.Create(path)
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			out.Abort()
		}
	}()
	bw := bufio.NewWriterSize(out, 256<<10)
	sh := &csvShape{in: in, w: csv.NewWriter(bw)}
	if n, err = sh.copyRows(rd, rows); err != nil {
		return n, err
	}
	sh.w.Flush()
	if err := sh.w.Error(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	committed = true
	if err := out.Commit(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	return n, nil
}

// csvShape is the shape of a CSV rejects file, taken from the first file
// with rows, and how the file being read maps onto it.
type csvShape struct {
	in       *readers.Input
	w        *csv.Writer
	header   []string // the first file's own columns, kept
	pathKeys []string // columns added for folder names
	started  bool     // the header is written
	order    []int    // for the file being read: its field for each output column, or -1
	vals     []string // its values of the pathKeys columns
}

// copyRows reads the input and writes each collected row, and returns how
// many it wrote. The header is written once the first file is open, even
// when no row is collected.
func (sh *csvShape) copyRows(rd *readers.InputReader, rows *Rows) (n int64, err error) {
	part := -1
	next := 0
	rec := make([]string, 0, 64)
	for next < len(rows.rows) {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		k, cur := rd.Current()
		cr, ok := cur.(*readers.CSVReader)
		if !ok {
			return n, fmt.Errorf("rejects: %s is not CSV", sh.in.Parts[k].Path)
		}
		if k != part {
			if err := sh.enter(k, cr); err != nil {
				return n, err
			}
			part = k
		}
		if r.Row != rows.rows[next].row {
			continue
		}
		x := rows.rows[next]
		for next < len(rows.rows) && rows.rows[next].row == x.row {
			x = rows.rows[next] // a row collected twice keeps its last outcome
			next++
		}
		rec = append(sh.reorder(rec[:0], cr.Raw()), rows.status(x), strconv.Itoa(int(x.code)), rows.message(x))
		if err := sh.w.Write(rec); err != nil {
			return n, fmt.Errorf("rejects: %w", err)
		}
		n++
	}
	if !sh.started {
		// Nothing collected: the header of the first file alone.
		if k, cur := rd.Current(); k == 0 {
			if cr, ok := cur.(*readers.CSVReader); ok {
				if err := sh.enter(0, cr); err != nil {
					return n, err
				}
			}
		}
	}
	return n, nil
}

// enter takes file k, read by cr: the first file gives the shape and
// writes the header; every file is mapped onto it.
func (sh *csvShape) enter(k int, cr *readers.CSVReader) error {
	h := keepColumns(cr.Header())
	if !sh.started {
		sh.started = true
		sh.header = slices.Clone(h)
		sh.w.Comma = cr.Delimiter()
		sh.pathKeys = pathKeysLacking(sh.in, sh.header)
		out := append(append(slices.Clone(sh.header), sh.pathKeys...), addedColumns...)
		if err := sh.w.Write(out); err != nil {
			return err
		}
	}
	sh.order = sh.order[:0]
	for _, name := range sh.header {
		sh.order = append(sh.order, slices.Index(h, name))
	}
	if len(h) != len(sh.header) || slices.Contains(sh.order, -1) {
		return &readers.InputError{Path: sh.in.Parts[k].Path, Err: fmt.Errorf("its header (%s) has other columns than that of the first file (%s): a rejects file has one header", readers.ShowHeader(h), readers.ShowHeader(sh.header))}
	}
	sh.vals = sh.vals[:0]
	for _, v := range pathValues(sh.in.Parts[k].Hive, sh.pathKeys) {
		if v == nil {
			sh.vals = append(sh.vals, "")
		} else {
			sh.vals = append(sh.vals, *v)
		}
	}
	return nil
}

// reorder appends to rec the fields of raw in the output's column order,
// then the values of the folder names' columns. A short row keeps its
// place under the header; the added columns always line up.
func (sh *csvShape) reorder(rec, raw []string) []string {
	for _, i := range sh.order {
		v := ""
		if i < len(raw) {
			v = raw[i]
		}
		rec = append(rec, v)
	}
	return append(rec, sh.vals...)
}
