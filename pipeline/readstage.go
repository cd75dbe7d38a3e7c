package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"

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

// rawBatches is how many decoded batches wait for validation at most:
// 16,384 records, the rows a Parquet file is decoded in at a time (every
// column at once, in parallel). Validating and grouping go on with the
// last of them while the next are decoded, instead of waiting with a core
// idle: with 4 batches, validate of a 1M-row Parquet file took 1.04 times
// as long (two runs of 9 and 11 pairs in turns); 32 batches gain nothing
// more. The records held are about 3 MB.
const rawBatches = 16

// validated is one record after validation: a change, or why it is
// invalid; for a change, the partition of its user when the store needs it.
type validated struct {
	c    mark.Change
	bad  *plan.Invalid
	part int
}

// readStage is the channels between the read stage's goroutines: decoded
// batches (raw) and validated ones (out), and each kind handed back for
// reuse once done with (rawFree, free).
type readStage struct {
	raw     chan recordBatch
	rawFree chan []readers.Record
	out     chan validBatch
	free    chan []validated
}

// recordBatch is up to batchSize decoded records; err, after them, is
// io.EOF or a read error.
type recordBatch struct {
	recs []readers.Record
	err  error
}

// validBatch is a recordBatch validated.
type validBatch struct {
	items []validated
	err   error
}

// read reads and validates every record, reporting invalid rows at once
// and passing valid changes on to each, with their partition when part is
// set. It returns ctx's error when interrupted, or the input's.
func (r *run) read(ctx context.Context, in readers.Reader, part bool, each func(*mark.Change, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	st := &readStage{raw: make(chan recordBatch, rawBatches), rawFree: make(chan []readers.Record, rawBatches+4),
		out: make(chan validBatch, 4), free: make(chan []validated, 8)}
	g.Go(func() error { return st.decode(gctx, in) })
	validate := plan.Validate
	if r.opts.StrictBits {
		validate = plan.ValidateStrictBits
	}
	g.Go(func() error { return st.validate(gctx, validate, part) })
	err := r.consume(gctx, st, each)
	g.Go(func() error { return err }) // an error of the consumer stops the others
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// decode reads the input's records, a batch at a time, into raw, until
// the input ends or fails.
func (st *readStage) decode(ctx context.Context, in readers.Reader) error {
	defer close(st.raw)
	for {
		if err := ctx.Err(); err != nil {
			return err // not a batch more once interrupted, however much room raw has
		}
		var recs []readers.Record
		select {
		case recs = <-st.rawFree:
			recs = recs[:0]
		default:
			recs = make([]readers.Record, 0, batchSize)
		}
		b := recordBatch{recs: recs}
		for len(b.recs) < batchSize {
			n := len(b.recs)
			b.recs = b.recs[:n+1]
			if err := readers.NextInto(in, &b.recs[n]); err != nil {
				b.recs, b.err = b.recs[:n], err
				break
			}
		}
		select {
		case st.raw <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		if b.err != nil {
			return nil
		}
	}
}

// validate validates each batch of raw into out with validate, with the
// partition of each valid change's user when part is set.
func (st *readStage) validate(ctx context.Context, validate func(*readers.Record) (mark.Change, *plan.Invalid), part bool) error {
	defer close(st.out)
	for rb := range st.raw {
		var items []validated
		select {
		case items = <-st.free:
			items = items[:0]
		default:
			items = make([]validated, 0, batchSize)
		}
		b := validBatch{items: items, err: rb.err}
		for i := range rb.recs {
			// Validated into its slot: a change is copied once, not three
			// times.
			b.items = append(b.items, validated{})
			v := &b.items[len(b.items)-1]
			v.c, v.bad = validate(&rb.recs[i])
			if v.bad == nil && part {
				v.part = spill.PartitionOf(v.c.From)
			}
		}
		clear(rb.recs)
		select {
		case st.rawFree <- rb.recs:
		default:
		}
		select {
		case st.out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		if b.err != nil {
			return nil
		}
	}
	return nil
}

// consume takes the validated batches in order: it counts each row,
// proves it for a resumed run, reports it invalid or passes its change on
// to each. At the input's end it logs the warning about bits 4–31, if any
// valid row used them. It returns at the input's end (io.EOF: nil, or a
// resumed run's row the input lacks), at its error, or when ctx is done.
func (r *run) consume(ctx context.Context, st *readStage, each func(*mark.Change, int) error) error {
	for b := range st.out {
		for i := range b.items {
			v := &b.items[i]
			r.sum.Rows++
			if err := r.prove(v); err != nil {
				return err
			}
			if v.bad != nil {
				if err := r.flagAsType(v.bad); err != nil {
					return err
				}
				r.invalid(v.bad)
				continue
			}
			r.undefined.see(&v.c)
			if err := each(&v.c, v.part); err != nil {
				return err
			}
		}
		r.ctr.RowsRead.Add(int64(len(b.items)))
		// The changes were copied on: the batch can be reused.
		clear(b.items)
		select {
		case st.free <- b.items:
		default:
		}
		if b.err == io.EOF {
			r.warnUndefinedBits()
			if r.proven != nil {
				return r.proven.Unchecked()
			}
			return nil
		}
		if b.err != nil {
			return b.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// flagAsType stops the input when --map or a mapping file put a 0/1 flag
// onto type (a legacy is_group, say): its 0 rows are invalid, but its 1
// rows read as c2c, silently, whatever they were. It returns an input
// error for an invalid row whose type is "0" when a column is mapped
// onto type.
func (r *run) flagAsType(bad *plan.Invalid) error {
	if strings.TrimSpace(bad.Type) != "0" {
		return nil
	}
	if from := r.opts.Reader.TypeFrom; from != "" {
		return &readers.InputError{Path: r.opts.Input, Err: fmt.Errorf("row %d's type is \"0\", not a type (1 or c2c, 2 or group): %s", bad.Row, from)}
	}
	for from, to := range r.opts.Reader.Map {
		if readers.NormalizeName(to) == readers.NormalizeName(readers.Type.String()) {
			return &readers.InputError{Path: r.opts.Input, Err: fmt.Errorf(
				"--map %s=%s: row %d's type is \"0\": %s looks like a 0/1 flag, not a type (1 or c2c, 2 or group), and its 1s would read as c2c; "+
					"make type and the peer column from it with DuckDB (the README's legacy-table recipe)", from, to, bad.Row, from)}
		}
	}
	return nil
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
