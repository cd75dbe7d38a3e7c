package durable

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Output is a file on its way to its destination. Nothing appears under
// its final name until Commit returns nil; Abort drops what was written
// and leaves the final name as it was. After Commit or Abort, Abort does
// nothing, and Commit and Write return an error.
type Output interface {
	io.Writer
	// Name is the final name, for messages.
	Name() string
	// Commit publishes what was written under the final name.
	Commit() error
	// Abort drops what was written.
	Abort()
}

// Destination is where outputs are made: the local disk (Disk), or
// another store that publishes a whole object at once. A destination
// implements create; the Output it returns implements write, commit and
// abort.
type Destination interface {
	// Create starts the output that will be name.
	Create(name string) (Output, error)
}

// Disk is the local disk as a Destination, written through fsys (nil:
// the operating system's): an output is written beside its final path
// and renamed into place, as Create does.
func Disk(fsys FS) Destination { return disk{Or(fsys)} }

type disk struct{ fs FS }

// Create starts the local output that will be path (see create).
func (d disk) Create(path string) (Output, error) {
	a, err := create(d.fs, path)
	if err != nil {
		return nil, err // a nil *atomicFile must not become a non-nil Output
	}
	return a, nil
}

// TempName is the name an output of path is written under until it is
// committed: beside it, so that the rename stays within one file system.
func TempName(path string) string { return path + ".tmp" }

// create starts the local output that will be path, written through fsys
// (nil: the disk) to TempName(path) (truncated if a killed run left one).
func create(fsys FS, path string) (*atomicFile, error) {
	fsys = Or(fsys)
	f, err := fsys.OpenFile(TempName(path), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &atomicFile{fs: fsys, f: f, final: path}, nil
}

// atomicFile is the local disk's Output: a temporary file beside the final
// path.
type atomicFile struct {
	fs    FS
	f     File
	final string
	done  bool
}

// Write appends to the temporary file.
func (a *atomicFile) Write(p []byte) (int, error) {
	if a.done {
		return 0, fmt.Errorf("%s: write after commit or abort", a.final)
	}
	return a.f.Write(p)
}

// Name is the final path.
func (a *atomicFile) Name() string { return a.final }

// Commit syncs the temporary file, closes it, renames it to the final
// path and syncs the folder. On an error the temporary file is removed and
// the final path is as it was (unless the error came from the last sync
// of the folder, after the rename).
func (a *atomicFile) Commit() error {
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
func (a *atomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	a.fs.Remove(a.f.Name())
}

// WriteFile writes data to path through fsys (nil: the disk) as one
// output: the old file or the new one, never a torn one.
func WriteFile(fsys FS, path string, data []byte) error {
	return put(Disk(fsys), path, data)
}

// put writes data as the output name of dst, whole or not at all.
func put(dst Destination, name string, data []byte) error {
	out, err := dst.Create(name)
	if err != nil {
		return err
	}
	if _, err := out.Write(data); err != nil {
		out.Abort()
		return err
	}
	return out.Commit()
}
