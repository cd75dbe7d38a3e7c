package readers

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// The text columns of the known fields (from_account, to_account, ...) are
// most of a Parquet file, and pqarrow decodes them into Arrow arrays value
// by value (a dictionary-encoded page copies each row's dictionary value
// into a builder, with a null bitmap), only for the record to copy the
// value again. textReader reads such a column with arrow's low-level
// column chunk reader instead, as listReader does for list columns, and
// copies only the kept part of each value (at most keepBytes, see
// limits.go) into one buffer of the batch. It reads columns whose leaf is
// a BYTE_ARRAY that is not nested (no repetition, and at most one optional
// level: a null or a value) and that pqarrow would read as a string or
// binary, plain, large or dictionary-encoded; the records are the same as
// through pqarrow (TestParquetTextMatchesArrow). Every other column is
// read through pqarrow.

// parquetLowLevelText switches textReader on; tests turn it off to read
// the same files through pqarrow and compare.
var parquetLowLevelText = true

// parquetTextValues is how many values a textReader decodes at a time
// before copying their kept bytes.
const parquetTextValues = 4096

// textReader reads one text column a batch of rows at a time, in step with
// the other columns: it yields exactly the rows asked for, however they
// fall across pages and row groups.
type textReader struct {
	pf     *file.Reader
	leaf   int   // the leaf column's index in the file schema
	maxDef int16 // 0 for a required column, 1 for an optional one
	stats  *statsCheck

	// The column chunk being read.
	rg     int // its row group; the next one to open when cr is nil
	cr     *file.ByteArrayColumnChunkReader
	rgRows int64 // rows the metadata declares for row group rg
	rgSeen int64 // rows of row group rg read so far

	vals []parquet.ByteArray // decoded values, pointing into arrow's page buffers
	defs []int16
	bufs *textBuffers // where vals, defs and the batch's memory came from

	// The batch: the kept text of row i is text[offs[i]:offs[i+1]]; a null
	// is empty. Each batch's text is memory of its own, never written again
	// once read, so that records may point into it (cell). cuts are the rows whose values were cut, in row order.
	text []byte
	offs []int
	cuts []textCut
	bad  *statsError // the first value of the batch outside the statistics
}

// textBuffers is the memory of a textReader but its text, handed to the
// next one when it closes: the reader of each part file of an export of
// many would otherwise fault fresh pages in for its own (in 64 parts of
// the bench file, 1.14 times the time of the single file against 0.92
// with them kept).
type textBuffers struct {
	vals []parquet.ByteArray
	defs []int16
	offs []int
	cuts []textCut
}

var textPool = sync.Pool{New: func() any {
	return &textBuffers{vals: make([]parquet.ByteArray, parquetTextValues), defs: make([]int16, parquetTextValues), offs: []int{0}}
}}

// textCut is a value of a batch cut to keepBytes: its row in the batch and
// its size.
type textCut struct {
	row  int
	size int64
}

// isTextType reports whether pqarrow reads a column of type dt as text that
// textReader reads the same: string or binary, plain, large or
// dictionary-encoded (not a view, nor an extension type).
func isTextType(dt arrow.DataType) bool {
	if t, ok := dt.(*arrow.DictionaryType); ok {
		dt = t.ValueType
	}
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	}
	return false
}

// newTextReader returns the reader of the column whose leaf is column leaf
// of the file and which pqarrow types dt, or nil when the column is not
// one textReader reads.
func newTextReader(pf *file.Reader, leaf int, dt arrow.DataType) *textReader {
	if !parquetLowLevelText || !isTextType(dt) {
		return nil
	}
	descr := pf.MetaData().Schema.Column(leaf)
	if descr.PhysicalType() != parquet.Types.ByteArray || descr.MaxRepetitionLevel() != 0 ||
		descr.MaxDefinitionLevel() < 0 || descr.MaxDefinitionLevel() > 1 {
		return nil
	}
	b := textPool.Get().(*textBuffers)
	t := &textReader{pf: pf, leaf: leaf, maxDef: descr.MaxDefinitionLevel(), bufs: b,
		vals: b.vals, offs: b.offs[:1], cuts: b.cuts}
	if t.maxDef > 0 {
		t.defs = b.defs
	}
	return t
}

// rows is how many rows the current batch holds.
func (t *textReader) rows() int { return len(t.offs) - 1 }

// writer returns the cellWriter of the current batch (for a text column
// read as an Options.Extra; a field's record points into the batch, see
// cell).
func (t *textReader) writer() cellWriter {
	return func(buf []byte, i int) ([]byte, cellCut) {
		s, cut := t.cell(i)
		return append(buf, s...), cut
	}
}

// cell returns the kept text of row i of the batch, pointing into the
// batch's own memory, and whether it was cut. (parquetReader.nextInto
// does the same for a batch with no value cut, inline.)
func (t *textReader) cell(i int) (string, cellCut) {
	start, end := t.offs[i], t.offs[i+1]
	var cut cellCut
	if len(t.cuts) > 0 {
		if k, ok := slices.BinarySearchFunc(t.cuts, i, func(c textCut, i int) int { return c.row - i }); ok {
			cut.size = t.cuts[k].size
		}
	}
	if start == end {
		return "", cut
	}
	return unsafe.String(&t.text[start], end-start), cut
}

