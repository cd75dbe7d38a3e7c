package rejects

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// selectRows returns the rows to write, in row order, one per row (the
// last collected for a row wins) and only those inside the file, with row
// turned into the 0-based position among the rows of the row groups that
// hold them; and those row groups, in file order. Input rows are numbered
// from 1 across all row groups, as the Parquet reader numbers them.
func selectRows(rows *Rows, pf *file.Reader) (sel []rejectRow, groups []int) {
	if rows.Len() == 0 {
		return nil, nil
	}
	rows.sort()
	md := pf.MetaData()
	sel = make([]rejectRow, 0, len(rows.rows))
	var (
		g        = -1
		first    = int64(1) // first row of group g (1-based)
		size     int64      // rows in group g
		skipped  int64      // rows of the groups not read, before group g
		lastRead = -1       // the last group added to groups
	)
	for i, x := range rows.rows {
		if i+1 < len(rows.rows) && rows.rows[i+1].row == x.row {
			continue
		}
		if x.row < 1 {
			continue
		}
		for x.row >= first+size && g+1 < md.NumRowGroups() {
			if g >= 0 && g != lastRead {
				skipped += size
			}
			g++
			first += size
			size = md.RowGroup(g).NumRows()
		}
		if g < 0 || x.row >= first+size {
			break // past the end of the file
		}
		if g != lastRead {
			groups = append(groups, g)
			lastRead = g
		}
		x.row = x.row - 1 - skipped
		sel = append(sel, x)
	}
	return sel, groups
}

// batchOf returns the rows sel of rec, which starts at position start,
// with their first keep columns, the columns of the folder names (vals;
// nil: null) and the row's status, code and message. cols is scratch
// space of one array per output column.
func batchOf(mem memory.Allocator, sc *arrow.Schema, rec arrow.RecordBatch, keep int, sel []rejectRow, start int64, rows *Rows, cols []arrow.Array, vals []*string) (out arrow.RecordBatch, err error) {
	clear(cols)
	defer func() {
		for i, c := range cols {
			if c != nil {
				c.Release()
				cols[i] = nil
			}
		}
	}()
	runs := runsOf(sel, start)
	var idx arrow.Array
	if len(runs) > 1 {
		idx = indexArray(mem, sel, start)
		defer idx.Release()
	}
	for c := range keep {
		if cols[c], err = pickRows(mem, rec.Column(c), runs, idx); err != nil {
			return nil, fmt.Errorf("column %s: %w", sc.Field(c).Name, err)
		}
	}
	for i, v := range vals {
		cols[keep+i] = constantStrings(mem, v, len(sel))
	}
	addedArrays(mem, sel, rows, cols[keep+len(vals):])
	return array.NewRecordBatch(sc, cols, int64(len(sel))), nil
}

// rowRun is the rows [from, to) of a batch.
type rowRun struct{ from, to int64 }

// runsOf groups the rows sel of a batch that starts at start into runs of
// consecutive rows.
func runsOf(sel []rejectRow, start int64) []rowRun {
	var runs []rowRun
	for _, x := range sel {
		i := x.row - start
		if k := len(runs) - 1; k >= 0 && runs[k].to == i {
			runs[k].to++
		} else {
			runs = append(runs, rowRun{i, i + 1})
		}
	}
	return runs
}

// indexArray is the positions of the rows sel in a batch that starts at
// start.
func indexArray(mem memory.Allocator, sel []rejectRow, start int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.Reserve(len(sel))
	for _, x := range sel {
		b.UnsafeAppend(x.row - start)
	}
	return b.NewArray()
}

// constantStrings is n times the string v (nil: null).
func constantStrings(mem memory.Allocator, v *string, n int) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for range n {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(*v)
		}
	}
	return b.NewArray()
}

// addedArrays puts the status, code and message of the rows sel into
// cols[0:3].
func addedArrays(mem memory.Allocator, sel []rejectRow, rows *Rows, cols []arrow.Array) {
	status := array.NewStringBuilder(mem)
	defer status.Release()
	code := array.NewInt32Builder(mem)
	defer code.Release()
	msg := array.NewStringBuilder(mem)
	defer msg.Release()
	status.Reserve(len(sel))
	code.Reserve(len(sel))
	msg.Reserve(len(sel))
	for _, x := range sel {
		status.Append(rows.status(x))
		code.UnsafeAppend(x.code)
		msg.Append(rows.message(x))
	}
	cols[0] = status.NewArray()
	cols[1] = code.NewArray()
	cols[2] = msg.NewArray()
}

// pickRows returns the rows runs of col, which are also the indices idx
// when there is more than one run. One run is a slice, sharing col's
// buffers; more are gathered with arrow's take, or, for a type it has no
// kernel for, by concatenating a slice per run.
func pickRows(mem memory.Allocator, col arrow.Array, runs []rowRun, idx arrow.Array) (arrow.Array, error) {
	if len(runs) == 1 {
		return array.NewSlice(col, runs[0].from, runs[0].to), nil
	}
	if out, err := takeRows(mem, col, idx); err == nil {
		return out, nil
	}
	parts := make([]arrow.Array, len(runs))
	for k, r := range runs {
		parts[k] = array.NewSlice(col, r.from, r.to)
	}
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	return array.Concatenate(parts, mem)
}

// takeRows is compute.TakeArray, with a panic an error.
func takeRows(mem memory.Allocator, col, idx arrow.Array) (out arrow.Array, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("take: %v", p)
		}
	}()
	return compute.TakeArray(compute.WithAllocator(context.Background(), mem), col, idx)
}
