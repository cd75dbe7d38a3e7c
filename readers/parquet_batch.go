package readers

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Next returns the next record, or io.EOF after the last one.
func (p *parquetReader) Next() (Record, error) {
	var rec Record
	err := p.nextInto(&rec)
	return rec, err
}

// nextInto is Next, into rec: every field of rec is set.
func (p *parquetReader) nextInto(rec *Record) (err error) {
	*rec = Record{}
	if p.err != nil {
		return p.err
	}
	defer func() {
		if r := recover(); r != nil {
			p.fail(fmt.Errorf("corrupt Parquet file: %v", r))
			*rec, err = Record{}, p.err
		}
	}()
	if p.next >= p.size {
		if err := p.load(); err != nil {
			if err != io.EOF {
				p.fail(err)
				return p.err
			}
			return io.EOF
		}
	}
	i := p.next
	p.next++
	p.row++

	// A text column's batch is never written again: the field points into
	// it. Every other field is appended to buf, copied into one string
	// carved from a slab, and sliced: the record must not point into the
	// batch of an arrow or list column, whose buffers are reused for the
	// next one.
	for _, ft := range p.uncut {
		// textReader.cell, inline: as a call for every field of every
		// row it was 6% of a Parquet validate's CPU.
		if start, end := ft.t.offs[i], ft.t.offs[i+1]; start != end {
			rec.Fields[ft.f] = unsafe.String(&ft.t.text[start], end-start)
		}
	}
	if len(p.others) > 0 {
		p.copyOthers(i, rec)
	}
	if len(p.extraWriters) > 0 {
		rec.Extra = p.extras(i, rec)
	}
	rec.Row = p.row
	p.pathFields.apply(rec)
	return nil
}

// copyOthers sets the fields of row i that are not in p.uncut, in field
// order: the first value cut to the bounds makes rec invalid, naming its
// column.
func (p *parquetReader) copyOthers(i int, rec *Record) {
	var ends [NumFields]int
	buf := p.buf[:0]
	for _, f := range p.others {
		if t := p.texts[f]; t != nil {
			var cut cellCut
			rec.Fields[f], cut = t.cell(i)
			if cut != (cellCut{}) && rec.Problem == "" {
				rec.Problem, rec.ProblemColumn = cut.problem([]byte(rec.Fields[f])), Field(f).String()
			}
		} else {
			start := len(buf)
			var cut cellCut
			buf, cut = p.writers[f](buf, i)
			if cut != (cellCut{}) && rec.Problem == "" {
				rec.Problem, rec.ProblemColumn = cut.problem(buf[start:]), Field(f).String()
			}
		}
		ends[f] = len(buf)
	}
	p.buf = buf
	if len(buf) == 0 {
		return
	}
	s := p.slab.text(buf)
	start := 0
	for _, f := range p.others {
		if p.texts[f] == nil {
			rec.Fields[f] = s[start:ends[f]]
			start = ends[f]
		}
	}
}

// extras returns the Extras of row i of the batch; a value cut to the
// bounds makes rec invalid, naming its column.
func (p *parquetReader) extras(i int, rec *Record) Extras {
	xb := p.xbuf[:0]
	for k, w := range p.extraWriters {
		var cut cellCut
		p.vbuf, cut = w(p.vbuf[:0], i)
		if cut != (cellCut{}) && rec.Problem == "" {
			rec.Problem, rec.ProblemColumn = cut.problem(p.vbuf), p.cols[p.extra[k]].name
		}
		xb = appendExtra(xb, p.vbuf)
	}
	p.xbuf = xb
	return Extras(xb)
}

// load decodes the next batch, or returns io.EOF.
func (p *parquetReader) load() error {
	p.releaseBatch()
	if p.row >= p.total {
		return io.EOF
	}
	want := min(int64(parquetBatchRows), p.total-p.row)
	if err := p.readColumns(want); err != nil {
		return err
	}
	for _, col := range p.cols {
		n := 0
		if col.list != nil {
			n = col.list.rows()
		} else if col.text != nil {
			n = col.text.rows()
		} else {
			n = col.arr.Len()
		}
		if int64(n) != want {
			return fmt.Errorf("corrupt Parquet file: column %s has %d values at row %d, want %d (the metadata declares %d rows)",
				col.name, n, p.row+1, want, p.total)
		}
	}
	// A value outside its statistics fails the whole batch, before any of
	// its rows is returned: the page it came from decoded wrong, and rows
	// before it in the page may be wrong too.
	var bad *parquetColumn
	for _, col := range p.cols {
		if col.bad != nil && (bad == nil || col.bad.row < bad.bad.row) {
			bad = col
		}
	}
	if bad != nil {
		return &InputError{Path: p.path, Row: bad.bad.row, Column: bad.name, Err: fmt.Errorf("corrupt Parquet file: %w", bad.bad)}
	}
	for f, c := range p.fields {
		if c < 0 {
			continue
		}
		if t := p.cols[c].text; t != nil {
			p.texts[f] = t
			if len(t.cuts) == 0 {
				p.uncut = append(p.uncut, uncutText{Field(f), t})
			} else {
				p.others = append(p.others, Field(f))
			}
			continue
		}
		w, err := p.cols[c].writer()
		if err != nil {
			return fmt.Errorf("column %s: %w", Field(f), err)
		}
		p.writers[f] = w
		p.others = append(p.others, Field(f))
	}
	for k, c := range p.extra {
		w, err := p.cols[c].writer()
		if err != nil {
			return fmt.Errorf("column %s: %w", p.cols[c].name, err)
		}
		p.extraWriters[k] = w
	}
	p.next, p.size = 0, int(want)
	return nil
}

