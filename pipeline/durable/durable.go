// Package durable owns how markimport writes the files that must survive a
// crash or a power cut: reports and their journals and sidecars, the
// incremental state, backups, rejects files and summaries.
//
// Two shapes of file exist, and each is written one way:
//
//   - An output that appears whole or not at all (a summary, a rejects
//     file, a finished Parquet report, a state manifest): Create writes it
//     beside its final name (NAME.tmp), and Commit syncs it, closes it,
//     renames it into place and syncs the folder, so that after a crash the
//     final name holds the old file or the new one, never a torn one, and
//     the rename itself cannot be lost. Abort removes the temporary file
//     and leaves the final name as it was.
//   - A journal appended to as a run goes (a report's journal, a backup's
//     journal): the caller opens it through an FS, syncs it when what it
//     wrote must be durable, and Move gives it its final name, renamed and
//     the folder synced.
//
// Every write goes through an FS. Local is the operating system's; tests
// inject one (package durabletest) that records every call in order, so
// that "synced before renamed" and "journal durable before the request
// leaves" are checked as sequences of calls rather than guessed from the
// page cache, and that fails writes on demand, as a full disk does.
// Output is the seam for other destinations (object storage): what Create
// returns for a local path is one implementation of it.
//
// The package is a leaf: it imports nothing of the project.
package durable

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// File is an open file of an FS: what *os.File offers that markimport's
// writers use.
type File interface {
	io.ReadWriteSeeker
	io.ReaderAt
	io.WriterAt
	Sync() error
	Close() error
	Name() string
	Stat() (fs.FileInfo, error)
	Truncate(size int64) error
}

// FS is the file layer every durable write goes through.
type FS interface {
	// OpenFile opens a file as os.OpenFile does.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Rename renames a file as os.Rename does.
	Rename(oldpath, newpath string) error
	// Remove removes a file or an empty folder as os.Remove does.
	Remove(name string) error
	// MkdirAll creates a folder and its parents as os.MkdirAll does.
	MkdirAll(path string, perm fs.FileMode) error
	// SyncDir makes the entries of the folder dir durable: the files
	// created, renamed or removed in it.
	SyncDir(dir string) error
}

// Local is the operating system's file layer.
var Local FS = local{}

type local struct{}

func (local) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil File
	}
	return f, nil
}

func (local) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (local) Remove(name string) error                     { return os.Remove(name) }
func (local) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }

// SyncDir fsyncs the folder. A file system that cannot sync a folder
// (EINVAL: some network and FUSE file systems) makes its entries durable
// by other means, so that is not an error.
func (local) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// Or returns fsys, or Local when fsys is nil: the zero value of an option
// that holds an FS means the disk.
func Or(fsys FS) FS {
	if fsys == nil {
		return Local
	}
	return fsys
}

// Output is a file on its way to its destination. Nothing appears under
// its final name until Commit returns nil; Abort drops what was written
// and leaves the final name as it was. After Commit or Abort, both do
// nothing more (Commit returns an error).
type Output interface {
	io.Writer
	// Name is the final name, for messages.
	Name() string
	Commit() error
	Abort()
}

// TempName is the name an output of path is written under until it is
// committed: beside it, so that the rename stays within one file system.
func TempName(path string) string { return path + ".tmp" }

// Create starts the local output that will be path, written to
// TempName(path) (truncated if a killed run left one).
func Create(fsys FS, path string) (*Atomic, error) {
	fsys = Or(fsys)
	f, err := fsys.OpenFile(TempName(path), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &Atomic{fs: fsys, f: f, final: path}, nil
}

// Atomic is a local Output: a temporary file beside the final path.
type Atomic struct {
	fs    FS
	f     File
	final string
	done  bool
}

// Write appends to the temporary file.
func (a *Atomic) Write(p []byte) (int, error) {
	if a.done {
		return 0, fmt.Errorf("%s: write after commit or abort", a.final)
	}
	return a.f.Write(p)
}

// Name is the final path.
func (a *Atomic) Name() string { return a.final }

// Commit syncs the temporary file, closes it, renames it to the final
// path and syncs the folder. On an error the temporary file is removed and
// the final path is as it was (unless the error came from the last sync
// of the folder, after the rename).
func (a *Atomic) Commit() error {
	if a.done {
		return fmt.Errorf("%s: committed after commit or abort", a.final)
	}
	a.done = true
	tmp := a.f.Name()
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = a.fs.Rename(tmp, a.final)
	}
	if err != nil {
		a.fs.Remove(tmp)
		return err
	}
	return a.fs.SyncDir(filepath.Dir(a.final))
}

// Abort closes and removes the temporary file.
func (a *Atomic) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	a.fs.Remove(a.f.Name())
}

// WriteFile writes data to path as one output: the old file or the new
// one, never a torn one.
func WriteFile(fsys FS, path string, data []byte) error {
	a, err := Create(fsys, path)
	if err != nil {
		return err
	}
	if _, err := a.Write(data); err != nil {
		a.Abort()
		return err
	}
	return a.Commit()
}

// Move renames a durable file (a journal made durable by its writer) to
// newpath and syncs the folders, so that the new name survives a crash.
func Move(fsys FS, oldpath, newpath string) error {
	fsys = Or(fsys)
	if err := fsys.Rename(oldpath, newpath); err != nil {
		return err
	}
	if err := fsys.SyncDir(filepath.Dir(newpath)); err != nil {
		return err
	}
	if od := filepath.Dir(oldpath); od != filepath.Dir(newpath) {
		return fsys.SyncDir(od)
	}
	return nil
}

// Remove removes path, if it exists, and syncs its folder, so that the
// removal is durable before what follows it: a journal's record of its
// input is gone before a new journal takes the name.
func Remove(fsys FS, path string) error {
	fsys = Or(fsys)
	if err := fsys.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return fsys.SyncDir(filepath.Dir(path))
}

// SyncFile makes a file that was written and closed durable.
func SyncFile(fsys FS, path string) error {
	f, err := Or(fsys).OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
