package bucket

import (
	"context"
	"fmt"
	"io"
	"os"

	"markimport/pipeline/durable"
)

// Destination makes outputs in a store (a durable.Destination). Names given to Create are object
// URLs (s3://BUCKET/KEY) parsed by parse.
type Destination struct {
	ctx       context.Context
	store     Store
	parse     func(string) (Object, error)
	overwrite bool
}

// NewDestination is the store as a destination. Without overwrite every
// object is published with a conditional put: one that exists is never
// replaced (the caller checks with Exists before the run, so that the
// refusal comes before anything is sent).
func NewDestination(ctx context.Context, store Store, parse func(string) (Object, error), overwrite bool) *Destination {
	return &Destination{ctx: ctx, store: store, parse: parse, overwrite: overwrite}
}

// Create starts the object name: nothing is there until Commit.
func (d *Destination) Create(name string) (durable.Output, error) {
	o, err := d.parse(name)
	if err != nil {
		return nil, err
	}
	up, err := d.store.Create(d.ctx, o, !d.overwrite)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o, err)
	}
	return &objectOutput{obj: o, up: up}, nil
}

// objectOutput is an object on its way to the store (a durable.Output).
type objectOutput struct {
	obj  Object
	up   Upload
	done bool
	err  error
}

// Write uploads p as the object's next bytes.
func (o *objectOutput) Write(p []byte) (int, error) {
	if o.done {
		return 0, fmt.Errorf("%s: write after commit or abort", o.obj)
	}
	n, err := o.up.Write(p)
	if err != nil && o.err == nil {
		o.err = err
	}
	return n, err
}

// Name is the object's URL.
func (o *objectOutput) Name() string { return o.obj.String() }

// Commit publishes the object; a conditional put refused says that the
// object exists.
func (o *objectOutput) Commit() error {
	if o.done {
		return fmt.Errorf("%s: committed after commit or abort", o.obj)
	}
	o.done = true
	if o.err != nil {
		o.up.Abort()
		return fmt.Errorf("%s: %w", o.obj, o.err)
	}
	if err := o.up.Commit(); err != nil {
		o.up.Abort()
		if isExist(err) {
			return fmt.Errorf("%s appeared while this run wrote it (another run?): it was not replaced; pass --overwrite to replace it", o.obj)
		}
		return fmt.Errorf("%s: %w", o.obj, err)
	}
	return nil
}

// Abort drops the upload: the object is as it was.
func (o *objectOutput) Abort() {
	if o.done {
		return
	}
	o.done = true
	o.up.Abort()
}

// UploadFile copies the local file path into a new object name of dst,
// whole or not at all.
func UploadFile(dst *Destination, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := dst.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, f); err != nil {
		out.Abort()
		return fmt.Errorf("%s: %w", out.Name(), err)
	}
	return out.Commit()
}
