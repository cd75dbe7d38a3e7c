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

	"markimport/pipeline/durable"
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
// again) gives them up for the new ones. An input of several files must
// have one schema (files with another are an input error naming both);
// the columns its folder names give (Hive's key=value) and its files lack
// are added as strings before status. The file is written beside path and
// renamed into place; it is a valid input: markimport ignores the added
// columns. It returns the number of rows written.
func WriteRejectsParquet(in *readers.Input, path string, rej *Rejects) (int64, error) {
	return writeRejectsParquetInput(in, path, rej, defaultRejectsParquet)
}

// parquetRejectsShape reads the schema of every file of the input: the
// columns of the first (without the status, code and message of a rejects
// file run again), its metadata, and the keys of the folder names that the
// files lack. A file of another schema is an input error naming both.
func parquetRejectsShape(in *readers.Input, cfg rejectsParquetConfig) (fields []arrow.Field, meta arrow.Metadata, pathKeys []string, err error) {
	first, err := openRejectsPart(in.Parts[0].Path, cfg)
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
			p, err := openRejectsPart(in.Parts[k].Path, cfg)
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

// CheckRejects checks, before a run, that the input's files make one
// rejects file: every file of a Parquet input has one schema, every file
// of a CSV input the same columns. It returns an input error naming the
// first file that differs and the first file.
func CheckRejects(in *readers.Input, opts readers.Options) error {
	if !in.Multi() {
		return nil
	}
	if in.Format == readers.Parquet {
		_, _, _, err := parquetRejectsShape(in, defaultRejectsParquet)
		return err
	}
	var first []string
	for k, p := range in.Parts {
		o := opts
		o.Format, o.PathColumns = "csv", p.Hive
		rd, err := readers.Open(p.Path, o)
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

// writeRejectsParquet is WriteRejectsParquet of one file.
func writeRejectsParquet(input, path string, rej *Rejects, cfg rejectsParquetConfig) (int64, error) {
	in, err := readers.SingleInput(input, "parquet")
	if err != nil {
		return 0, err
	}
	return writeRejectsParquetInput(in, path, rej, cfg)
}

// rejectsPart is one file of the input, opened for its rejects.
type rejectsPart struct {
	f      *os.File
	pf     *file.Reader
	fr     *pqarrow.FileReader
	schema *arrow.Schema
	fields []arrow.Field // the file's own columns, kept
}

func (p *rejectsPart) close() {
	if p.pf != nil {
		p.pf.Close() // closes f
	} else if p.f != nil {
		p.f.Close()
	}
}

// openRejectsPart opens a file of the input and reads its schema.
func openRejectsPart(input string, cfg rejectsParquetConfig) (p *rejectsPart, err error) {
	p = &rejectsPart{}
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
	if p.f, err = os.Open(input); err != nil {
		return p, fmt.Errorf("rejects: %w", err)
	}
	props := parquet.NewReaderProperties(cfg.mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = 256 << 10
	if p.pf, err = file.NewParquetReader(p.f, file.WithReadProps(props)); err != nil {
		return p, fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
	}
	if p.fr, err = newRejectsFileReader(p.pf, cfg); err != nil {
		return p, fmt.Errorf("rejects: %s: unsupported Parquet schema: %w", input, err)
	}
	if p.schema, err = p.fr.Schema(); err != nil {
		return p, fmt.Errorf("rejects: %s: unsupported Parquet schema: %w", input, err)
	}
	fields := p.schema.Fields()
	keep := len(fields)
	if keep >= len(rejectsFields) {
		tail := fields[keep-len(rejectsFields):]
		if slices.EqualFunc(tail, rejectsFields, func(a, b arrow.Field) bool { return a.Name == b.Name }) {
			keep -= len(rejectsFields)
		}
	}
	p.fields = slices.Clip(fields[:keep])
	return p, nil
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

// splitRejects gives each file of the input its collected rows, numbered
// within the file.
func splitRejects(in *readers.Input, rej *Rejects) []*Rejects {
	parts := make([]*Rejects, len(in.Parts))
	for i := range parts {
		parts[i] = &Rejects{msgs: rej.msgs}
	}
	if !in.Multi() {
		parts[0].rows = rej.rows
		return parts
	}
	for _, x := range rej.rows {
		k, local := in.Locate(x.row)
		x.row = local
		parts[k].rows = append(parts[k].rows, x)
	}
	return parts
}

func writeRejectsParquetInput(in *readers.Input, path string, rej *Rejects, cfg rejectsParquetConfig) (n int64, err error) {
	if in.Parts[0].Path == "-" {
		return 0, errors.New("--rejects needs an input file: standard input cannot be read twice")
	}
	if rej == nil {
		rej = NewRejects()
	}
	mem := cfg.mem
	slices.SortStableFunc(rej.rows, func(a, b rejectRow) int { return cmp.Compare(a.row, b.row) })
	// Every file's schema first: a file of another schema is an input
	// error before anything is written.
	fields, meta, pathKeys, err := parquetRejectsShape(in, cfg)
	if err != nil {
		return 0, err
	}
	outFields := slices.Clone(fields)
	for _, k := range pathKeys {
		outFields = append(outFields, arrow.Field{Name: k, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	outsc := arrow.NewSchema(append(outFields, rejectsFields...), &meta)

	out, err := durable.Create(nil, path)
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	defer func() {
		if err != nil {
			out.Abort()
		}
	}()
	// The writer gets no Close method, so that it leaves the output open
	// for Commit.
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
	w := &rejectsWriter{fw: fw, schema: outsc, keep: len(fields), cfg: cfg}
	for k, sub := range splitRejects(in, rej) {
		if sub.Len() == 0 {
			continue
		}
		if err := w.part(in.Parts[k].Path, sub, pathValues(in.Parts[k].Hive, pathKeys)); err != nil {
			return w.n, err
		}
	}
	n = w.n
	closed = true
	if err := fw.Close(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := out.Commit(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	return n, nil
}

// rejectsWriter writes the rejects of the input's files, one file after
// another, into one Parquet file.
type rejectsWriter struct {
	fw     *pqarrow.FileWriter
	schema *arrow.Schema
	keep   int // the input's columns
	cfg    rejectsParquetConfig
	split  bool // start a new row group before the next write
	n      int64
}

// part writes the collected rows rej (numbered within the file) of the
// input file at input, with vals for the columns of its folder names (nil:
// null).
func (w *rejectsWriter) part(input string, rej *Rejects, vals []*string) (err error) {
	p, err := openRejectsPart(input, w.cfg)
	if err != nil {
		return err
	}
	var rr pqarrow.RecordReader
	defer func() {
		if rr != nil {
			rr.Release()
		}
		p.close()
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rejects: %s: corrupt Parquet file: %v", input, r)
		}
	}()
	sel, groups := selectRejects(rej, p.pf)
	if len(groups) == 0 {
		return nil
	}
	rr, err = p.fr.GetRecordReader(context.Background(), nil, groups)
	if err != nil {
		return fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
	}
	if got := rr.Schema().Fields(); !slices.EqualFunc(got, p.schema.Fields(), func(a, b arrow.Field) bool { return arrow.TypeEqual(a.Type, b.Type) }) {
		return fmt.Errorf("rejects: %s: the columns read (%s) do not match the file's schema (%s)", input, rr.Schema(), p.schema)
	}
	var (
		start int64 // position of the batch in the row groups read
		next  int   // next row of sel
		cols  = make([]arrow.Array, len(w.schema.Fields()))
	)
	for next < len(sel) {
		if !rr.Next() {
			if err := rr.Err(); err != nil {
				return fmt.Errorf("rejects: %s: corrupt Parquet file: %w", input, err)
			}
			return fmt.Errorf("rejects: %s: corrupt Parquet file: fewer rows than its metadata declares", input)
		}
		rec := rr.RecordBatch()
		end := start + rec.NumRows()
		j := next
		for j < len(sel) && sel[j].row < end {
			j++
		}
		if j > next {
			if w.split {
				if err := w.fw.NewBufferedRowGroupChecked(); err != nil {
					return fmt.Errorf("rejects: %w", err)
				}
				w.split = false
			}
			batch, err := rejectsBatch(w.cfg.mem, w.schema, rec, w.keep, sel[next:j], start, rej, cols, vals)
			if err != nil {
				return fmt.Errorf("rejects: %s: %w", input, err)
			}
			err = w.fw.WriteBuffered(batch)
			batch.Release()
			if err != nil {
				return fmt.Errorf("rejects: %w", err)
			}
			w.n += int64(j - next)
			w.split = w.fw.RowGroupTotalBytesWritten() >= w.cfg.rowGroupBytes
		}
		next, start = j, end
	}
	return nil
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
// vals are the values of the columns added for folder names (nil: null).
func rejectsBatch(mem memory.Allocator, sc *arrow.Schema, rec arrow.RecordBatch, keep int, sel []rejectRow, start int64, rej *Rejects, cols []arrow.Array, vals []*string) (out arrow.RecordBatch, err error) {
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
	for i, v := range vals {
		b := array.NewStringBuilder(mem)
		for range sel {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(*v)
			}
		}
		cols[keep+i] = b.NewArray()
		b.Release()
	}
	keep += len(vals)
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
