package readers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// maxHeaderColumns is the most columns a CSV header may have: far more
// than any export of marks, few enough that a file which is not CSV at all
// is refused before it takes memory.
const maxHeaderColumns = 65536

// sniffBytes is how much of the start of a CSV input is looked at to tell
// what it really holds (another encoding, a compressed file, Parquet).
const sniffBytes = 64 << 10

// CSVReader streams records from RFC 4180 CSV with a header row, in
// bounded memory whatever the records hold (1 KiB of a known column, 64 KiB of
// another: see limits.go).
type CSVReader struct {
	path   string
	s      *csvScanner
	closer io.Closer
	shape  *csvShape
	xbuf   []byte        // where a record's Extras are made
	buf    *bufio.Reader // from csvBuffers, given back by Close
	row    int64
	comma  byte
	rec    record
	raw    []string // of the last record
	// par, when set, reads the records after the header in parallel
	// chunks (csvpar.go) instead of with s.
	par *parReader
}

// newCSVReader reads the header from r and returns a reader of its data
// records. path is used in messages only. closer, if not nil, is closed by
// Close. Before the header it looks at what the input really holds, so
// that a UTF-16 file, a compressed or Parquet file under a CSV name, or a
// file separated by another delimiter gets a message that says so.
func newCSVReader(path string, r io.Reader, closer io.Closer, opts Options) (*CSVReader, error) {
	br, pooled, comma, err := csvPrelude(path, r, opts)
	if err != nil {
		return nil, err
	}
	s := newCSVScanner(br, comma)
	header, err := readHeader(path, s, comma)
	if err != nil {
		return nil, err
	}
	idx, pf, err := resolveColumns(path, header, opts)
	if err != nil {
		if errors.Is(err, errNoFromAccount) {
			if hint := guessDelimiter(header, comma, opts); hint != "" {
				err.(*InputError).Err = fmt.Errorf("%w; %s", err.(*InputError).Err, hint)
			}
		}
		return nil, err
	}
	extra, err := resolveExtra(path, header, opts)
	if err != nil {
		return nil, err
	}
	sh := &csvShape{idx: idx, extra: extra, width: len(header), header: header, pathFields: pf}
	sh.known = make([]Field, len(header))
	for i := range sh.known {
		sh.known[i] = -1
	}
	sh.keepOf = make([]int, len(header))
	for i := range sh.keepOf {
		sh.keepOf[i] = keepOtherBytes
	}
	for f, i := range idx {
		if i >= 0 {
			sh.known[i] = Field(f)
			sh.keepOf[i] = keepBytes
		}
	}
	for _, i := range extra {
		sh.keepOf[i] = keepBytes
	}
	s.keepOf = sh.keepOf
	s.maxFields = len(header) + extraFields
	c := &CSVReader{path: path, s: s, closer: closer, shape: sh, comma: comma, buf: pooled}
	return c, nil
}

// csvPrelude looks at the start of r before its header: it refuses what is
// not CSV text (sniffText), skips a UTF-8 byte order mark and Excel's
// "sep=" line, and reads lines that end in a lone "\r". It returns the
// buffered reader to scan, the pooled buffer under it (returned to the
// pool by Close) and the delimiter: --delimiter, the sep= line's, or a
// comma.
func csvPrelude(path string, r io.Reader, opts Options) (br, pooled *bufio.Reader, comma byte, err error) {
	fail := func(format string, a ...any) (*bufio.Reader, *bufio.Reader, byte, error) {
		return nil, nil, 0, &InputError{Path: path, Err: fmt.Errorf(format, a...)}
	}
	comma = ','
	if d := opts.Delimiter; d != 0 {
		if d >= 0x80 || d == '"' || d == '\r' || d == '\n' {
			return fail("delimiter %q: want one ASCII character other than a quote or a line end", d)
		}
		comma = byte(d)
	}
	br = csvBuffers.Get().(*bufio.Reader)
	br.Reset(r)
	pooled = br
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, nil, 0, &InputError{Path: path, Err: err}
	}
	if err := sniffText(head, len(head) < sniffBytes); err != nil {
		return nil, nil, 0, &InputError{Path: path, Err: err}
	}
	if bytes.HasPrefix(head, utf8BOM) {
		br.Discard(len(utf8BOM))
		head = head[len(utf8BOM):]
	}
	// Excel writes "sep=;" on the first line to name the delimiter.
	if sep, n, ok := sepLine(head); ok {
		if opts.Delimiter != 0 && byte(opts.Delimiter) != sep {
			return fail("the file's first line says sep=%c, but --delimiter is %q: drop one of them", sep, opts.Delimiter)
		}
		if sep == '\r' || sep == '\n' {
			// "sep=\r\n" names no delimiter: the line ends after "sep=".
			return fail(`the file's first line is "sep=" without a delimiter after it: name one (sep=; or sep=,) or drop the line`)
		}
		if sep >= 0x80 || sep == '"' {
			return fail("the file's first line says sep=%c, which cannot be a delimiter", sep)
		}
		comma = sep
		br.Discard(n)
		head = head[n:]
	}
	// Lines that end in a lone "\r" (old Macs, some exports) are read as
	// lines; a lone "\r" elsewhere stays part of its field.
	if bytes.IndexByte(head, '\n') < 0 && bytes.IndexByte(head, '\r') >= 0 {
		br = bufio.NewReaderSize(crToLF{br}, 1<<20)
	}
	return br, pooled, comma, nil
}

