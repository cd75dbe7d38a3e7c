package report

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/readers"
)

// A Parquet rejects file has the input's own schema (every column, nested
// or not, of the arrow type pqarrow reads it as) plus status, code and
// message, and holds the collected rows with their values unchanged. It is
// made from the input, read again a batch at a time: the selected rows of
// each batch are sliced out, the three columns appended, and the result
// written; row groups without a collected row are not read at all.

// rejectsParquetConfig is what tests may change.
type rejectsParquetConfig struct {
	mem           memory.Allocator
	batchRows     int64 // rows read at a time
	rowGroupBytes int64 // a row group ends once this much is buffered
	rowGroupRows  int64 // and holds at most this many rows
}

var defaultRejectsParquet = rejectsParquetConfig{
	mem:           memory.DefaultAllocator,
	batchRows:     16 * 1024,
	rowGroupBytes: 64 << 20,
	rowGroupRows:  1 << 20,
}

// rejectsFields are the columns a rejects file adds after the input's.
var rejectsFields = []arrow.Field{
	{Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "code", Type: arrow.PrimitiveTypes.Int32},
	{Name: "message", Type: arrow.BinaryTypes.String},
}

// WriteRejectsParquet reads the Parquet input again and writes every
// collected row, in the input's order, with all its columns unchanged under
// the input's schema plus status (string), code (int32) and message
// (string). An input that already ends with those three (a rejects file run
// again) gives them up for the new ones. The file is written beside path and
// renamed into place; it is a valid input: markimport ignores the added
// columns. It returns the number of rows written.
func WriteRejectsParquet(input, path string, rej *Rejects) (int64, error) {
	return writeRejectsParquet(input, path, rej, defaultRejectsParquet)
}

