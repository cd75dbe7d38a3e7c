package pipeline

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"markimport/readers"
)

// validated is one record after validation: a change, or why it is
// invalid; for a change, the partition of its user when the store needs it.
type validated struct {
	c    Change
	bad  *Invalid
	part int
}

type validatedBatch struct {
	items []validated
	err   error // after the items: io.EOF or a read error
}

// validateAhead reads records in one goroutine and validates them in
// another, in batches, so that decoding the input, checking it and grouping
// it (in the caller's goroutine) overlap on the cores there are. With part
// it also computes the partition of each valid change's user (the store
// needs it; streaming sorted input does not). The returned stop function
// ends the goroutines early.
func validateAhead(in readers.Reader, part bool) (<-chan validatedBatch, chan<- []validated, func()) {
	const size = 1024
	type recordBatch struct {
		recs []readers.Record
		err  error // after the records: io.EOF or a read error
	}
	raw := make(chan recordBatch, 4)
	rawFree := make(chan []readers.Record, 8)
	out := make(chan validatedBatch, 4)
	free := make(chan []validated, 8) // batches handed back for reuse
	quit := make(chan struct{})
	go func() {
		defer close(raw)
		for {
			var recs []readers.Record
			select {
			case recs = <-rawFree:
				recs = recs[:0]
			default:
				recs = make([]readers.Record, 0, size)
			}
			b := recordBatch{recs: recs}
			for len(b.recs) < size {
				rec, err := in.Next()
				if err != nil {
					b.err = err
					break
				}
				b.recs = append(b.recs, rec)
			}
			select {
			case raw <- b:
			case <-quit:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	go func() {
		defer close(out)
		for rb := range raw {
			var items []validated
			select {
			case items = <-free:
				items = items[:0]
			default:
				items = make([]validated, 0, size)
			}
			b := validatedBatch{items: items, err: rb.err}
			for i := range rb.recs {
				c, bad := Validate(rb.recs[i])
				v := validated{c: c, bad: bad}
				if bad == nil && part {
					v.part = partitionOf(c.From)
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
			case <-quit:
				for range raw {
				}
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	stopped := false
	return out, free, func() {
		if !stopped {
			stopped = true
			close(quit)
			for range out {
			}
		}
	}
}

// read reads and validates every record, reporting invalid rows at once and
// passing valid changes on, with their partition when part is set.
func (r *run) read(in readers.Reader, part bool, each func(*Change, int) error) error {
	batches, free, stop := validateAhead(in, part)
	defer stop()
	for b := range batches {
		for i := range b.items {
			v := &b.items[i]
			r.sum.Rows++
			if v.bad != nil {
				r.invalid(v.bad)
				continue
			}
			if err := each(&v.c, v.part); err != nil {
				return err
			}
		}
		r.ctr.RowsRead.Add(int64(len(b.items)))
		// The changes were copied into the store: the batch can be reused.
		clear(b.items)
		select {
		case free <- b.items:
		default:
		}
		if b.err == io.EOF {
			return nil
		}
		if b.err != nil {
			return b.err
		}
	}
	return nil
}

// userPlan is the plan of one user.
type userPlan struct {
	reqs []Request
	rej  []Rejected
}

// planAhead plans users in other goroutines while emit, in this one,
// reports and hands on the previous ones: planning and sending or reporting
// use both cores. Users are emitted partition by partition, and within one
// in order of first appearance, whether the store held the partitions in
// memory or spilled them. With reuse, emit is done with a user's plan when
// it returns (it keeps nothing), so that the memory of plans is reused.
func planAhead(st *store, done *RowSet, reuse bool, emit func([]Request, []Rejected) error) error {
	var parts [planners]partBuf
	plan := func(k, p int, sl, mem *slab) error {
		blocks, n, err := st.take(p)
		if err == nil {
			err = parts[k].decode(blocks, n)
		}
		if err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
		parts[k].eachUser(func(changes []Change) {
			reqs, rej := planUser(changes, MaxConversations, done, mem)
			sl.plans = append(sl.plans, userPlan{reqs, rej})
		})
		return nil
	}
	return planPartitions(reuse, plan, emit)
}

// planners is how many goroutines plan partitions.
const planners = 2

// planPartitions runs the planners: each takes the next partition p not yet
// taken and calls plan(k, p, sl, mem) (k: the planner's number), which
// appends the plans of p's users to sl.plans, taking their memory from mem
// (nil: the heap). Partitions are taken as planners come free, since their
// sizes differ, but at most a few ahead of emit, which gets them in
// partition order: the result is the same as planning one partition after
// another. With reuse, slabs come back to the planners once emitted.
func planPartitions(reuse bool, plan func(k, p int, sl, mem *slab) error, emit func([]Request, []Rejected) error) error {
	// How many partitions may be planned ahead of emit: a few, since their
	// plans wait in memory (a partition of a 100M-row file plans into tens
	// of megabytes).
	const ahead = 2 * planners
	var results [Partitions]chan *slab
	for p := range results {
		results[p] = make(chan *slab, 1)
	}
	tokens := make(chan struct{}, ahead) // partitions taken and not yet emitted
	free := make(chan *slab, ahead+planners)
	quit := make(chan struct{})
	var next atomic.Int32
	var wg sync.WaitGroup
	for k := range planners {
		wg.Go(func() {
			for {
				select {
				case tokens <- struct{}{}:
				case <-quit:
					return
				}
				p := int(next.Add(1) - 1)
				if p >= Partitions {
					return
				}
				var sl *slab
				select {
				case sl = <-free:
					sl.reset()
				default:
					sl = &slab{}
				}
				mem := sl
				if !reuse {
					mem = nil
				}
				err := plan(k, p, sl, mem)
				sl.err = err
				results[p] <- sl // never blocks: one result per partition
				if err != nil {  // (sl is emit's now)
					return
				}
			}
		})
	}
	stop := func() {
		close(quit)
		wg.Wait()
	}
	for p := range Partitions {
		sl := <-results[p] // taken in order, so coming
		if sl.err != nil {
			stop()
			return sl.err
		}
		for _, u := range sl.plans {
			if err := emit(u.reqs, u.rej); err != nil {
				stop()
				return err
			}
		}
		<-tokens
		if reuse {
			select {
			case free <- sl:
			default:
			}
		}
	}
	stop()
	return nil
}
