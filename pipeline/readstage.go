package pipeline

import (
	"context"
	"io"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/spill"
	"markimport/readers"
)

// The read stage: one goroutine decodes records, another validates them,
// in batches, while the caller groups them, so that decoding, checking and
// grouping overlap on the cores there are. Every goroutine belongs to an
// errgroup under the run's context: when the run is interrupted each of
// them returns at its next batch, and the stage within milliseconds.

// batchSize is how many records travel between the goroutines at a time.
const batchSize = 1024

// validated is one record after validation: a change, or why it is
// invalid; for a change, the partition of its user when the store needs it.
type validated struct {
	c    mark.Change
	bad  *plan.Invalid
	part int
}

// read reads and validates every record, reporting invalid rows at once
// and passing valid changes on to each, with their partition when part is
// set. It returns ctx's error when interrupted, or the input's.
func (r *run) read(ctx context.Context, in readers.Reader, part bool, each func(*mark.Change, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	type recordBatch struct {
		recs []readers.Record
		err  error // after the records: io.EOF or a read error
	}
	type validBatch struct {
		items []validated
		err   error
	}
	raw := make(chan recordBatch, 4)
	rawFree := make(chan []readers.Record, 8)
	out := make(chan validBatch, 4)
	free := make(chan []validated, 8) // batches handed back for reuse
	g.Go(func() error {
		defer close(raw)
		for {
			var recs []readers.Record
			select {
			case recs = <-rawFree:
				recs = recs[:0]
			default:
				recs = make([]readers.Record, 0, batchSize)
			}
			b := recordBatch{recs: recs}
			for len(b.recs) < batchSize {
				rec, err := in.Next()
				if err != nil {
					b.err = err
					break
				}
				b.recs = append(b.recs, rec)
			}
			select {
			case raw <- b:
			case <-gctx.Done():
				return gctx.Err()
			}
			if b.err != nil {
				return nil
			}
		}
	})
	g.Go(func() error {
		defer close(out)
		for rb := range raw {
			var items []validated
			select {
			case items = <-free:
				items = items[:0]
			default:
				items = make([]validated, 0, batchSize)
			}
			b := validBatch{items: items, err: rb.err}
			for i := range rb.recs {
				c, bad := plan.Validate(rb.recs[i])
				v := validated{c: c, bad: bad}
				if bad == nil && part {
					v.part = spill.PartitionOf(c.From)
				}
				b.items = append(b.items, v)
			}
			clear(rb.recs)
			select {
			case rawFree <- rb.recs:
			default:
			}
			select {
			case out <- b:
			case <-gctx.Done():
				return gctx.Err()
			}
			if b.err != nil {
				return nil
			}
		}
		return nil
	})
	consume := func() error {
		for b := range out {
			for i := range b.items {
				v := &b.items[i]
				r.sum.Rows++
				if err := r.prove(v); err != nil {
					return err
				}
				if v.bad != nil {
					r.invalid(v.bad)
					continue
				}
				if err := each(&v.c, v.part); err != nil {
					return err
				}
			}
			r.ctr.RowsRead.Add(int64(len(b.items)))
			// The changes were copied on: the batch can be reused.
			clear(b.items)
			select {
			case free <- b.items:
			default:
			}
			if b.err == io.EOF {
				if r.proven != nil {
					return r.proven.Unchecked()
				}
				return nil
			}
			if b.err != nil {
				return b.err
			}
			if err := gctx.Err(); err != nil {
				return err
			}
		}
		return gctx.Err()
	}
	err := consume()
	g.Go(func() error { return err }) // an error of the consumer stops the others
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// prove checks a row that a resumed run's report has ok against what the
// input holds on it (see provenRows).
func (r *run) prove(v *validated) error {
	if r.proven == nil {
		return nil
	}
	if v.bad != nil {
		if !r.proven.Has(v.bad.Row) {
			return nil
		}
		return r.proven.Check(v.bad.Row, v.bad.From, v.bad.Type, v.bad.Peer, v.bad.Message)
	}
	if !r.proven.Has(v.c.Row) {
		return nil
	}
	return r.proven.Check(v.c.Row, v.c.From, v.c.Conv.TypeName(), v.c.Conv.Peer, "")
}
