package readers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetBatchRows is how many rows are decoded at a time. Memory is bounded
// by one batch of the needed columns (plus the page being decoded in each),
// whatever the size of the file or of its row groups.
const parquetBatchRows = 16 * 1024

// parquetBufferSize is the read buffer of each column chunk stream; column
// chunks are streamed, never loaded whole.
const parquetBufferSize = 256 * 1024

var parquetMagic = []byte("PAR1")

// parquetReader streams the records of a Parquet file: it decodes a batch
// of rows of the known columns (each column in its own goroutine: decoding
// is most of the work), then turns the batch into records one at a time.
type parquetReader struct {
	path   string
	pf     *file.Reader
	pool   *bufferPool
	cols   []*pqarrow.ColumnReader // one per known column present, in file order
	fields [NumFields]int          // index in cols of each field, or -1
	total  int64                   // rows according to the file's metadata

	arrs    []arrow.Array // the current batch, one array per column
	writers [NumFields]cellWriter
	next    int   // next row of the batch
	size    int   // rows in the batch
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
	if path == "-" {
		return nil, &InputError{Path: path, Err: errors.New("Parquet cannot be read from standard input: its footer is at the end, so it needs a file")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{Path: path, Err: err}
	}
	var pr *parquetReader
	defer func() {
		// arrow panics on some malformed input; a bad file must be an
		// input error, not a crash.
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

	pool := &bufferPool{}
	props := parquet.NewReaderProperties(pool)
	props.BufferedStreamEnabled = true
	props.BufferSize = parquetBufferSize
	pf, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %w", err)}
	}
	DropArrowSchema(pf)
	pr = &parquetReader{path: path, pf: pf, pool: pool, total: pf.NumRows()}
	if pr.total < 0 {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: metadata claims %d rows", pr.total)}
	}

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, pool)
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

	// Read only the known columns, after checking their types.
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
	// The field readers come back in the order of the leaves asked for,
	// which is the order of wanted.
	var leaves []int
	for _, i := range wanted {
		leaves = appendLeaves(leaves, &fr.Manifest.Fields[i])
	}
	if len(leaves) != len(wanted) {
		// Every accepted type is a primitive or a list of primitives:
		// exactly one leaf each.
		return nil, &InputError{Path: path, Err: errors.New("unsupported Parquet schema: a known column has nested fields")}
	}
	rowGroups := make([]int, pf.NumRowGroups())
	for i := range rowGroups {
		rowGroups[i] = i
	}
	pr.cols, _, err = fr.GetFieldReaders(context.Background(), leaves, rowGroups)
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %w", err)}
	}
	if len(pr.cols) != len(wanted) {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %d column readers for %d columns", len(pr.cols), len(wanted))}
	}
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

// DropArrowSchema removes the arrow schema that arrow-based writers
// (pyarrow, arrow-go, DuckDB) store in the footer, and reports whether
// there was one. It only picks arrow container types for the same values
// (large_string for string, dictionary for a dictionary-encoded column),
// which make no difference to the text read here; and decoding it trusts
// its flatbuffer, so a damaged one can exhaust memory, which no recover
// catches.
func DropArrowSchema(pf *file.Reader) bool {
	md := pf.MetaData()
	if md == nil || md.FileMetaData == nil {
		return false
	}
	kv := md.FileMetaData.KeyValueMetadata
	kept := kv[:0:0]
	for _, e := range kv {
		if e != nil && e.Key != "ARROW:schema" {
			kept = append(kept, e)
		}
	}
	md.FileMetaData.KeyValueMetadata = kept
	return len(kept) != len(kv)
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
	if p.next >= p.size {
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
	// batch, whose buffers are reused for the next one.
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
	for c, a := range p.arrs {
		if int64(a.Len()) != want {
			return fmt.Errorf("corrupt Parquet file: column %s has %d values at row %d, want %d (the metadata declares %d rows)",
				p.fieldOf(c), a.Len(), p.row+1, want, p.total)
		}
	}
	for f, c := range p.fields {
		if c < 0 {
			continue
		}
		w, err := newCellWriter(p.arrs[c])
		if err != nil {
			return fmt.Errorf("column %s: %w", Field(f), err)
		}
		p.writers[f] = w
	}
	p.next, p.size = 0, int(want)
	return nil
}

// readColumns decodes want rows of every column into p.arrs, the columns
// in parallel.
func (p *parquetReader) readColumns(want int64) error {
	p.arrs = slices.Grow(p.arrs[:0], len(p.cols))[:len(p.cols)]
	errs := make([]error, len(p.cols))
	var wg sync.WaitGroup
	for c := 1; c < len(p.cols); c++ {
		wg.Go(func() { p.arrs[c], errs[c] = p.readColumn(c, want) })
	}
	p.arrs[0], errs[0] = p.readColumn(0, want)
	wg.Wait()
	for c, err := range errs {
		if err != nil {
			return fmt.Errorf("corrupt Parquet file: column %s: %w", p.fieldOf(c), err)
		}
	}
	return nil
}

// readColumn decodes want rows of column c as one array. It runs in its own
// goroutine, where a panic would end the process, so it recovers.
func (p *parquetReader) readColumn(c int, want int64) (arr arrow.Array, err error) {
	defer func() {
		if r := recover(); r != nil {
			if arr != nil {
				arr.Release()
			}
			arr, err = nil, fmt.Errorf("%v", r)
		}
	}()
	chunked, err := p.cols[c].NextBatch(want)
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

// fieldOf names the field read from column c.
func (p *parquetReader) fieldOf(c int) Field {
	for f, i := range p.fields {
		if i == c {
			return Field(f)
		}
	}
	return NumFields
}

func (p *parquetReader) releaseBatch() {
	for i, a := range p.arrs {
		if a != nil {
			a.Release()
			p.arrs[i] = nil
		}
	}
	p.writers = [NumFields]cellWriter{}
	p.next, p.size = 0, 0
}

func (p *parquetReader) fail(err error) {
	p.err = &InputError{Path: p.path, Row: p.row + 1, Err: err}
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
			if c != nil {
				c.Release()
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
	p.pf = nil
	return err
}

var _ Reader = (*parquetReader)(nil)