// crToLF reads a file whose lines end in a lone "\r" (old Mac, some
// exports) as one whose lines end in "\n".
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	b := p[:n]
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			break
		}
		b[i] = '\n'
		b = b[i+1:]
	}
	return n, err
}

// readHeader reads the header row with s and refuses one that cannot be a
// CSV header (none, too many columns, a column too long, a broken quote).
func readHeader(path string, s *csvScanner, comma byte) ([]string, error) {
	fail := func(format string, a ...any) ([]string, error) {
		return nil, &InputError{Path: path, Err: fmt.Errorf(format, a...)}
	}
	s.maxFields = maxHeaderColumns + 1
	var h record
	if err := s.next(&h); err == io.EOF {
		return fail("empty file: a header row is required")
	} else if err != nil {
		return nil, &InputError{Path: path, Err: fmt.Errorf("read header: %w", err)}
	}
	switch {
	case h.nfields > maxHeaderColumns:
		return fail("the header has %d columns, more than %d: is this a CSV file? (it starts %s)", h.nfields, maxHeaderColumns, Quote(strings.Join(h.fields[:4], string(comma))))
	case h.err != nil:
		return fail("read header: %v", h.err)
	}
	for i := range h.fields {
		if h.cut(i) {
			return fail("header column %d is %d bytes long (it starts %s): is this a CSV file?", i+1, h.size(i), Quote(h.fields[i]))
		}
	}
	return append([]string(nil), h.fields...), nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// sniffText tells, from the first bytes of an input read as CSV (all of
// it when whole), when it is not UTF-8 text at all, and what it is
// instead.
func sniffText(head []byte, whole bool) error {
	for _, k := range []struct {
		bom  string
		name string
	}{
		{"\xFF\xFE\x00\x00", "UTF-32 (little-endian)"}, {"\x00\x00\xFE\xFF", "UTF-32 (big-endian)"},
		{"\xFF\xFE", "UTF-16 (little-endian)"}, {"\xFE\xFF", "UTF-16 (big-endian)"},
	} {
		if bytes.HasPrefix(head, []byte(k.bom)) {
			enc := strings.Fields(k.name)[0]
			return fmt.Errorf("the file is %s text (it starts with the byte order mark % X); markimport reads UTF-8: convert it first, e.g. iconv -f %s -t UTF-8 FILE > FILE.utf8.csv", k.name, []byte(k.bom), enc)
		}
	}
	if kind, hint := sniffBinary(head); kind != "" {
		return fmt.Errorf("the file is %s, not CSV text: %s", kind, hint)
	}
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if nul := bytes.Count(line, []byte{0}); nul > 0 {
		if nul*3 >= len(line) {
			return fmt.Errorf("the file looks like UTF-16 text without a byte order mark (NUL bytes between the characters of its first line); markimport reads UTF-8: convert it first, e.g. iconv -f UTF-16LE -t UTF-8 FILE > FILE.utf8.csv")
		}
		return fmt.Errorf("the first line holds NUL bytes: this is not a CSV text file (it starts %s)", Quote(string(line[:min(len(line), 16)])))
	}
	return sniffEncoding(head, whole)
}

// sniffBinary recognises the formats a CSV input is most often confused
// with, by their magic numbers: what the file is and what to do.
func sniffBinary(head []byte) (kind, hint string) {
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return "Parquet (it starts with PAR1)", "name it .parquet, or pass --format parquet"
	case bytes.HasPrefix(head, []byte("PARE")):
		return "encrypted Parquet (it starts with PARE)", "markimport cannot read encrypted Parquet; export it without encryption"
	case bytes.HasPrefix(head, []byte{0x1F, 0x8B}):
		return "gzip-compressed (it starts with 1F 8B)", "name it .csv.gz, or decompress it first"
	case bytes.HasPrefix(head, []byte{0x28, 0xB5, 0x2F, 0xFD}):
		return "zstd-compressed (it starts with 28 B5 2F FD)", "name it .csv.zst, or decompress it first"
	case bytes.HasPrefix(head, []byte("BZh")) && len(head) > 3 && head[3] >= '1' && head[3] <= '9':
		return "bzip2-compressed (it starts with BZh)", "decompress it first, or pipe it: bzcat FILE | markimport ... --input -"
	case bytes.HasPrefix(head, []byte{0xFD, '7', 'z', 'X', 'Z', 0}):
		return "xz-compressed", "decompress it first, or pipe it: xzcat FILE | markimport ... --input -"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a ZIP archive (an .xlsx workbook is one too)", "extract it, or save the sheet as CSV UTF-8"
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return "an Excel workbook (.xls)", "save the sheet as CSV UTF-8"
	}
	return "", ""
}

