package durable

import (
	"os"
	"path/filepath"
)

// Batch is a new folder of files that a later output publishes by naming
// them (a state's generation, named by its manifest): until that output is
// committed nothing refers to them, so each is written in place, without
// a temporary name. Every step is durable before the next depends on it:
// the folder's entry in its parent when the batch starts, each file when
// it is written, the folder's entries when it is sealed.
type Batch struct {
	fs  FS
	dir string
}

// NewBatch creates the folder dir (and its parents) through fsys (nil:
// the disk), and makes its entry in its parent durable.
func NewBatch(fsys FS, dir string) (*Batch, error) {
	b := &Batch{fs: Or(fsys), dir: dir}
	if err := b.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := b.fs.SyncDir(filepath.Dir(dir)); err != nil {
		return nil, err
	}
	return b, nil
}

// WriteFile creates (truncating) the file name in the batch's folder,
// writes data, syncs it and closes it.
func (b *Batch) WriteFile(name string, data []byte) error {
	f, err := b.fs.OpenFile(filepath.Join(b.dir, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Seal makes the folder's entries (the files written) durable: after it,
// an output may name them.
func (b *Batch) Seal() error { return b.fs.SyncDir(b.dir) }

// MoveInto creates the folder to (and its parents) and moves the entries
// names of the folder from into it, then makes both folders' entries
// durable: after a crash each entry is in one folder or the other.
func MoveInto(fsys FS, from, to string, names []string) error {
	fsys = Or(fsys)
	if err := fsys.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		if err := fsys.Rename(filepath.Join(from, n), filepath.Join(to, n)); err != nil {
			return err
		}
	}
	if err := fsys.SyncDir(to); err != nil {
		return err
	}
	return fsys.SyncDir(from)
}
