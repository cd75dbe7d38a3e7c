package readers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// CSVReader streams records from RFC 4180 CSV with a header row.
type CSVReader struct {
	path   string
	r      *csv.Reader
	closer io.Closer
	idx    [NumFields]int
	width  int
	row    int64
	header []string
	fields []string // of the last record
}

// NewCSVReader reads the header from r and returns a reader of its data
// records. path is used in messages only. closer, if not nil, is closed by Close.
func NewCSVReader(path string, r io.Reader, closer io.Closer, opts Options) (*CSVReader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	// Skip a UTF-8 byte order mark.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	if opts.Delimiter != 0 {
		cr.Comma = opts.Delimiter
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &InputError{Path: path, Err: errors.New("empty file: a header row is required")}
	}
	if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("read header: %w", err)}
	}
	header = append([]string(nil), header...)
	idx, err := columnIndex(path, header, opts)
	if err != nil {
		return nil, err
	}
	return &CSVReader{path: path, r: cr, closer: closer, idx: idx, width: len(header), header: header}, nil
}

// Next returns the next record, or io.EOF.
func (c *CSVReader) Next() (Record, error) {
	fields, err := c.r.Read()
	if err == io.EOF {
		return Record{}, io.EOF
	}
	c.row++
	rec := Record{Row: c.row}
	c.fields = nil
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rec.Problem = fmt.Sprintf("malformed CSV at line %d column %d: %v", pe.Line, pe.Column, pe.Err)
			if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
				// The reader has resynchronised at the next line; keep going.
				return rec, nil
			}
			return rec, nil
		}
		return Record{}, &InputError{Path: c.path, Row: c.row, Err: err}
	}
	for f, i := range c.idx {
		if i >= 0 && i < len(fields) {
			rec.Fields[f] = fields[i]
		}
	}
	c.fields = fields
	if len(fields) != c.width {
		rec.Problem = fmt.Sprintf("row has %d fields, the header has %d", len(fields), c.width)
	}
	return rec, nil
}

// Raw returns every field of the last record as it was in the file (what a
// rejects file gives back). It is valid until the next call of Next.
func (c *CSVReader) Raw() []string { return c.fields }

// Header returns the file's header row.
func (c *CSVReader) Header() []string { return c.header }

// Delimiter returns the field separator.
func (c *CSVReader) Delimiter() rune { return c.r.Comma }

// Close releases the underlying file.
func (c *CSVReader) Close() error {
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}
