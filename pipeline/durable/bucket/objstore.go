package bucket

import (
	"context"
	"io"

	"markimport/readers/objstore"
)

// Objects is the object-storage client as the Store this package writes
// to.
func Objects(s *objstore.Store) Store { return objects{s} }

type objects struct{ s *objstore.Store }

func loc(o Object) objstore.Location { return objstore.Location{Bucket: o.Bucket, Key: o.Key} }

// Parse is an s3:// URL as an Object.
func Parse(s string) (Object, error) {
	l, err := objstore.Parse(s)
	return Object{l.Bucket, l.Key}, err
}

func (c objects) Exists(ctx context.Context, o Object) (bool, error) {
	_, err := c.s.Stat(ctx, loc(o))
	if isNotExist(err) {
		return false, nil
	}
	return err == nil, err
}

func (c objects) List(ctx context.Context, o Object) ([]string, error) {
	infos, err := c.s.List(ctx, loc(o))
	keys := make([]string, len(infos))
	for i, in := range infos {
		keys[i] = in.Key
	}
	return keys, err
}

func (c objects) Get(ctx context.Context, o Object) ([]byte, error) {
	r, _, err := c.s.Open(ctx, loc(o))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (c objects) Put(ctx context.Context, o Object, data []byte, ifAbsent bool) error {
	return c.s.Put(ctx, loc(o), data, ifAbsent)
}

func (c objects) Create(ctx context.Context, o Object, ifAbsent bool) (Upload, error) {
	w, err := c.s.Create(ctx, loc(o), ifAbsent)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (c objects) Delete(ctx context.Context, o Object) error { return c.s.Delete(ctx, loc(o)) }
