package readers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetBatchRows is how many rows are decoded at a time. Memory is bounded
// by one batch of the needed columns (plus the page being decoded in each),
// whatever the size of the file or of its row groups; of a list column, a
// batch holds at most keepBytes of text a row however long its lists are
// (parquet_lists.go), and so does a text column read with textReader
// however long its values are (parquet_text.go). The text of a textReader's
// batch lives on with the records (and their changes) that point into it:
// those of two or three batches, while the read stage holds them.
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
	closer io.Closer // of what pf reads: the file, or the object's reads
	pool   *bufferPool
	cols   []*parquetColumn // one per known column present, in file order
	fields [NumFields]int   // index in cols of each field, or -1
	extra  []int            // index in cols of each Options.Extra
	total  int64            // rows according to the file's metadata

	pathFields pathFields // the fields the file's folder names give

	writers      [NumFields]cellWriter
	texts        [NumFields]*textReader // the fields read with a textReader: their records point into its batch
	uncut        []uncutText            // of the fields in texts, those whose batch has no value cut, in field order
	others       []Field                // the other fields present, in field order
	extraWriters []cellWriter           // of each Options.Extra
	vbuf, xbuf   []byte                 // an Extra value, and a record's Extras, being made
	next         int                    // next row of the batch
	size         int                    // rows in the batch
	row          int64                  // rows returned so far
	buf          []byte
	slab         slab  // the strings of records are carved from it
	err          error // sticky: once the file fails it stays failed
}

// uncutText is a field read with a textReader whose batch has no value
// cut: its records point into the batch, and nothing else is checked.
type uncutText struct {
	f Field
	t *textReader
}

// parquetColumn is one known column of the file and its current batch.
// The plain text columns of the known fields are read with textReader, list
// columns with listReader, in bounded memory; the others (integers, other
// types of text, the columns read only as an Options.Extra) through
// pqarrow.
type parquetColumn struct {
	field Field  // -1 for a column read only as an Options.Extra
	name  string // the field's name, or the file's column name: for messages
	arrow *pqarrow.ColumnReader
	list  *listReader
	text  *textReader
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
func openParquet(path string, opts Options) (Reader, error) {
	f, size, err := openLocalAt(path)
	if err != nil {
		return nil, err
	}
	return parquetFrom(path, f, size, f, opts)
}

// errNeedsFile is the error of a Parquet input, or one read by position,
// given as standard input.
var errNeedsFile = errors.New("Parquet cannot be read from standard input: its footer is at the end, so it needs a file")

// parquetFrom returns a reader of the records of the Parquet file of size
// bytes that ra reads (a local file, or an object by ranged reads); path
// names it in messages. closer is closed with the reader, or at once when
// the file is refused.
func parquetFrom(path string, ra io.ReaderAt, size int64, closer io.Closer, opts Options) (r Reader, err error) {
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
			closer.Close()
		}
	}()
	if err := checkParquetFraming(ra, size); err != nil {
		return nil, &InputError{Path: path, Err: err}
	}

	pool := opts.pool
	if pool == nil {
		pool = &bufferPool{}
	}
	props := parquet.NewReaderProperties(pool)
	props.BufferedStreamEnabled = true
	props.BufferSize = parquetBufferSize
	pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, size), file.WithReadProps(props))
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %w", err)}
	}
	DropArrowSchema(pf)
	pr = &parquetReader{path: path, pf: pf, closer: closer, pool: pool, total: pf.NumRows()}
	if pr.total < 0 {
		return nil, &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: metadata claims %d rows", pr.total)}
	}

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, pool)
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("unsupported Parquet schema: %w", err)}
	}
	idx, wanted, err := pr.pickColumns(fr, opts)
	if err != nil {
		return nil, err
	}
	if pr.total == 0 {
		return pr, nil
	}
	if err := pr.openColumns(fr, idx, wanted); err != nil {
		return nil, err
	}
	return pr, nil
}

