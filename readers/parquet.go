package readers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetBatchRows is how many rows are decoded at a time. Memory is bounded
// by one batch of the needed columns (plus one page per column being
// decoded), whatever the size of the file or of its row groups.
const parquetBatchRows = 16 * 1024

// parquetBufferSize is the read buffer of each column chunk stream; column
// chunks are streamed, never loaded whole.
const parquetBufferSize = 256 * 1024

var parquetMagic = []byte("PAR1")

// parquetReader streams the records of a Parquet file, one record batch at
// a time, reading only the known columns.
type parquetReader struct {
	path   string
	pf     *file.Reader
	rr     pqarrow.RecordReader // nil when the file has no rows
	fields [NumFields]int       // batch column of each known field, or -1
	total  int64                // rows according to the file's metadata

	batch   arrow.RecordBatch
	writers [NumFields]cellWriter
	next    int   // next row of batch
	size    int   // rows in batch
	row     int64 // rows returned so far
	buf     []byte
	err     error // sticky: once the file fails it stays failed
}

// OpenParquet opens a Parquet file and returns a reader of its records. Row
// is the 1-based record index across all row groups. Columns are matched by
// their top-level names as for CSV; a known column of a type that cannot
// hold its values (for example from_account as a double) is an
// *InputError before any row is read, as are files that are not Parquet,
// truncated or corrupt.
func OpenParquet(path string, opts Options) (r Reader, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{Path: path, Err: err}
	}
	var pr *parquetReader
	defer func() {
		if p := recover(); p != nil {
			err = &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %v", p)}
		}
		if err != nil {
			r = nil
			if pr != nil {
				pr.release()
			}
			f.Close()
		}
	}()
	if err := checkParquetFraming(f); err != nil {
		return nil, &InputError{Path: path, Err: err}
	}

	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.BufferSize = parquetBufferSize
	pf, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %w", err)}
	}
	pr = &parquetReader{path: path, pf: pf, total: pf.NumRows()}
	if pr.total < 0 {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: metadata claims %d rows", pr.total)}
	}

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, memory.DefaultAllocator)
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("unsupported Parquet schema: %w", err)}
	}
	header := make([]string, len(fr.Manifest.Fields))
	for i, sf := range fr.Manifest.Fields {
		header[i] = sf.Field.Name
	}
	idx, err := columnIndex(path, header, opts)
	if err != nil {
		return nil, err
	}

	// Read only the leaves of the known columns. The record reader returns
	// the columns in the order of the leaves asked for, which here is the
	// order of the columns in the file.
	var wanted []int
	for f, i := range idx {
		if i < 0 {
			continue
		}
		sf := fr.Manifest.Fields[i]
		if err := checkParquetType(Field(f), sf.Field.Type); err != nil {
			col := Field(f).String()
			if header[i] != col {
				err = fmt.Errorf("column %q: %w", header[i], err)
			}
			return nil, &InputError{Path: path, Column: col, Err: err}
		}
		wanted = append(wanted, i)
	}
	slices.Sort(wanted)
	for f := range pr.fields {
		pr.fields[f] = -1
		if idx[f] >= 0 {
			pr.fields[f] = slices.Index(wanted, idx[f])
		}
	}
	if pr.total == 0 {
		return pr, nil
	}
	var leaves []int
	for _, i := range wanted {
		leaves = appendLeaves(leaves, &fr.Manifest.Fields[i])
	}
	if len(leaves) != len(wanted) {
		// Every accepted type is a primitive or a list of primitives:
		// exactly one leaf each.
		return nil, &InputError{Path: path, Err: errors.New("unsupported Parquet schema: a known column has nested fields")}
	}
	rr, err := fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %w", err)}
	}
	pr.rr = rr
	return pr, nil
}

// checkParquetFraming gives the common ways of not being a Parquet file a
// clear message before the footer is decoded.
func checkParquetFraming(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return errors.New("empty file: not a Parquet file")
	}
	head := make([]byte, 4)
	if _, err := f.ReadAt(head, 0); err != nil && err != io.EOF {
		return err
	}
	if !bytes.Equal(head, parquetMagic) {
		return errors.New("not a Parquet file: it does not start with PAR1 (for CSV, name it .csv or use --format csv)")
	}
	tail := make([]byte, 4)
	if size >= 12 {
		if _, err := f.ReadAt(tail, size-4); err != nil && err != io.EOF {
			return err
		}
	}
	if size < 12 || !bytes.Equal(tail, parquetMagic) {
		return fmt.Errorf("truncated or corrupt Parquet file: no PAR1 footer at the end of its %d bytes", size)
	}
	return nil
}

