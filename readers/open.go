package readers

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"

	"markimport/readers/objstore"
)

// Format is an input's format, decided in one place from --format or the
// file name (FormatOf).
type Format string

// The input formats.
const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// IsParquetName reports whether a file name asks for Parquet: it ends in
// .parquet or .pq (any case). Inputs, reports and rejects files are named
// by the same rule.
func IsParquetName(path string) bool {
	lower := strings.ToLower(path)
	return strings.HasSuffix(lower, ".parquet") || strings.HasSuffix(lower, ".pq")
}

// FormatOf returns the format of an input: format when given ("csv" or
// "parquet", any case), else Parquet for a .parquet or .pq name and CSV for
// anything else.
func FormatOf(path, format string) (Format, error) {
	switch strings.ToLower(format) {
	case "":
		if IsParquetName(path) {
			return Parquet, nil
		}
		return CSV, nil
	case "csv":
		return CSV, nil
	case "parquet":
		return Parquet, nil
	}
	return "", fmt.Errorf("unknown format %q (want csv or parquet)", format)
}

// Open opens an input file ("-" for standard input, s3://BUCKET/KEY for
// an object) and returns a reader of its records. The format comes from
// FormatOf; ".gz" and ".zst" CSV files are decompressed on the fly.
func Open(path string, opts Options) (Reader, error) {
	return openContext(context.Background(), path, opts)
}

// openContext is Open with every request for an object's bytes, as long
// as the reader reads, made under ctx: once ctx is cancelled, a read
// waiting on the store returns ctx's error.
func openContext(ctx context.Context, path string, opts Options) (Reader, error) {
	if objstore.IsURL(path) {
		return openURL(ctx, path, opts)
	}
	format, err := FormatOf(path, opts.Format)
	if err != nil {
		return nil, &InputError{Path: path, Err: err}
	}
	if format == Parquet {
		return openParquet(path, opts)
	}
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		f, err = os.Open(path)
		if err != nil {
			return nil, &InputError{Path: path, Err: err}
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, &InputError{Path: path, Err: errors.New("is a directory, not a file")}
		}
	}
	r, closer, err := decompress(path, f)
	if err != nil {
		f.Close()
		return nil, &InputError{Path: path, Err: err}
	}
	// A plain file's rows may be parsed in parallel chunks once its
	// header is read: the count says where they start.
	plain := path != "-" && r == io.Reader(f)
	var count *countingReader
	if plain {
		count = &countingReader{r: f}
		r = count
	}
	cr, err := newCSVReader(path, r, closer, opts)
	if err != nil {
		closer.Close()
		return nil, err
	}
	if plain {
		cr.parallel(ctx, f, count.n, opts.par)
	}
	return cr, nil
}

// decompress returns the CSV text of f: f itself, or its content
// decompressed when the name ends in .gz or .zst. A name that promises a
// codec the bytes do not hold gets a message saying what the bytes are.
func decompress(path string, f io.ReadCloser) (io.Reader, io.Closer, error) {
	lower := strings.ToLower(path)
	var codec string
	switch {
	case strings.HasSuffix(lower, ".gz"):
		codec = "gzip"
	case strings.HasSuffix(lower, ".zst"):
		codec = "zstd"
	default:
		return f, f, nil
	}
	cr := &countingReader{r: f}
	br := bufio.NewReaderSize(cr, 256<<10)
	head, err := br.Peek(8)
	if err != nil && err != io.EOF {
		return nil, nil, err
	}
	wantMagic := map[string][]byte{"gzip": {0x1F, 0x8B}, "zstd": {0x28, 0xB5, 0x2F, 0xFD}}[codec]
	if !bytes.HasPrefix(head, wantMagic) {
		what := "it is empty"
		if len(head) > 0 {
			what = "it starts with " + Quote(string(head))
			if kind, _ := sniffBinary(head); kind != "" {
				what = "it is " + kind
			} else if printable(string(head)) {
				what += ", which looks like plain text"
			}
		}
		ext := map[string]string{"gzip": ".gz", "zstd": ".zst"}[codec]
		return nil, nil, fmt.Errorf("the name ends in %s but the content is not %s (%s): rename the file to what it holds, or pass it through the right decompressor", ext, codec, what)
	}
	if codec == "zstd" {
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %v", err)
		}
		return &codecErrors{r: zr, codec: "zstd", pos: func() int64 { return cr.n - int64(br.Buffered()) }},
			closers{zstdCloser{zr}, f}, nil
	}
	gz := &gzipStream{br: br, pos: func() int64 { return cr.n - int64(br.Buffered()) }}
	if err := gz.start(); err != nil {
		return nil, nil, err
	}
	return gz, closers{gz, f}, nil
}

// gzipStream reads one or more concatenated gzip members (as gzip and
// pigz write them) and refuses anything else after them: bytes that are
// not a gzip member after the end of the data are an error with their
// offset, never read as more CSV.
type gzipStream struct {
	br  *bufio.Reader
	zr  *gzip.Reader
	pos func() int64 // offset in the compressed file of the next unread byte
}

func (g *gzipStream) start() error {
	zr, err := gzip.NewReader(g.br)
	if err != nil {
		return fmt.Errorf("gzip: the header is damaged (%v)", unprefix(err, "gzip: "))
	}
	zr.Multistream(false)
	g.zr = zr
	return nil
}

func (g *gzipStream) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			if err != nil {
				err = codecError("gzip", err, g.pos())
			}
			return n, err
		}
		if n > 0 {
			return n, nil
		}
		// The end of one member: another member, the end of the file, or
		// garbage.
		off := g.pos()
		head, perr := g.br.Peek(2)
		if perr == io.EOF && len(head) == 0 {
			return 0, io.EOF
		}
		if !bytes.Equal(head, []byte{0x1F, 0x8B}) {
			rest, _ := g.br.Peek(16)
			return 0, fmt.Errorf("gzip: %s after the end of the compressed data at byte offset %d (the file was appended to, or damaged)", Quote(string(rest)), off)
		}
		if err := g.zr.Reset(g.br); err != nil {
			return 0, fmt.Errorf("gzip: a damaged member header at byte offset %d (%v)", off, unprefix(err, "gzip: "))
		}
		g.zr.Multistream(false)
	}
}

func (g *gzipStream) Close() error { return g.zr.Close() }

// codecErrors names the codec and the position in messages of read errors
// of a decompressor, once (not "gzip: gzip: ...").
type codecErrors struct {
	r     io.Reader
	codec string
	pos   func() int64
}

func (c *codecErrors) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = codecError(c.codec, err, c.pos())
	}
	return n, err
}

// codecError is a read error of a decompressor, said plainly. An error of
// the store the bytes come from (a connection that broke) is said as it
// is: the file is not damaged, its reading was.
func codecError(codec string, err error, off int64) error {
	if se := (*storeError)(nil); errors.As(err, &se) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: the compressed data ends early, at byte offset %d: the file is truncated", codec, off)
	}
	return fmt.Errorf("%s: the compressed data is damaged near byte offset %d: %v", codec, off, unprefix(err, codec+": "))
}

func unprefix(err error, prefix string) string { return strings.TrimPrefix(err.Error(), prefix) }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Close() error { z.d.Close(); return nil }