// writer returns the cellWriter of the column's current batch.
func (col *parquetColumn) writer() (cellWriter, error) {
	switch {
	case col.list != nil:
		return col.list.writer(), nil
	case col.text != nil:
		return col.text.writer(), nil
	}
	return newCellWriter(col.arr)
}

// readColumns decodes want rows of every column, the columns in parallel.
func (p *parquetReader) readColumns(want int64) error {
	errs := make([]error, len(p.cols))
	var wg sync.WaitGroup
	for c := 1; c < len(p.cols); c++ {
		wg.Go(func() { errs[c] = p.readColumn(p.cols[c], want) })
	}
	if len(p.cols) > 0 {
		errs[0] = p.readColumn(p.cols[0], want)
	}
	wg.Wait()
	for c, err := range errs {
		if err != nil {
			return fmt.Errorf("corrupt Parquet file: column %s: %w", p.cols[c].name, err)
		}
	}
	return nil
}

// readColumn decodes want rows of one column and checks them against the
// statistics. It runs in its own goroutine, where a panic would end the
// process, so it recovers.
func (p *parquetReader) readColumn(col *parquetColumn, want int64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	col.bad = nil
	if col.list != nil {
		return col.list.readBatch(int(want))
	}
	if col.text != nil {
		if err := col.text.readBatch(int(want), p.row, parquetCheckStats); err != nil {
			return err
		}
		col.bad = col.text.bad
		return nil
	}
	if col.arr, err = p.readArrow(col.arrow, want); err != nil {
		return err
	}
	if col.stats != nil && parquetCheckStats {
		col.bad = col.stats.check(col.arr, p.row)
	}
	return nil
}

// readArrow decodes want rows of a pqarrow column as one array.
func (p *parquetReader) readArrow(r *pqarrow.ColumnReader, want int64) (arrow.Array, error) {
	chunked, err := r.NextBatch(want)
	if err != nil {
		return nil, err
	}
	defer chunked.Release()
	switch chunks := chunked.Chunks(); len(chunks) {
	case 0:
		return array.MakeArrayOfNull(p.pool, chunked.DataType(), 0), nil
	case 1:
		chunks[0].Retain()
		return chunks[0], nil
	default:
		// A batch that spans row groups.
		return array.Concatenate(chunks, p.pool)
	}
}

func (p *parquetReader) releaseBatch() {
	for _, col := range p.cols {
		if col.arr != nil {
			col.arr.Release()
			col.arr = nil
		}
	}
	p.writers = [NumFields]cellWriter{}
	p.texts = [NumFields]*textReader{}
	p.uncut, p.others = p.uncut[:0], p.others[:0]
	clear(p.extraWriters)
	p.next, p.size = 0, 0
}

// fail makes err the reader's sticky error: an *InputError as it is, else
// wrapped in one for the next row.
func (p *parquetReader) fail(err error) {
	ie, ok := err.(*InputError)
	if !ok {
		ie = &InputError{Path: p.path, Row: p.row + 1, Err: err}
	}
	p.err = ie
	func() {
		defer func() { recover() }()
		p.releaseBatch()
	}()
}

// release frees the decoding state; the file itself is closed by Close.
func (p *parquetReader) release() {
	func() {
		defer func() { recover() }()
		p.releaseBatch()
		for _, c := range p.cols {
			if c.arrow != nil {
				c.arrow.Release()
			}
			if c.list != nil {
				c.list.close()
			}
			if c.text != nil {
				c.text.close()
			}
		}
	}()
	p.cols = nil
	p.pool.release()
}

// Close releases the reader and closes the file.
func (p *parquetReader) Close() error {
	p.release()
	if p.err == nil {
		p.err = &InputError{Path: p.path, Err: errors.New("reader is closed")}
	}
	if p.pf == nil {
		return nil
	}
	err := p.pf.Close()
	if cerr := p.closer.Close(); err == nil {
		err = cerr
	}
	p.pf = nil
	return err
}