// appendLeaves appends the leaf column indices under sf.
func appendLeaves(dst []int, sf *pqarrow.SchemaField) []int {
	if sf.IsLeaf() {
		return append(dst, sf.ColIndex)
	}
	for i := range sf.Children {
		dst = appendLeaves(dst, &sf.Children[i])
	}
	return dst
}

// Next returns the next record, or io.EOF after the last one.
func (p *parquetReader) Next() (rec Record, err error) {
	if p.err != nil {
		return Record{}, p.err
	}
	defer func() {
		if r := recover(); r != nil {
			p.fail(fmt.Errorf("corrupt Parquet file: %v", r))
			rec, err = Record{}, p.err
		}
	}()
	for p.next >= p.size {
		if err := p.load(); err != nil {
			if err != io.EOF {
				p.fail(err)
				return Record{}, p.err
			}
			return Record{}, io.EOF
		}
	}
	i := p.next
	p.next++
	p.row++

	// One allocation per record: every field is appended to buf, copied
	// into one string, and sliced. The record must not point into the
	// batch, whose buffers are released when the next batch is read.
	var ends [NumFields]int
	buf := p.buf[:0]
	for f, w := range p.writers {
		if w != nil {
			buf = w(buf, i)
		}
		ends[f] = len(buf)
	}
	p.buf = buf
	rec.Row = p.row
	if len(buf) == 0 {
		return rec, nil
	}
	s := string(buf)
	start := 0
	for f, end := range ends {
		rec.Fields[f] = s[start:end]
		start = end
	}
	return rec, nil
}

// load reads the next record batch, or returns io.EOF.
func (p *parquetReader) load() error {
	if p.batch != nil {
		p.batch = nil // owned by the record reader, which releases it
		p.writers = [NumFields]cellWriter{}
	}
	if p.rr == nil || p.row >= p.total {
		if p.row < p.total {
			return fmt.Errorf("corrupt Parquet file: it ended after %d of the %d rows its metadata declares", p.row, p.total)
		}
		return io.EOF
	}
	if !p.rr.Next() {
		err := p.rr.Err()
		if err == nil {
			err = fmt.Errorf("it ended after %d of the %d rows its metadata declares", p.row, p.total)
		}
		return fmt.Errorf("corrupt Parquet file: %w", err)
	}
	batch := p.rr.RecordBatch()
	for f, c := range p.fields {
		if c < 0 {
			continue
		}
		w, err := newCellWriter(batch.Column(c))
		if err != nil {
			return fmt.Errorf("column %s: %w", Field(f), err)
		}
		p.writers[f] = w
	}
	p.batch = batch
	p.next = 0
	p.size = int(batch.NumRows())
	if p.size == 0 {
		return fmt.Errorf("corrupt Parquet file: empty record batch after %d of the %d rows its metadata declares", p.row, p.total)
	}
	if p.row+int64(p.size) > p.total {
		return fmt.Errorf("corrupt Parquet file: more rows than the %d its metadata declares", p.total)
	}
	return nil
}

func (p *parquetReader) fail(err error) {
	p.err = &InputError{Path: p.path, Row: p.row + 1, Err: err}
	p.batch = nil
	p.writers = [NumFields]cellWriter{}
	p.next, p.size = 0, 0
}

// release frees the decoding state; the file itself is closed by Close.
func (p *parquetReader) release() {
	if p.rr != nil {
		func() {
			defer func() { recover() }()
			p.rr.Release()
		}()
		p.rr = nil
	}
}

// Close releases the reader and closes the file.
func (p *parquetReader) Close() error {
	p.release()
	p.batch = nil
	if p.err == nil {
		p.err = &InputError{Path: p.path, Err: errors.New("reader is closed")}
	}
	if p.pf == nil {
		return nil
	}
	err := p.pf.Close()
	p.pf = nil
	return err
}

var _ Reader = (*parquetReader)(nil)
