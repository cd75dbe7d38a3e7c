package pipeline

import (
	"fmt"
	"io"

	"markimport/readers"
)

// validated is one record after validation: a change, or why it is
// invalid; for a change, the stringHash of its from, peer and custom mark.
type validated struct {
	c   Change
	bad *Invalid
	h   [3]uint64
}

type validatedBatch struct {
	items []validated
	err   error // after the items: io.EOF or a read error
}

// validateAhead reads and validates records in a goroutine, in batches, so
// that decoding and checking the input and grouping it use two cores. With
// hash it also computes the interner's hashes of each valid change (the
// store needs them; streaming sorted input does not). The returned stop
// function ends the goroutine early.
func validateAhead(in readers.Reader, hash bool) (<-chan validatedBatch, chan<- []validated, func()) {
	const size = 1024
	out := make(chan validatedBatch, 4)
	free := make(chan []validated, 8) // batches handed back for reuse
	quit := make(chan struct{})
	go func() {
		defer close(out)
		for {
			var items []validated
			select {
			case items = <-free:
				items = items[:0]
			default:
				items = make([]validated, 0, size)
			}
			b := validatedBatch{items: items}
			for len(b.items) < size {
				rec, err := in.Next()
				if err != nil {
					b.err = err
					break
				}
				c, bad := Validate(rec)
				v := validated{c: c, bad: bad}
				if bad == nil && hash {
					v.h = [3]uint64{stringHash(c.From), stringHash(c.Conv.Peer), 0}
					if c.Opt&OptCustom != 0 {
						v.h[2] = stringHash(c.Custom)
					}
				}
				b.items = append(b.items, v)
			}
			select {
			case out <- b:
			case <-quit:
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
// passing valid changes on, with their hashes when hash is set.
func (r *run) read(in readers.Reader, hash bool, warm func([]validated), each func(*Change, *[3]uint64) error) error {
	batches, free, stop := validateAhead(in, hash)
	defer stop()
	for b := range batches {
		if warm != nil {
			warm(b.items)
		}
		for i := range b.items {
			v := &b.items[i]
			r.sum.Rows++
			if v.bad != nil {
				r.invalid(v.bad)
				continue
			}
			if err := each(&v.c, &v.h); err != nil {
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
// use both cores. Users are emitted in the order the store gives them:
// partition by partition, and within one in order of first appearance, for
// the in-memory and the spilled store alike. With reuse, emit is done with
// a user's plan when it returns (it keeps nothing), so that the memory of
// plans is reused.
func planAhead(st *store, done *RowSet, reuse bool, emit func([]Request, []Rejected) error) error {
	var plan func(k, p int, sl, mem *slab) error
	if st.Spilled() {
		var parts [planners]partBuf
		plan = func(k, p int, sl, mem *slab) error {
			sf := st.spilled[p]
			if sf.n == 0 {
				return nil
			}
			pb := &parts[k]
			if err := sf.read(pb); err != nil {
				return fmt.Errorf("spill partition %d: %w", p, err)
			}
			pb.eachUser(func(changes []Change) {
				reqs, rej := planUser(changes, MaxConversations, done, mem)
				sl.plans = append(sl.plans, userPlan{reqs, rej})
			})
			return nil
		}
	} else {
		m := st.groupMem()
		var bufs [planners][]Change
		plan = func(k, p int, sl, mem *slab) error {
			sl.warm = st.warmPartition(m, p)
			for g := m.base[p]; g < m.base[p+1]; g++ {
				bufs[k] = st.userChanges(m, g, bufs[k][:0])
				reqs, rej := planUser(bufs[k], MaxConversations, done, mem)
				sl.plans = append(sl.plans, userPlan{reqs, rej})
			}
			return nil
		}
	}
	return planPartitions(reuse, plan, emit)
}

// planners is how many goroutines plan partitions, taking them in turns.
const planners = 2

// planPartitions runs the planners: planner k calls plan(k, p, sl, mem)
// for partitions p = k, k+planners, ..., which appends the plans of p's
// users to sl.plans, taking their memory from mem (nil: the heap). The
// batches are emitted in partition order, so the result is the same as
// planning one partition after another. With reuse, each planner plans
// into slabs that come back to it once their batch is emitted.
func planPartitions(reuse bool, plan func(k, p int, sl, mem *slab) error, emit func([]Request, []Rejected) error) error {
	var outs, free [planners]chan *slab
	var errs [planners]error
	quit := make(chan struct{})
	for k := range planners {
		outs[k] = make(chan *slab, 2)
		free[k] = make(chan *slab, 4)
		go func() {
			defer close(outs[k])
			for p := k; p < Partitions; p += planners {
				var sl *slab
				select {
				case sl = <-free[k]:
					sl.reset()
				default:
					sl = &slab{}
				}
				mem := sl
				if !reuse {
					mem = nil
				}
				if err := plan(k, p, sl, mem); err != nil {
					errs[k] = err
					return
				}
				select {
				case outs[k] <- sl:
				case <-quit:
					return
				}
			}
		}()
	}
	stop := func() {
		close(quit)
		for _, o := range outs {
			for range o {
			}
		}
	}
	for p := range Partitions {
		k := p % planners
		sl, ok := <-outs[k]
		if !ok { // planner k failed
			stop()
			return errs[k]
		}
		for _, u := range sl.plans {
			if err := emit(u.reqs, u.rej); err != nil {
				stop()
				return err
			}
		}
		if reuse {
			select {
			case free[k] <- sl:
			default:
			}
		}
	}
	close(quit)
	return nil
}