func writeRejectsParquet(input, path string, rej *Rejects, cfg rejectsParquetConfig) (n int64, err error) {
	if input == "-" {
		return 0, errors.New("--rejects needs an input file: standard input cannot be read twice")
	}
	mem := cfg.mem
	in, err := os.Open(input)
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	var (
		pf  *file.Reader
		rr  pqarrow.RecordReader
		out *os.File
		tmp = path + ".tmp"
	)
	defer func() {
		if rr != nil {
			rr.Release()
		}
		if pf != nil {
			pf.Close() // closes in
		} else {
			in.Close()
		}
		if err != nil && out != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	// arrow panics on some malformed input; a bad file must be an error,
	// not a crash. This runs before the cleanup above.
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("rejects: %s: corrupt Parquet file: %v", input, p)
		}
	}()

	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = 256 << 10
	pf, err = file.NewParquetReader(in, file.WithReadProps(props))
	if err != nil {
		return 0, fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
	}
	fr, err := newRejectsFileReader(pf, cfg)
	if err != nil {
		return 0, fmt.Errorf("rejects: %s: unsupported Parquet schema: %w", input, err)
	}
	insc, err := fr.Schema()
	if err != nil {
		return 0, fmt.Errorf("rejects: %s: unsupported Parquet schema: %w", input, err)
	}
	fields := insc.Fields()
	keep := len(fields)
	if keep >= len(rejectsFields) {
		tail := fields[keep-len(rejectsFields):]
		if slices.EqualFunc(tail, rejectsFields, func(a, b arrow.Field) bool { return a.Name == b.Name }) {
			keep -= len(rejectsFields)
		}
	}
	meta := insc.Metadata()
	outsc := arrow.NewSchema(append(slices.Clip(fields[:keep]), rejectsFields...), &meta)

	sel, groups := selectRejects(rej, pf)

	out, err = os.Create(tmp)
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	// The writer gets no Close method, so that it leaves the file open
	// for Sync.
	bw := bufio.NewWriterSize(out, 256<<10)
	wprops := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(cfg.rowGroupRows),
		parquet.WithAllocator(mem),
	)
	// The stored arrow schema makes dictionary, large and other arrow
	// types read back as they were read from the input.
	fw, err := pqarrow.NewFileWriter(outsc, bw, wprops, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			fw.Close()
		}
	}()

	if len(groups) > 0 {
		rr, err = fr.GetRecordReader(context.Background(), nil, groups)
		if err != nil {
			return 0, fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
		}
		if got := rr.Schema().Fields(); !slices.EqualFunc(got, fields, func(a, b arrow.Field) bool { return arrow.TypeEqual(a.Type, b.Type) }) {
			return 0, fmt.Errorf("rejects: %s: the columns read (%s) do not match the file's schema (%s)", input, rr.Schema(), insc)
		}
	}
	var (
		start int64 // position of the batch in the row groups read
		next  int   // next row of sel
		split bool  // start a new row group before the next write
		cols  = make([]arrow.Array, len(outsc.Fields()))
	)
	for next < len(sel) {
		if !rr.Next() {
			if err := rr.Err(); err != nil {
				return n, fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
			}
			return n, fmt.Errorf("rejects: %s: corrupt Parquet file: fewer rows than its metadata declares", input)
		}
		rec := rr.RecordBatch()
		end := start + rec.NumRows()
		j := next
		for j < len(sel) && sel[j].row < end {
			j++
		}
		if j > next {
			if split {
				if err := fw.NewBufferedRowGroupChecked(); err != nil {
					return n, fmt.Errorf("rejects: %w", err)
				}
				split = false
			}
			batch, err := rejectsBatch(mem, outsc, rec, keep, sel[next:j], start, rej, cols)
			if err != nil {
				return n, fmt.Errorf("rejects: %s: %w", input, err)
			}
			err = fw.WriteBuffered(batch)
			batch.Release()
			if err != nil {
				return n, fmt.Errorf("rejects: %w", err)
			}
			n += int64(j - next)
			split = fw.RowGroupTotalBytesWritten() >= cfg.rowGroupBytes
		}
		next, start = j, end
	}
	closed = true
	if err := fw.Close(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := out.Sync(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := out.Close(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	return n, nil
}

// newRejectsFileReader opens the arrow view of the file with the arrow
// schema stored in it, which keeps dictionary, large and other arrow types
// as they were written. A stored schema that cannot be decoded is dropped,
// and the types are those of the Parquet schema alone.
func newRejectsFileReader(pf *file.Reader, cfg rejectsParquetConfig) (*pqarrow.FileReader, error) {
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

// selectRejects returns the rejects to write, in row order, one per row
// (the last collected for a row wins) and only those inside the file, with
// row turned into the 0-based position among the rows of the row groups
// that hold them; and those row groups, in file order. Input rows are
// numbered from 1 across all row groups, as the Parquet reader numbers
// them.
func selectRejects(rej *Rejects, pf *file.Reader) (sel []rejectRow, groups []int) {
	if rej.Len() == 0 {
		return nil, nil
	}
	slices.SortStableFunc(rej.rows, func(a, b rejectRow) int { return cmp.Compare(a.row, b.row) })
	md := pf.MetaData()
	sel = make([]rejectRow, 0, len(rej.rows))
	var (
		g        = -1
		first    = int64(1) // first row of group g (1-based)
		size     int64      // rows in group g
		skipped  int64      // rows of the groups not read, before group g
		lastRead = -1       // the last group added to groups
	)
	for i, x := range rej.rows {
		if i+1 < len(rej.rows) && rej.rows[i+1].row == x.row {
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

// rejectsBatch returns the rows sel of rec, which starts at position start,
// with their first keep columns and the reject's status, code and message.
// cols is scratch space of one array per output column.
func rejectsBatch(mem memory.Allocator, sc *arrow.Schema, rec arrow.RecordBatch, keep int, sel []rejectRow, start int64, rej *Rejects, cols []arrow.Array) (out arrow.RecordBatch, err error) {
	clear(cols)
	defer func() {
		for i, c := range cols {
			if c != nil {
				c.Release()
				cols[i] = nil
			}
		}
	}()
	// Runs of consecutive rows.
	var runs []rowRun
	for _, x := range sel {
		i := x.row - start
		if k := len(runs) - 1; k >= 0 && runs[k].to == i {
			runs[k].to++
		} else {
			runs = append(runs, rowRun{i, i + 1})
		}
	}
	var idx arrow.Array
	if len(runs) > 1 {
		b := array.NewInt64Builder(mem)
		b.Reserve(len(sel))
		for _, x := range sel {
			b.UnsafeAppend(x.row - start)
		}
		idx = b.NewArray()
		b.Release()
		defer idx.Release()
	}
	for c := range keep {
		if cols[c], err = pickRows(mem, rec.Column(c), runs, idx); err != nil {
			return nil, fmt.Errorf("column %s: %w", sc.Field(c).Name, err)
		}
	}
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
		status.Append(string(Statuses[x.status]))
		code.UnsafeAppend(x.code)
		msg.Append(rej.msgs[x.msg])
	}
	cols[keep] = status.NewArray()
	cols[keep+1] = code.NewArray()
	cols[keep+2] = msg.NewArray()
	return array.NewRecordBatch(sc, cols, int64(len(sel))), nil
}

// rowRun is the rows [from, to) of a batch.
type rowRun struct{ from, to int64 }

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