// pickColumns matches the file's top-level columns to the known ones by
// name, as for CSV, and checks the type of each known column found. It
// returns the file's column of each field (-1 for none) and the columns to
// read, in file order, and sets where each field's column is among them.
func (pr *parquetReader) pickColumns(fr *pqarrow.FileReader, opts Options) (idx [NumFields]int, wanted []int, err error) {
	path := pr.path
	header := make([]string, len(fr.Manifest.Fields))
	for i, sf := range fr.Manifest.Fields {
		header[i] = sf.Field.Name
	}
	idx, pathFields, err := resolveColumns(path, header, opts)
	if err != nil {
		return idx, nil, err
	}
	pr.pathFields = pathFields

	extra, err := resolveExtra(path, header, opts)
	if err != nil {
		return idx, nil, err
	}
	// Read only the known columns and the extra ones, after checking
	// their types.
	for k, i := range extra {
		if err := checkExtraType(fr.Manifest.Fields[i].Field.Type); err != nil {
			return idx, nil, &InputError{Path: path, Column: Display(header[i]), Err: fmt.Errorf("%s: %w", opts.Extra[k].Origin, err)}
		}
		if !slices.Contains(wanted, i) {
			wanted = append(wanted, i)
		}
	}
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
			return idx, nil, &InputError{Path: path, Column: col, Err: err}
		}
		if !slices.Contains(wanted, i) {
			wanted = append(wanted, i)
		}
	}
	slices.Sort(wanted)
	pr.extra = make([]int, len(extra))
	for k, i := range extra {
		pr.extra[k] = slices.Index(wanted, i)
	}
	pr.extraWriters = make([]cellWriter, len(extra))
	for f := range pr.fields {
		pr.fields[f] = -1
		if idx[f] >= 0 {
			pr.fields[f] = slices.Index(wanted, idx[f])
		}
	}
	return idx, wanted, nil
}

// openColumns makes the reader of each column to read (wanted, the file's
// columns of the fields idx gives): a listReader for a list column, a
// textReader for a plain text column of a known field, else a pqarrow
// column reader; the id columns with a statistics check.
func (pr *parquetReader) openColumns(fr *pqarrow.FileReader, idx [NumFields]int, wanted []int) error {
	path, pf := pr.path, pr.pf
	// pqarrow's field readers come back in the order of the leaves asked
	// for, which is the order of wanted.
	var leaves []int
	var arrowCols []*parquetColumn
	for _, i := range wanted {
		sf := &fr.Manifest.Fields[i]
		f := Field(slices.Index(idx[:], i))
		col := &parquetColumn{field: f, name: Display(sf.Field.Name)}
		if f >= 0 {
			col.name = f.String()
		}
		pr.cols = append(pr.cols, col)
		leaf := appendLeaves(nil, sf)
		if len(leaf) != 1 {
			// Every accepted type is a primitive or a list of primitives:
			// exactly one leaf each.
			return &InputError{Path: path, Column: col.name, Err: errors.New("unsupported Parquet schema: a known column has nested fields")}
		}
		if elem, ok := listElem(sf.Field.Type); ok {
			var err error
			if col.list, err = newListReader(pf, leaf[0], elem); err != nil {
				return &InputError{Path: path, Column: col.name, Err: err}
			}
			continue
		}
		switch f {
		case FromAccount, ToAccount, ToGroupID:
			col.stats = newStatsCheck(pf, leaf[0], sf.Field.Type)
		}
		if f >= 0 {
			if col.text = newTextReader(pf, leaf[0], sf.Field.Type); col.text != nil {
				col.text.stats, col.stats = col.stats, nil
				continue
			}
		}
		leaves = append(leaves, leaf[0])
		arrowCols = append(arrowCols, col)
	}
	if len(leaves) == 0 {
		return nil
	}
	rowGroups := make([]int, pf.NumRowGroups())
	for i := range rowGroups {
		rowGroups[i] = i
	}
	colReaders, _, err := fr.GetFieldReaders(context.Background(), leaves, rowGroups)
	if err != nil {
		return &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %w", err)}
	}
	if len(colReaders) != len(arrowCols) {
		for _, r := range colReaders {
			r.Release()
		}
		return &InputError{Path: path, Err: fmt.Errorf("corrupt Parquet file: %d column readers for %d columns", len(colReaders), len(arrowCols))}
	}
	for c, r := range colReaders {
		arrowCols[c].arrow = r
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

var _ Reader = (*parquetReader)(nil)
