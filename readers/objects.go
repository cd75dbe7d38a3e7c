package readers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

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

// objectStore is the process's client of object storage (objstore.Shared).
func objectStore(ctx context.Context) (*objstore.Store, error) { return objstore.Shared(ctx) }

// objectError is err of the store about the location l as an input error
// naming the object, with what to check when the store could not be
// reached at all.
func objectError(url string, l objstore.Location, err error) error {
	msg := strings.Replace(err.Error(), " "+l.String(), "", 1)
	var ne net.Error
	if errors.As(err, &ne) {
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
func openURL(ctx context.Context, url string, opts Options) (Reader, error) {
	l, err := objstore.Parse(url)
	if err != nil {
		return nil, &InputError{Path: url, Err: err}
	}
	s, err := objectStore(ctx)
	if err != nil {
		return nil, &InputError{Path: url, Err: err}
	}
	info, err := s.Stat(ctx, l)
	if err != nil {
		return nil, objectError(url, l, err)
	}
	return openObject(ctx, url, &object{store: s, loc: l, info: info}, opts)
}

// openObject returns a reader of the records of the object o, named url in
// messages: CSV from one streamed GET, Parquet by ranged GETs, every one
// made under ctx.
func openObject(ctx context.Context, url string, o *object, opts Options) (Reader, error) {
	format, err := FormatOf(url, opts.Format)
	if err != nil {
		return nil, &InputError{Path: url, Err: err}
	}
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
	r, closer, err := decompress(url, objectBody{rc, o.loc})
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

// objectBody is an object's stream whose errors (a connection that
// broke, a store that stopped answering) are said without the object's
// name, which the *InputError holding them gives, and are told from a
// damaged file by the codecs (codecError).
type objectBody struct {
	io.ReadCloser
	loc objstore.Location
}

func (b objectBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &storeError{msg: strings.Replace(err.Error(), " "+b.loc.String(), "", 1), err: err}
	}
	return n, err
}

// noClose is the closer of ranged reads: each GET closes its own answer.
type noClose struct{}

func (noClose) Close() error { return nil }

// isParquetObject reports whether an object starts with Parquet's magic.
func isParquetObject(ctx context.Context, o *object) bool {
	var head [4]byte
	_, err := o.store.ReaderAt(ctx, o.loc, o.info).ReadAt(head[:], 0)
	return err == nil && string(head[:]) == "PAR1"
}
