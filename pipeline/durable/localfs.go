package durable

import (
	"errors"
	"io"
	"io/fs"
	"os"
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
	return withWriteback(f, flag), nil
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
