package readers

import (
	"context"
	"io"
	"os"
)

// Source is the bytes of one part of an input, read by position: a local
// file, or an object in a bucket read by ranged GETs (each read fetches
// only the bytes it asks for, and fails if the object is no longer the
// one the input was resolved to). Whoever reads a part again in its own
// format (a Parquet rejects file copies the input's rows with their
// columns unchanged) reads it through a Source, so that a part is reached
// the same way whatever it is. Close it when done.
type Source struct {
	*io.SectionReader // the part's bytes, from 0 to Size()
	closer            io.Closer
}

// Close releases the file (ranged reads hold nothing open).
func (s *Source) Close() error { return s.closer.Close() }

// OpenSource opens the part's bytes for reading by position; an object's
// reads are made under ctx. Standard input, a pipe or a device cannot be
// read by position: an *InputError says so.
func (p *Part) OpenSource(ctx context.Context) (*Source, error) {
	if p.obj != nil {
		ra := p.obj.store.ReaderAt(ctx, p.obj.loc, p.obj.info)
		return &Source{SectionReader: io.NewSectionReader(ra, 0, p.obj.info.Size), closer: noClose{}}, nil
	}
	f, size, err := openLocalAt(p.Path)
	if err != nil {
		return nil, err
	}
	return &Source{SectionReader: io.NewSectionReader(f, 0, size), closer: f}, nil
}

// openLocalAt opens a local file for reading by position and returns its
// size: a regular file only (a FIFO would block the open, and none can be
// read at an offset).
func openLocalAt(path string) (*os.File, int64, error) {
	if path == "-" {
		return nil, 0, &InputError{Path: path, Err: errNeedsFile}
	}
	if err := checkRegularFile(path); err != nil {
		return nil, 0, &InputError{Path: path, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, &InputError{Path: path, Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, &InputError{Path: path, Err: err}
	}
	return f, st.Size(), nil
}