// readBatch reads the next want rows, or fewer at the end of the file, and
// checks them against the statistics when check is set: the first value
// outside them is t.bad. first is the 0-based row of the batch's first row
// in the file.
func (t *textReader) readBatch(want int, first int64, check bool) error {
	// New memory for the text: records made from the last batch may point
	// into its own.
	t.text = make([]byte, 0, cap(t.text))
	t.offs, t.cuts, t.bad = t.offs[:1], t.cuts[:0], nil
	for t.rows() < want {
		if t.cr == nil {
			if t.rg >= t.pf.NumRowGroups() {
				return nil
			}
			if err := t.open(); err != nil {
				return t.rgErr(err)
			}
		}
		var bounds *statsBounds
		if check && t.stats != nil && t.rg < len(t.stats.bounds) {
			if b := t.stats.bounds[t.rg]; b != nil && b.kind == statsBytes {
				bounds = b
			}
		}
		n, err := t.read(want-t.rows(), bounds, first)
		if err != nil {
			return t.rgErr(err)
		}
		if n > 0 {
			continue
		}
		// The end of the column chunk.
		if t.rgSeen != t.rgRows {
			return t.rgErr(fmt.Errorf("the column chunk has %d rows, the metadata declares %d", t.rgSeen, t.rgRows))
		}
		err = t.cr.Close()
		t.cr = nil
		if err != nil {
			return t.rgErr(err)
		}
		t.rg++
	}
	return nil
}

func (t *textReader) rgErr(err error) error {
	return fmt.Errorf("row group %d of %d: %w", t.rg+1, t.pf.NumRowGroups(), err)
}

// open opens the column chunk of row group t.rg.
func (t *textReader) open() error {
	rg := t.pf.RowGroup(t.rg)
	t.rgRows, t.rgSeen = rg.NumRows(), 0
	cr, err := rg.Column(t.leaf)
	if err != nil {
		return err
	}
	bcr, ok := cr.(*file.ByteArrayColumnChunkReader)
	if !ok {
		cr.Close()
		return fmt.Errorf("unexpected column reader %T", cr)
	}
	t.cr = bcr
	return nil
}

// read decodes at most n rows from the current page of the column chunk
// and appends their kept bytes to the batch; it returns how many rows, 0 at
// the end of the chunk. bounds, when not nil, are the statistics the values
// must be within.
func (t *textReader) read(n int, bounds *statsBounds, first int64) (int, error) {
	// ReadBatchInPage reads within one page and leaves the values in
	// arrow's page (or dictionary) buffers, which the next read reuses:
	// they are copied, at most keepBytes each, before it. (ReadBatch would
	// copy every value whole, and loops until it has the rows asked for,
	// which never ends on a page whose levels decode to nothing.)
	var defs []int16
	if t.maxDef > 0 {
		defs = t.defs
	}
	lv, nv, err := t.cr.ReadBatchInPage(int64(min(n, len(t.vals))), t.vals, defs, nil)
	if err != nil {
		return 0, err
	}
	if lv == 0 {
		if err := t.cr.Err(); err != nil {
			return 0, err
		}
		if t.cr.HasNext() {
			return 0, errors.New("a page's levels decode to nothing")
		}
		return 0, nil
	}
	if lv > int64(n) || nv > int(lv) {
		return 0, fmt.Errorf("a page decodes to %d values and %d levels, %d asked for", nv, lv, n)
	}
	t.rgSeen += lv
	if t.rgSeen > t.rgRows {
		return 0, fmt.Errorf("the column chunk has more rows than the %d the metadata declares", t.rgRows)
	}
	vals := t.vals[:nv]
	if t.maxDef == 0 {
		if int64(nv) != lv {
			return 0, fmt.Errorf("a page decodes to %d values of %d rows", nv, lv)
		}
		for _, v := range vals {
			t.add(v, bounds, first)
		}
		return int(lv), nil
	}
	k := 0
	for _, d := range t.defs[:lv] {
		switch {
		case d == t.maxDef:
			if k >= len(vals) {
				return 0, fmt.Errorf("a page decodes to fewer values (%d) than its definition levels declare", nv)
			}
			t.add(vals[k], bounds, first)
			k++
		case d >= 0 && d < t.maxDef:
			t.offs = append(t.offs, len(t.text)) // a null
		default:
			return 0, fmt.Errorf("invalid definition level %d (the maximum is %d)", d, t.maxDef)
		}
	}
	if k != len(vals) {
		return 0, fmt.Errorf("a page decodes to more values (%d) than its definition levels declare (%d)", nv, k)
	}
	return int(lv), nil
}

// add appends the next row, of value v: at most keepBytes of it, as
// appendKept does. bounds, when not nil, are the statistics v must be
// within; the whole value is compared, as the check of an arrow array does.
func (t *textReader) add(v parquet.ByteArray, bounds *statsBounds, first int64) {
	row := t.rows()
	if len(v) <= keepBytes {
		t.text = append(t.text, v...)
	} else {
		t.text = append(t.text, v[:keepBytes]...)
		t.cuts = append(t.cuts, textCut{row: row, size: int64(len(v))})
	}
	t.offs = append(t.offs, len(t.text))
	if bounds != nil && t.bad == nil && len(v) > 0 {
		if k := prefixKey(v); k > bounds.loKey && k < bounds.hiKey {
			return
		}
		if string(v) < bounds.blo || string(v) > bounds.bhi {
			t.bad = &statsError{row: first + int64(row) + 1, bounds: bounds, value: string(t.text[t.offs[row]:])}
		}
	}
}

// close releases the column chunk being read, and gives the reader's
// memory to the next one: no record points into it (the record's strings
// are copies) and no cellWriter of it is used after.
func (t *textReader) close() {
	if t.cr != nil {
		t.cr.Close()
		t.cr = nil
	}
	if b := t.bufs; b != nil {
		clear(t.vals) // they point into arrow's buffers
		b.offs, b.cuts = t.offs[:1], t.cuts[:0]
		t.bufs, t.vals, t.defs, t.text, t.offs, t.cuts = nil, nil, nil, nil, nil, nil
		textPool.Put(b)
	}
}
