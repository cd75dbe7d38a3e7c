package readers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"markimport/readers/objstore"
)

// Inputs in object storage: an --input that starts with s3:// names an
// object, a prefix read as a folder, or a glob, resolved here to the same
// parts a local file, folder or glob gives (objectwalk.go) and read by the
// same readers: a CSV object streamed from one GET (decompressed on the
// fly, never copied to disk), a Parquet object through an io.ReaderAt of
// ranged GETs (its footer, then the column chunks of the known columns in
// 256 KiB reads), so memory is as for a local file and the columns
// markimport does not read are never fetched.
//
// A part that is an object keeps what the store said of it when the input
// was resolved (size and ETag); an object that is another by the time it
// is read (a new ETag or size) is an input error, never a mix of two
// versions, and the ETag, size and key are the object's identity for a
// resumed run (Part.Object).

// object is a part that is an object in a bucket.
type object struct {
	store *objstore.Store
	loc   objstore.Location
	info  objstore.Info // as listed or looked up when the input was resolved
}

// Object returns the identity of a part that is an object in a bucket:
// its ETag and size as the store gave them when the input was resolved.
// ok is false for a local file.
func (p *Part) Object() (etag string, size int64, ok bool) {
	if p.obj == nil {
		return "", 0, false
	}
	return p.obj.info.ETag, p.obj.info.Size, true
}

// objectStores holds the client of object storage: made the first time an
// input names an object (a run with local inputs only needs no settings),
// and made again only when the AWS_ environment it was made from changed
// (a process that is a test starting servers of its own).
var objectStores struct {
	sync.Mutex
	env   string
	store *objstore.Store
}

// objectStore returns the client of object storage for the environment.
func objectStore(ctx context.Context) (*objstore.Store, error) {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	slices.Sort(env)
	key := strings.Join(env, "\x00")
	objectStores.Lock()
	defer objectStores.Unlock()
	if objectStores.store != nil && objectStores.env == key {
		return objectStores.store, nil
	}
	s, err := objstore.New(ctx)
	if err != nil {
		return nil, err
	}
	objectStores.store, objectStores.env = s, key
	return s, nil
}

// objectError is err of the store about the location l as an input error
// naming the object, with what to check when the store could not be
// reached at all.
func objectError(url string, l objstore.Location, err error) error {
	msg := strings.Replace(err.Error(), " "+l.String(), "", 1)
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") {
		msg += " (cannot reach the object store: check AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION and the network)"
	}
	return &InputError{Path: url, Err: &storeError{msg: msg, err: err}}
}

// storeError is an error of the store said without the object's name,
// which the InputError holding it gives.
type storeError struct {
	msg string
	err error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.err }

// openURL opens the object an s3:// URL names, for Open.
func openURL(url string, opts Options) (Reader, error) {
	l, err := objstore.Parse(url)
	if err != nil {
		return nil, &InputError{Path: url, Err: err}
	}
	ctx := context.Background()
	s, err := objectStore(ctx)
	if err != nil {
		return nil, &InputError{Path: url, Err: err}
	}
	info, err := s.Stat(ctx, l)
	if err != nil {
		return nil, objectError(url, l, err)
	}
	return openObject(url, &object{store: s, loc: l, info: info}, opts)
}

// openObject returns a reader of the records of the object o, named url in
// messages: CSV from one streamed GET, Parquet by ranged GETs.
func openObject(url string, o *object, opts Options) (Reader, error) {
	format, err := FormatOf(url, opts.Format)
	if err != nil {
		return nil, &InputError{Path: url, Err: err}
	}
	ctx := context.Background()
	if format == Parquet {
		return parquetFrom(url, o.store.ReaderAt(ctx, o.loc, o.info), o.info.Size, noClose{}, opts)
	}
	rc, info, err := o.store.Open(ctx, o.loc)
	if err != nil {
		return nil, objectError(url, o.loc, err)
	}
	if info.ETag != o.info.ETag || info.Size != o.info.Size {
		rc.Close()
		return nil, &InputError{Path: url, Err: fmt.Errorf("the object changed since the input was listed (ETag %s, %d bytes then; ETag %s, %d bytes now): run again on what the bucket holds now", o.info.ETag, o.info.Size, info.ETag, info.Size)}
	}
	r, closer, err := decompress(url, rc)
	if err != nil {
		rc.Close()
		return nil, &InputError{Path: url, Err: err}
	}
	cr, err := newCSVReader(url, r, closer, opts)
	if err != nil {
		closer.Close()
		return nil, err
	}
	return cr, nil
}

// noClose is the closer of ranged reads: each GET closes its own answer.
type noClose struct{}

func (noClose) Close() error { return nil }

// isParquetObject reports whether an object starts with Parquet's magic.
func isParquetObject(o *object) bool {
	var head [4]byte
	_, err := o.store.ReaderAt(context.Background(), o.loc, o.info).ReadAt(head[:], 0)
	return err == nil && string(head[:]) == "PAR1"
}
