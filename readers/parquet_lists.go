package readers

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// List columns (set_mark and clear_mark as lists of integers) are not read
// through pqarrow: it materialises every row of a batch whole, so one row
// whose list has 60 million elements (a few kilobytes of RLE-encoded file)
// takes over a gigabyte. listReader reads the leaf column with arrow's
// low-level column chunk readers instead, a fixed number of levels at a
// time, and assembles each row from its repetition and definition levels,
// keeping at most keepListElements elements (and keepBytes of text) and
// only counting the rest.
//
// Every list layout arrow accepts has one repeated node on the path to the
// leaf (max repetition level 1): the 3-level LIST, the 2-level legacy
// `group (LIST) { repeated int32 element }`, the bare `repeated int32
// set_mark`, Hive's `repeated group bag { optional int32 array_element }`;
// arrow's large and fixed-size lists are written as the 3-level LIST. With R
// the definition level of the repeated node, a level with
//
//	def >= R   is an element: a value when def is the maximum, else a null element ("null")
//	def == R-1 is an empty list, "[]"
//	def <  R-1 is a null list, "" (a null ancestor, when the list is nullable)
//
// and repetition level 0 starts a row (1 continues its list).

// parquetListLevels is how many levels (and at most values) a list column
// decodes at a time: its memory is this many levels and values, whatever
// the lists hold.
const parquetListLevels = 8192

// listReader reads one list column a batch of rows at a time, in step with
// the other columns: it yields exactly the rows asked for, however the
// lists fall across pages, level chunks and row groups.
type listReader struct {
	pf      *file.Reader
	leaf    int   // the leaf column's index in the file schema
	maxDef  int16 // definition level of a present value
	elemDef int16 // R, the definition level of the repeated node
	phys    parquet.Type
	elem    func(buf []byte, v int64) []byte // appends one element, as pqarrow types it

	// The column chunk being read.
	rg     int // its row group; the next one to open when cr is nil
	cr     file.ColumnChunkReader
	rgRows int64 // rows the metadata declares for row group rg
	rgSeen int64 // rows of row group rg started so far

	// Levels decoded and not yet consumed are defs[pos:n], reps[pos:n]; the
	// values of their defined elements are vals[vpos:nv].
	defs, reps []int16
	vals       []int64
	vals32     []int32
	pos, n     int
	vpos, nv   int

	// The row being assembled.
	inRow  bool
	isList bool  // not a null list
	elems  int64 // its elements so far
	start  int   // where its text starts in text

	// The batch: the text of row i is text[ends[i-1]:ends[i]].
	text []byte
	ends []int
	cuts []cellCut
}

// newListReader returns the reader of the list column whose leaf is column
// leaf of the file, with elements of arrow type elem (an integer type, as
// checkParquetType ensures).
func newListReader(pf *file.Reader, leaf int, elem arrow.DataType) (*listReader, error) {
	descr := pf.MetaData().Schema.Column(leaf)
	if descr.MaxRepetitionLevel() != 1 {
		return nil, fmt.Errorf("unsupported Parquet schema: a list nested %d deep", descr.MaxRepetitionLevel())
	}
	l := &listReader{pf: pf, leaf: leaf, maxDef: descr.MaxDefinitionLevel(), phys: descr.PhysicalType()}
	var ok bool
	if l.elemDef, ok = repeatedDefLevel(descr); !ok {
		return nil, errors.New("unsupported Parquet schema: no repeated node above the list's values")
	}
	switch l.phys {
	case parquet.Types.Int32:
		l.vals32 = make([]int32, parquetListLevels)
	case parquet.Types.Int64:
	default:
		return nil, fmt.Errorf("unsupported Parquet schema: list elements of physical type %s", l.phys)
	}
	if l.elem = elemAppender(elem); l.elem == nil {
		return nil, fmt.Errorf("unexpected list element type %s", elem)
	}
	l.defs = make([]int16, parquetListLevels)
	l.reps = make([]int16, parquetListLevels)
	l.vals = make([]int64, parquetListLevels)
	return l, nil
}

