package pipeline

import (
	"errors"
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
// use both cores. Users are emitted in the order the store gives them.
// With reuse, emit is done with a user's plan when it returns (it keeps
// nothing), so that the memory of plans is reused.
func planAhead(st *store, done *RowSet, reuse bool, emit func([]Request, []Rejected) error) error {
	if !st.Spilled() {
		return planMemParallel(st, done, reuse, emit)
	}
	const size = 256
	batches := make(chan []userPlan, 4)
	quit := make(chan struct{})
	var planErr error
	go func() {
		defer close(batches)
		batch := make([]userPlan, 0, size)
		send := func() bool {
			select {
			case batches <- batch:
				batch = make([]userPlan, 0, size)
				return true
			case <-quit:
				return false
			}
		}
		planErr = st.eachSpilledUser(func(changes []Change) error {
			reqs, rej := PlanUser(changes, MaxConversations, done)
			batch = append(batch, userPlan{reqs, rej})
			if len(batch) == size && !send() {
				return errStopped
			}
			return nil
		})
		if planErr == nil && len(batch) > 0 {
			send()
		}
	}()
	var err error
	for b := range batches {
		for _, u := range b {
			if err == nil {
				err = emit(u.reqs, u.rej)
			}
		}
		if err != nil {
			close(quit)
			for range batches {
			}
			return err
		}
	}
	if planErr != nil {
		return planErr
	}
	return nil
}

// errStopped ends the planning goroutine when its consumer gave up.
var errStopped = errors.New("stopped")

// planMemParallel plans the in-memory users with two planners taking the
// partitions in turns, each sending a partition's plans as one batch; the
// batches are emitted in partition order, so the result is the same as
// planning one user after another. With reuse, each planner plans into
// slabs that come back to it once their batch is emitted.
func planMemParallel(st *store, done *RowSet, reuse bool, emit func([]Request, []Rejected) error) error {
	m := st.groupMem()
	const planners = 2
	var outs, free [planners]chan *slab
	quit := make(chan struct{})
	for k := range planners {
		outs[k] = make(chan *slab, 2)
		free[k] = make(chan *slab, 4)
		go func() {
			defer close(outs[k])
			var buf []Change
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
				sl.warm = st.warmPartition(m, p)
				for g := m.base[p]; g < m.base[p+1]; g++ {
					buf = st.userChanges(m, g, buf[:0])
					reqs, rej := planUser(buf, MaxConversations, done, mem)
					sl.plans = append(sl.plans, userPlan{reqs, rej})
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
		sl := <-outs[p%planners]
		for _, u := range sl.plans {
			if err := emit(u.reqs, u.rej); err != nil {
				stop()
				return err
			}
		}
		if reuse {
			select {
			case free[p%planners] <- sl:
			default:
			}
		}
	}
	close(quit)
	return nil
}
