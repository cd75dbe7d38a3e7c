package bucket

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
)

// Object is an object's location: s3://Bucket/Key.
type Object struct{ Bucket, Key string }

// String is the object's URL.
func (o Object) String() string { return "s3://" + o.Bucket + "/" + o.Key }

// Join is the object name below the prefix o (o.Key empty or ending in
// "/" is a prefix; otherwise a "/" is put between).
func (o Object) Join(name string) Object {
	k := o.Key
	if k != "" && !strings.HasSuffix(k, "/") {
		k += "/"
	}
	return Object{o.Bucket, k + name}
}

// Upload is an object being written: it appears only at Commit.
type Upload interface {
	io.Writer
	// Commit publishes the object.
	Commit() error
	// Abort drops what was uploaded.
	Abort() error
}

// Store is what this package needs of an object store.
type Store interface {
	// Exists reports whether the object exists.
	Exists(ctx context.Context, o Object) (bool, error)
	// List returns the keys of every object under the prefix o, sorted.
	List(ctx context.Context, o Object) ([]string, error)
	// Get reads an object whole; errors.Is(err, fs.ErrNotExist) when it
	// is missing.
	Get(ctx context.Context, o Object) ([]byte, error)
	// Put writes an object in one request; ifAbsent: an error wrapping
	// ErrExist when the object exists.
	Put(ctx context.Context, o Object, data []byte, ifAbsent bool) error
	// Create starts an object that appears only complete.
	Create(ctx context.Context, o Object, ifAbsent bool) (Upload, error)
	// Delete removes an object.
	Delete(ctx context.Context, o Object) error
}

// isNotExist reports a missing object.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// isExist reports a conditional write refused.
func isExist(err error) bool { return errors.Is(err, fs.ErrExist) }