// repeatedDefLevel returns the definition level of the one repeated node on
// the path from the schema root to the leaf descr: each optional or
// repeated node on the path adds one.
func repeatedDefLevel(descr *schema.Column) (int16, bool) {
	var path []schema.Node
	for n := descr.SchemaNode(); n != nil && n.Parent() != nil; n = n.Parent() {
		path = append(path, n)
	}
	var def int16
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i].RepetitionType() {
		case parquet.Repetitions.Optional:
			def++
		case parquet.Repetitions.Repeated:
			return def + 1, true
		}
	}
	return 0, false
}

// elemAppender returns the appender of elements of arrow type dt, converting
// the physical value as pqarrow does (a Go conversion: UINT_8 stored as
// INT32 prints as uint8(v), UINT_64 as uint64(v)). An INT32 value is passed
// sign-extended to int64, which converts to every type as the int32 would.
func elemAppender(dt arrow.DataType) func([]byte, int64) []byte {
	switch dt.ID() {
	case arrow.INT8:
		return func(b []byte, v int64) []byte { return strconv.AppendInt(b, int64(int8(v)), 10) }
	case arrow.INT16:
		return func(b []byte, v int64) []byte { return strconv.AppendInt(b, int64(int16(v)), 10) }
	case arrow.INT32:
		return func(b []byte, v int64) []byte { return strconv.AppendInt(b, int64(int32(v)), 10) }
	case arrow.INT64:
		return func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
	case arrow.UINT8:
		return func(b []byte, v int64) []byte { return strconv.AppendUint(b, uint64(uint8(v)), 10) }
	case arrow.UINT16:
		return func(b []byte, v int64) []byte { return strconv.AppendUint(b, uint64(uint16(v)), 10) }
	case arrow.UINT32:
		return func(b []byte, v int64) []byte { return strconv.AppendUint(b, uint64(uint32(v)), 10) }
	case arrow.UINT64:
		return func(b []byte, v int64) []byte { return strconv.AppendUint(b, uint64(v), 10) }
	}
	return nil
}

// rows is how many rows the current batch holds.
func (l *listReader) rows() int { return len(l.ends) }

// writer returns the cellWriter of the current batch.
func (l *listReader) writer() cellWriter {
	return func(buf []byte, i int) ([]byte, cellCut) {
		start := 0
		if i > 0 {
			start = l.ends[i-1]
		}
		return append(buf, l.text[start:l.ends[i]]...), l.cuts[i]
	}
}

// readBatch assembles the next want rows, or fewer at the end of the file.
func (l *listReader) readBatch(want int) error {
	l.text, l.ends, l.cuts = l.text[:0], l.ends[:0], l.cuts[:0]
	for len(l.ends) < want {
		if l.pos == l.n {
			more, err := l.fill()
			if err != nil {
				return fmt.Errorf("row group %d of %d: %w", l.rg+1, l.pf.NumRowGroups(), err)
			}
			if !more {
				break
			}
			continue
		}
		if err := l.consume(want); err != nil {
			return fmt.Errorf("row group %d of %d: %w", l.rg+1, l.pf.NumRowGroups(), err)
		}
	}
	return nil
}

var errListLevels = errors.New("invalid list levels")

// consume assembles rows from the buffered levels until they run out or
// want rows are complete. A row is complete when the next one starts (or
// its column chunk ends, see fill), so the level that starts the row after
// the batch stays buffered for the next batch.
func (l *listReader) consume(want int) error {
	defs, reps := l.defs[:l.n], l.reps[:l.n]
	for k := l.pos; k < len(defs); k++ {
		d, r := defs[k], reps[k]
		if d > l.maxDef || r > 1 || d < 0 || r < 0 {
			return fmt.Errorf("%w: definition level %d, repetition level %d (the maximums are %d and 1)", errListLevels, d, r, l.maxDef)
		}
		if r == 0 {
			if l.inRow {
				l.finishRow()
				if len(l.ends) == want {
					l.pos = k
					return nil
				}
			}
			if err := l.startRow(d); err != nil {
				return err
			}
			if d < l.elemDef {
				continue // a null or empty list
			}
		} else if !l.inRow || d < l.elemDef {
			return fmt.Errorf("%w: repetition level 1 with definition level %d, outside a list", errListLevels, d)
		}
		l.elems++
		keep := l.elems <= keepListElements
		if keep && l.elems > 1 {
			l.text = append(l.text, ',')
		}
		if d == l.maxDef {
			if l.vpos >= l.nv {
				return fmt.Errorf("a page decodes to fewer values (%d) than its definition levels declare", l.nv)
			}
			if keep {
				l.text = l.elem(l.text, l.vals[l.vpos])
			}
			l.vpos++
		} else if keep {
			l.text = append(l.text, "null"...)
		}
	}
	l.pos = len(defs)
	return nil
}