// sepLine recognises Excel's "sep=X" first line: the delimiter and the
// length of the line with its end.
func sepLine(head []byte) (byte, int, bool) {
	if len(head) < 5 || !bytes.EqualFold(head[:4], []byte("sep=")) {
		return 0, 0, false
	}
	rest := head[5:]
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		return head[4], 7, true
	case bytes.HasPrefix(rest, []byte("\n")), bytes.HasPrefix(rest, []byte("\r")):
		return head[4], 6, true
	case len(rest) == 0:
		return head[4], 5, true
	}
	return 0, 0, false
}

// guessDelimiter says which other delimiter would have found from_account
// in a header, or "".
func guessDelimiter(header []string, comma byte, opts Options) string {
	line := strings.Join(header, string(comma))
	for _, d := range []byte{';', '\t', '|', ','} {
		if d == comma || strings.IndexByte(line, d) < 0 {
			continue
		}
		if _, err := columnIndex("", strings.Split(line, string(d)), opts); err == nil {
			name := string(d)
			if d == '\t' {
				name = "tab"
			}
			return fmt.Sprintf("the header looks %q-separated: pass --delimiter '%s'", d, name)
		}
	}
	return ""
}

// Next returns the next record, or io.EOF.
func (c *CSVReader) Next() (Record, error) {
	var rec Record
	err := c.nextInto(&rec)
	return rec, err
}

// nextInto is Next, into rec.
func (c *CSVReader) nextInto(rec *Record) error {
	if c.par != nil {
		var err error
		*rec, err = c.par.next(c)
		return err
	}
	err := c.s.next(&c.rec)
	if err == io.EOF {
		c.raw = nil
		*rec = Record{}
		return io.EOF
	}
	c.row++
	if err != nil {
		c.raw = nil
		*rec = Record{}
		return &InputError{Path: c.path, Row: c.row, Err: err}
	}
	c.raw = c.rec.fields
	c.shape.recordInto(&c.rec, &c.xbuf, rec)
	rec.Row = c.row
	return nil
}

// csvShape is what a file's header says about its records: where each
// column markimport reads is, how much of each it keeps, how many there
// are. It is read-only once made, so that the goroutines of a parallel
// read share it.
type csvShape struct {
	idx    [NumFields]int
	extra  []int // the column of each Options.Extra
	known  []Field
	keepOf []int
	header []string
	width  int
	// pathFields are the fields the file's folder names give.
	pathFields pathFields
}

// record makes the Record of r (without its row number), its Extras made
// in xbuf.
func (sh *csvShape) record(r *record, xbuf *[]byte) Record {
	var rec Record
	sh.recordInto(r, xbuf, &rec)
	return rec
}

// recordInto is record, into rec: every field of rec is set.
func (sh *csvShape) recordInto(r *record, xbuf *[]byte, rec *Record) {
	*rec = Record{}
	for f, i := range sh.idx {
		if i >= 0 && i < len(r.fields) {
			rec.Fields[f] = r.fields[i]
		}
	}
	if len(sh.extra) > 0 {
		b := (*xbuf)[:0]
		for _, i := range sh.extra {
			var v string
			if i < len(r.fields) {
				v = r.fields[i]
			}
			b = appendExtra(b, []byte(v))
		}
		*xbuf = b
		rec.Extra = Extras(b)
	}
	sh.pathFields.apply(rec)
	switch {
	case r.err != nil:
		rec.Problem = r.err.Error()
	case r.nfields != int64(sh.width):
		rec.Problem = fmt.Sprintf("row has %d fields, the header has %d", r.nfields, sh.width)
	case !r.whole:
		for i := range r.fields {
			if !r.cut(i) {
				continue
			}
			if f := sh.known[i]; f >= 0 {
				rec.ProblemColumn = f.String()
				rec.Problem = TooLong(r.size(i), r.fields[i])
			} else if sh.keepOf[i] == keepBytes { // an Extra column
				rec.ProblemColumn = Display(sh.header[i])
				rec.Problem = TooLong(r.size(i), r.fields[i])
			} else {
				rec.Problem = fmt.Sprintf("column %d (%s): %d bytes, more than markimport keeps of a column it does not read (%d KiB)",
					i+1, Quote(sh.header[i]), r.size(i), keepOtherBytes>>10)
			}
			break
		}
	}
}

// Raw returns every field of the last record as it was in the file (what a
// rejects file gives back), within the limits a record keeps. It is valid
// until the next call of Next.
func (c *CSVReader) Raw() []string { return c.raw }

// Header returns the file's header row.
func (c *CSVReader) Header() []string { return c.shape.header }

// Delimiter returns the field separator.
func (c *CSVReader) Delimiter() rune { return rune(c.comma) }

// Close releases the underlying file.
func (c *CSVReader) Close() error {
	if c.par != nil {
		c.par.close()
	}
	if c.buf != nil {
		c.buf.Reset(nil)
		csvBuffers.Put(c.buf)
		c.buf = nil
	}
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

// csvBuffers keeps the 1 MiB read buffers of CSV files: an input of many
// part files reuses one instead of faulting fresh pages in for each file
// (a page fault costs microseconds on a virtual machine: 64 fresh buffers
// cost a 1M-row validate a fifth of its time).
var csvBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1<<20) }}
