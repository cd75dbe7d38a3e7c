// Package durabletest is a durable.FS for tests: it writes to the real
// disk and records every call (write, sync, close, rename, remove, folder
// sync) in the order it was made, can run a test's function at any call
// (to block a writer until the test has seen what it waits for), and can
// fail writes, syncs or renames on demand, as a full or read-only disk
// does. It lets a test prove an ordering ("synced before renamed",
// "journal durable before the request left") and a guard ("the sender
// stops when the journal cannot be written") without sleeps or reading
// the page cache.
package durabletest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"markimport/pipeline/durable"
)

// Kind is the kind of a recorded call.
type Kind string

// The calls a Recorder records.
const (
	Open    Kind = "open"
	Write   Kind = "write"
	Sync    Kind = "sync"
	Close   Kind = "close"
	Rename  Kind = "rename"
	Remove  Kind = "remove"
	Mkdir   Kind = "mkdir"
	SyncDir Kind = "syncdir"
)

// Op is one recorded call. Path is the file (or folder) it was made on;
// To is a rename's new name; N is the bytes a write wrote; Err is the
// call's error.
type Op struct {
	Kind Kind
	Path string
	To   string
	N    int
	Err  error
}

// String renders the call as "sync /tmp/x/report.csv.journal.csv".
func (o Op) String() string {
	s := string(o.Kind) + " " + o.Path
	if o.To != "" {
		s += " -> " + o.To
	}
	if o.Err != nil {
		s += " (" + o.Err.Error() + ")"
	}
	return s
}

// Recorder is a durable.FS over the real disk that records its calls.
// Its zero value is ready to use.
type Recorder struct {
	mu  sync.Mutex
	ops []Op

	// Fail, when set, is asked before each call whether it fails: a
	// non-nil error is returned instead of making the call (a write then
	// writes nothing). It is called without the recorder's lock.
	Fail func(op Op) error
	// Hook, when set, is called after each call with what was recorded.
	// A test can block there (until the code under test must have done
	// something else) to prove an ordering.
	Hook func(op Op)
}

var _ durable.FS = (*Recorder)(nil)

// Ops returns a copy of the calls recorded so far, in order.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// Reset forgets the calls recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.ops = nil
	r.mu.Unlock()
}

// On returns the recorded calls made on files whose base name has the
// given suffix, in order.
func (r *Recorder) On(suffix string) []Op {
	var out []Op
	for _, o := range r.Ops() {
		if strings.HasSuffix(filepath.Base(o.Path), suffix) || o.To != "" && strings.HasSuffix(filepath.Base(o.To), suffix) {
			out = append(out, o)
		}
	}
	return out
}

// do runs one call: asks Fail, makes it, records it, calls Hook.
func (r *Recorder) do(op Op, call func() (int, error)) (int, error) {
	if r.Fail != nil {
		if err := r.Fail(op); err != nil {
			op.Err = err
			r.record(op)
			return 0, err
		}
	}
	n, err := call()
	op.N, op.Err = n, err
	r.record(op)
	return n, err
}

func (r *Recorder) record(op Op) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
	if r.Hook != nil {
		r.Hook(op)
	}
}

// OpenFile opens a file on the disk; its writes, syncs and close are
// recorded.
func (r *Recorder) OpenFile(name string, flag int, perm fs.FileMode) (durable.File, error) {
	var f *os.File
	_, err := r.do(Op{Kind: Open, Path: name}, func() (int, error) {
		var err error
		f, err = os.OpenFile(name, flag, perm)
		return 0, err
	})
	if err != nil {
		return nil, err
	}
	return &file{File: f, r: r}, nil
}

// Rename renames on the disk and records it.
func (r *Recorder) Rename(oldpath, newpath string) error {
	_, err := r.do(Op{Kind: Rename, Path: oldpath, To: newpath}, func() (int, error) { return 0, os.Rename(oldpath, newpath) })
	return err
}

// Remove removes from the disk and records it.
func (r *Recorder) Remove(name string) error {
	_, err := r.do(Op{Kind: Remove, Path: name}, func() (int, error) { return 0, os.Remove(name) })
	return err
}

// MkdirAll creates folders on the disk and records it.
func (r *Recorder) MkdirAll(path string, perm fs.FileMode) error {
	_, err := r.do(Op{Kind: Mkdir, Path: path}, func() (int, error) { return 0, os.MkdirAll(path, perm) })
	return err
}

// SyncDir syncs a folder on the disk and records it.
func (r *Recorder) SyncDir(dir string) error {
	_, err := r.do(Op{Kind: SyncDir, Path: dir}, func() (int, error) { return 0, durable.Local.SyncDir(dir) })
	return err
}

// file is a recorded file: reads pass through, writes, syncs and the
// close are recorded.
type file struct {
	*os.File
	r *Recorder
}

func (f *file) Write(p []byte) (int, error) {
	return f.r.do(Op{Kind: Write, Path: f.Name(), N: len(p)}, func() (int, error) { return f.File.Write(p) })
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	return f.r.do(Op{Kind: Write, Path: f.Name(), N: len(p)}, func() (int, error) { return f.File.WriteAt(p, off) })
}

func (f *file) Sync() error {
	_, err := f.r.do(Op{Kind: Sync, Path: f.Name()}, func() (int, error) { return 0, f.File.Sync() })
	return err
}

func (f *file) Close() error {
	_, err := f.r.do(Op{Kind: Close, Path: f.Name()}, func() (int, error) { return 0, f.File.Close() })
	return err
}

// ErrNoSpace is the error of a full disk, for Fail.
var ErrNoSpace error = &fs.PathError{Op: "write", Path: "(injected)", Err: syscall.ENOSPC}

// FailWritesTo returns a Fail function that fails every write and sync
// of files whose base name has suffix, after the first allow bytes
// written to them succeeded: a disk that fills up.
func FailWritesTo(suffix string, allow int64) func(Op) error {
	var mu sync.Mutex
	var written int64
	return func(op Op) error {
		if !strings.HasSuffix(filepath.Base(op.Path), suffix) {
			return nil
		}
		switch op.Kind {
		case Write:
			mu.Lock()
			defer mu.Unlock()
			if written+int64(op.N) > allow {
				written = allow + 1
				return ErrNoSpace
			}
			written += int64(op.N)
		case Sync:
			mu.Lock()
			defer mu.Unlock()
			if written > allow {
				return ErrNoSpace
			}
		}
		return nil
	}
}

// Render lists ops one a line, each after its index, for a test's failure
// message; of a run of writes to one file only the first is shown.
func Render(ops []Op) string {
	var b strings.Builder
	for i, o := range ops {
		if o.Kind == Write && i > 0 && ops[i-1].Kind == Write && ops[i-1].Path == o.Path {
			continue
		}
		fmt.Fprintf(&b, "%3d %s\n", i, o)
	}
	return b.String()
}
