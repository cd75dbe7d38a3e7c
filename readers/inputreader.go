package readers

import (
	"context"
	"errors"
	"io"
)

// Open is OpenContext with a context that is never cancelled.
func (in *Input) Open(opts Options) (*InputReader, error) {
	return in.OpenContext(context.Background(), opts)
}

// OpenContext returns a reader of every record of the input, its files
// opened one at a time as the one before ends. Records are numbered across
// files (see Input), and reshaped by opts.Reshape when it is set. Objects
// are read under ctx (see Part.Open): a cancelled ctx ends a read that
// waits on the store with ctx's error.
func (in *Input) OpenContext(ctx context.Context, opts Options) (*InputReader, error) {
	opts.Format = string(in.Format)
	opts.pool = &bufferPool{}
	m := &InputReader{ctx: ctx, in: in, opts: opts}
	if err := m.openPart(0); err != nil {
		return nil, err
	}
	return m, nil
}

// InputReader reads the parts of an input one after another.
type InputReader struct {
	// ctx is the context of the reads the parts make, for as long as the
	// reader reads: a reader is a stream, opened and read under one
	// caller's context, like an HTTP response's body.
	ctx  context.Context
	in   *Input
	opts Options
	k    int    // the part being read
	cur  Reader // its reader
	base int64  // rows before part k
	rows int64  // rows read in part k
	any  bool   // a part held a row
}

// openPart opens part k, recording where its rows start. A part without
// rows is fine when the input has several (a partition may be empty).
func (m *InputReader) openPart(k int) error {
	m.k, m.rows = k, 0
	if n := int(m.in.opened.Load()); k == n {
		m.in.starts[k] = m.base
		m.in.opened.Store(int32(k + 1))
	}
	p := &m.in.Parts[k]
	opts := m.opts
	opts.PathColumns = p.Hive
	r, err := p.Open(m.ctx, opts)
	if err != nil {
		if errors.Is(err, ErrNoRows) && m.in.Multi() {
			m.cur = nil
			return nil
		}
		return err
	}
	m.cur = r
	return nil
}

// Next returns the next record of the input, or io.EOF after the last
// part's last.
func (m *InputReader) Next() (Record, error) {
	var rec Record
	err := m.nextInto(&rec)
	return rec, err
}

// nextInto is Next, into rec (see NextInto).
func (m *InputReader) nextInto(rec *Record) error {
	for {
		if m.cur != nil {
			err := NextInto(m.cur, rec)
			if err == nil {
				m.rows++
				m.any = true
				rec.Row += m.base
				if m.opts.Reshape != nil {
					m.opts.Reshape(rec)
					rec.Extra = ""
				}
				return nil
			}
			if err != io.EOF {
				return err
			}
			m.cur.Close()
			m.cur = nil
		}
		if m.k+1 >= len(m.in.Parts) {
			*rec = Record{}
			if !m.any && m.in.Multi() {
				return &InputError{Path: m.in.String(), Err: ErrNoRows}
			}
			return io.EOF
		}
		m.base += m.rows
		if err := m.openPart(m.k + 1); err != nil {
			*rec = Record{}
			return err
		}
	}
}

// readerInto is a Reader of this package that can write its next record
// where the caller keeps it: InputReader, CSVReader, the Parquet reader.
type readerInto interface {
	nextInto(rec *Record) error
}

// NextInto is r.Next, into rec: the record is written where the caller
// keeps it, not returned through each layer. InputReader.Next hands its
// record's address to Options.Reshape, so each record it returns is first
// moved to the heap: one 184-byte allocation a row, and a copy at each
// layer, which NextInto spares the read stage. Every field of rec is set;
// on an error, rec holds nothing to read.
func NextInto(r Reader, rec *Record) error {
	if ri, ok := r.(readerInto); ok {
		return ri.nextInto(rec)
	}
	var err error
	*rec, err = r.Next()
	return err
}

// Close closes the part being read.
func (m *InputReader) Close() error {
	if m.cur == nil {
		return nil
	}
	err := m.cur.Close()
	m.cur = nil
	return err
}

// Current returns the part being read and its reader (nil for a part
// without rows).
func (m *InputReader) Current() (int, Reader) { return m.k, m.cur }
