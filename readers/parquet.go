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
// whatever the size of the file or of its row groups; of a list column, a
// batch holds at most keepBytes of text a row however long its lists are
// (parquet_lists.go).
const parquetBatchRows = 16 * 1024

// parquetBufferSize is the read buffer of each column chunk stream; column
// chunks are streamed, never loaded whole.
const parquetBufferSize = 256 * 1024

var (
	parquetMagic          = []byte("PAR1")
	parquetMagicEncrypted = []byte("PARE")
)

// parquetReader streams the records of a Parquet file: it decodes a batch
// of rows of the known columns (each column in its own goroutine: decoding
// is most of the work), then turns the batch into records one at a time.
type parquetReader struct {
	path   string
	pf     *file.Reader
	pool   *bufferPool
	cols   []*parquetColumn // one per known column present, in file order
	fields [NumFields]int   // index in cols of each field, or -1
	total  int64            // rows according to the file's metadata

	pathFields pathFields // the fields the file's folder names give

	writers [NumFields]cellWriter
	next    int   // next row of the batch
	size    int   // rows in the batch
	row     int64 // rows returned so far
	buf     []byte
	err     error // sticky: once the file fails it stays failed
}

// parquetColumn is one known column of the file and its current batch.
// Text and integer columns are read through pqarrow; list columns with
// listReader, in bounded memory.
type parquetColumn struct {
	field Field
	arrow *pqarrow.ColumnReader
	list  *listReader
	stats *statsCheck // for id columns with statistics to trust, or nil
	arr   arrow.Array // the batch of an arrow column
	bad   *statsError // the first value of the batch outside the statistics
}

// openParquet opens a Parquet file and returns a reader of its records. Row
// is the 1-based record index across all row groups. Columns are matched by
// their top-level names as for CSV; a known column of a type that cannot
// hold its values (for example from_account as a double) is an
// *InputError before any row is read, as are files that are not Parquet,
// truncated or corrupt.
func openParquet(path string, opts Options) (r Reader, err error) {
	if path == "-" {
		return nil, &InputError{Path: path, Err: errors.New("Parquet cannot be read from standard input: its footer is at the end, so it needs a file")}
	}
	// Refuse pipes and devices before opening: opening a FIFO blocks until
	// something writes to it, and none can be read from its end anyway.
	if err := checkRegularFile(path); err != nil {
		return nil, &InputError{Path: path, Err: err}
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

	pool := opts.pool
	if pool == nil {
		pool = &bufferPool{}
	}
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
	idx, pathFields, err := resolveColumns(path, header, opts)
	if err != nil {
		return nil, err
	}
	pr.pathFields = pathFields

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
	// pqarrow's field readers come back in the order of the leaves asked
	// for, which is the order of wanted.
	var leaves []int
	var arrowCols []*parquetColumn
	for _, i := range wanted {
		sf := &fr.Manifest.Fields[i]
		f := Field(slices.Index(idx[:], i))
		col := &parquetColumn{field: f}
		pr.cols = append(pr.cols, col)
		leaf := appendLeaves(nil, sf)
		if len(leaf) != 1 {
			// Every accepted type is a primitive or a list of primitives:
			// exactly one leaf each.
			return nil, &InputError{Path: path, Column: f.String(), Err: errors.New("unsupported Parquet schema: a known column has nested fields")}
		}
		if elem, ok := listElem(sf.Field.Type); ok {
			if col.list, err = newListReader(pf, leaf[0], elem); err != nil {
				return nil, &InputError{Path: path, Column: f.String(), Err: err}
			}
			continue
		}
		switch f {
		case FromAccount, ToAccount, ToGroupID:
			col.stats = newStatsCheck(pf, leaf[0], sf.Field.Type)
		}
		leaves = append(leaves, leaf[0])
		arrowCols = append(arrowCols, col)
	}
	if len(leaves) == 0 {
		return pr, nil
	}
	rowGroups := make([]int, pf.NumRowGroups())
	for i := range rowGroups {
		rowGroups[i] = i
	}
	colReaders, _, err := fr.GetFieldReaders(context.Background(), leaves, rowGroups)
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %w", err)}
	}
	if len(colReaders) != len(arrowCols) {
		for _, r := range colReaders {
			r.Release()
		}
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %d column readers for %d columns", len(colReaders), len(arrowCols))}
	}
	for c, r := range colReaders {
		arrowCols[c].arrow = r
	}
	return pr, nil
}

// checkRegularFile refuses a path that is not a regular file, naming what
// it is: Parquet's footer is at the end, so it needs a file it can seek in.
func checkRegularFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	mode := st.Mode()
	if mode.IsRegular() {
		return nil
	}
	var kind string
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&os.ModeNamedPipe != 0:
		kind = "a FIFO (named pipe)"
	case mode&os.ModeCharDevice != 0:
		kind = "a character device"
	case mode&os.ModeDevice != 0:
		kind = "a block device"
	case mode&os.ModeSocket != 0:
		kind = "a socket"
	default:
		kind = "not a regular file (mode " + mode.String() + ")"
	}
	return fmt.Errorf("Parquet needs a seekable regular file, and %s is %s: write it to a file first", path, kind)
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
	head := make([]byte, min(size, 16))
	if _, err := f.ReadAt(head, 0); err != nil && err != io.EOF {
		return err
	}
	tail := make([]byte, 4)
	if size >= 12 {
		if _, err := f.ReadAt(tail, size-4); err != nil && err != io.EOF {
			return err
		}
	}
	// A file with an encrypted footer starts and ends with PARE; arrow
	// would ask for keys, which markimport has no way to take.
	if bytes.HasPrefix(head, parquetMagicEncrypted) || bytes.Equal(tail, parquetMagicEncrypted) {
		return errors.New("encrypted Parquet (magic PARE) is not supported: export it without encryption")
	}
	if !bytes.HasPrefix(head, parquetMagic) {
		return fmt.Errorf("not a Parquet file: it starts with %s, not PAR1 (for CSV, name it .csv or use --format csv)", Quote(string(head)))
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
			start := len(buf)
			var cut cellCut
			buf, cut = w(buf, i)
			if cut != (cellCut{}) && rec.Problem == "" {
				rec.Problem, rec.ProblemColumn = cut.problem(buf[start:]), Field(f).String()
			}
		}
		ends[f] = len(buf)
	}
	p.buf = buf
	rec.Row = p.row
	if len(buf) > 0 {
		s := string(buf)
		start := 0
		for f, end := range ends {
			rec.Fields[f] = s[start:end]
			start = end
		}
	}
	p.pathFields.apply(&rec)
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
	for _, col := range p.cols {
		n := 0
		if col.list != nil {
			n = col.list.rows()
		} else {
			n = col.arr.Len()
		}
		if int64(n) != want {
			return fmt.Errorf("corrupt Parquet file: column %s has %d values at row %d, want %d (the metadata declares %d rows)",
				col.field, n, p.row+1, want, p.total)
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
		return &InputError{Path: p.path, Row: bad.bad.row, Column: bad.field.String(), Err: fmt.Errorf("corrupt Parquet file: %w", bad.bad)}
	}
	for f, c := range p.fields {
		if c < 0 {
			continue
		}
		col := p.cols[c]
		if col.list != nil {
			p.writers[f] = col.list.writer()
			continue
		}
		w, err := newCellWriter(col.arr)
		if err != nil {
			return fmt.Errorf("column %s: %w", Field(f), err)
		}
		p.writers[f] = w
	}
	p.next, p.size = 0, int(want)
	return nil
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
			return fmt.Errorf("corrupt Parquet file: column %s: %w", p.cols[c].field, err)
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