func (l *listReader) startRow(d int16) error {
	l.rgSeen++
	if l.rgSeen > l.rgRows {
		return fmt.Errorf("the column chunk has more rows than the %d the metadata declares", l.rgRows)
	}
	l.inRow, l.elems, l.start = true, 0, len(l.text)
	l.isList = d >= l.elemDef-1
	if l.isList {
		l.text = append(l.text, '[')
	}
	return nil
}

// finishRow ends the row being assembled. A list of more than
// keepListElements elements keeps the first ones without the closing
// bracket (it is the start of the list's text), and any row's text keeps at
// most keepBytes.
func (l *listReader) finishRow() {
	var cut cellCut
	if l.elems > keepListElements {
		cut.elems = l.elems
	} else if l.isList {
		l.text = append(l.text, ']')
	}
	if n := len(l.text) - l.start; n > keepBytes {
		if cut.elems == 0 {
			cut.size = int64(n)
		}
		l.text = l.text[:l.start+keepBytes]
	}
	l.ends = append(l.ends, len(l.text))
	l.cuts = append(l.cuts, cut)
	l.inRow = false
}

// fill decodes the next levels of the column, moving on to the next row
// group at the end of a column chunk (which also ends the row being
// assembled: rows do not span row groups). It reports false at the end of
// the column.
func (l *listReader) fill() (bool, error) {
	for {
		if l.cr == nil {
			if l.rg >= l.pf.NumRowGroups() {
				return false, nil
			}
			rg := l.pf.RowGroup(l.rg)
			l.rgRows, l.rgSeen = rg.NumRows(), 0
			cr, err := rg.Column(l.leaf)
			if err != nil {
				return false, err
			}
			l.cr = cr
		}
		n, err := l.readLevels()
		if err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
		// The end of the column chunk.
		if l.inRow {
			l.finishRow()
		}
		if l.rgSeen != l.rgRows {
			return false, fmt.Errorf("the column chunk has %d rows, the metadata declares %d", l.rgSeen, l.rgRows)
		}
		err = l.cr.Close()
		l.cr = nil
		if err != nil {
			return false, err
		}
		l.rg++
	}
}

// readLevels decodes up to parquetListLevels levels (and their values)
// from the current column chunk into the buffers and returns how many; 0
// at the end of the chunk.
func (l *listReader) readLevels() (int, error) {
	if l.vpos != l.nv {
		return 0, fmt.Errorf("a page decodes to more values (%d) than its definition levels declare (%d)", l.nv, l.vpos)
	}
	total, nvals := 0, 0
	for total < len(l.defs) {
		// ReadBatchInPage reads within one page, so each call makes
		// progress or is at the end of the chunk; arrow's ReadBatch loops
		// until it has the levels asked for, which never ends on a page
		// whose levels decode to nothing.
		var lv int64
		var nv int
		var err error
		batch := int64(len(l.defs) - total)
		switch cr := l.cr.(type) {
		case *file.Int32ColumnChunkReader:
			lv, nv, err = cr.ReadBatchInPage(batch, l.vals32[nvals:], l.defs[total:], l.reps[total:])
		case *file.Int64ColumnChunkReader:
			lv, nv, err = cr.ReadBatchInPage(batch, l.vals[nvals:], l.defs[total:], l.reps[total:])
		default:
			return 0, fmt.Errorf("unexpected column reader %T", l.cr)
		}
		if err != nil {
			return 0, err
		}
		if lv == 0 {
			if err := l.cr.Err(); err != nil {
				return 0, err
			}
			if l.cr.HasNext() {
				return 0, errors.New("a page's levels decode to nothing")
			}
			break
		}
		total += int(lv)
		nvals += nv
	}
	if l.phys == parquet.Types.Int32 {
		for i, v := range l.vals32[:nvals] {
			l.vals[i] = int64(v)
		}
	}
	l.pos, l.n, l.vpos, l.nv = 0, total, 0, nvals
	return total, nil
}

// close releases the column chunk being read.
func (l *listReader) close() {
	if l.cr != nil {
		l.cr.Close()
		l.cr = nil
	}
}
