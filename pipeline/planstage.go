package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/spill"
)

// The plan stage: two planners take the store's partitions as they come
// free (their sizes differ) and plan each user, while emit, in the
// caller's goroutine, reports and hands on the plans of earlier partitions,
// in partition order: the result is the same as planning one partition
// after another. Planning and sending or reporting use both cores. The
// planners belong to an errgroup under the run's context.

// planners is how many goroutines plan partitions.
const planners = 2

// userPlan is the plan of one user.
type userPlan struct {
	reqs []mark.Request
	rej  []plan.Rejected
}

// planned is the plans of one partition, with the memory they use, and
// the report lines formatted ahead for its users (nil: none are).
type planned struct {
	plans []userPlan
	arena plan.Arena
	lines *partLines
	err   error // the planner's, when it failed
}

// reset makes the batch's memory available again; every plan handed out
// from it must be done with.
func (b *planned) reset() {
	b.err = nil
	clear(b.plans) // appended since the last reset: past them is zero
	b.plans = b.plans[:0]
	b.arena.Reset()
	if b.lines != nil {
		b.lines.reset()
	}
}

// partitionSource gives the encoded changes of each partition: a
// spill.Store.
type partitionSource interface {
	Take(p int) ([][]byte, int64, error)
}

// partFilter returns, for partition p, what becomes of each of its users'
// requests before they are emitted (the incremental state's filter), and
// a function to call once every user of p went through it (nil: none);
// it runs in the planner goroutine. lines, when not nil, takes the report
// lines the filter writes.
type partFilter func(p int, lines *partLines) (func([]mark.Request) []mark.Request, func(), error)

// planHooks is what planAhead calls beside planning, each optional. seen,
// filter and report run in the planner goroutines, flush in emit's.
type planHooks struct {
	// seen is given each planned user's requests, before the filter.
	seen func([]mark.Request)
	// filter is the incremental state's (see partFilter).
	filter partFilter
	// lines makes the report lines that filter and report format ahead,
	// a partition at a time (nil: none are).
	lines func() *partLines
	// report formats into the partition's lines what it reports of a
	// user's plan, and returns what emit still takes.
	report func(*partLines, []mark.Request, []plan.Rejected) ([]mark.Request, []plan.Rejected)
	// flush writes a partition's lines once its plans were emitted.
	flush func(*partLines)
}

// planAhead plans the store's partitions (done rows left out, as for a
// resumed run) and calls emit with each user's plan, after the hooks.
// With reuse, emit is done with a plan when it returns (it keeps nothing,
// or only what a filter returned in memory of its own), so that the
// memory of plans is reused. It returns ctx's error when interrupted.
func planAhead(ctx context.Context, st partitionSource, done mark.Rows, reuse bool, h planHooks, emit func([]mark.Request, []plan.Rejected) error) error {
	var decoders [planners]spill.Decoder
	planPart := func(k, p int, b *planned) error {
		blocks, n, err := st.Take(p)
		if err == nil {
			err = decoders[k].Decode(blocks, n)
		}
		if err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
		arena := &b.arena
		if !reuse {
			arena = nil
		}
		if h.lines != nil && b.lines == nil {
			b.lines = h.lines()
		}
		var f func([]mark.Request) []mark.Request
		var release func()
		if h.filter != nil {
			if f, release, err = h.filter(p, b.lines); err != nil {
				return err
			}
		}
		decoders[k].EachUser(func(changes []mark.Change) {
			reqs, rej := arena.PlanUser(changes, mark.MaxConversations, done)
			if h.seen != nil && (len(reqs) > 0 || len(rej) > 0) {
				h.seen(reqs)
			}
			if f != nil && len(reqs) > 0 {
				reqs = f(reqs)
			}
			if h.report != nil {
				reqs, rej = h.report(b.lines, reqs, rej)
			}
			if len(reqs) > 0 || len(rej) > 0 {
				b.plans = append(b.plans, userPlan{reqs, rej})
			}
		})
		if release != nil {
			release()
		}
		return nil
	}
	return planPartitions(ctx, reuse, planPart, emit, h.flush)
}

// planPartitions runs the planners: each takes the next partition p not yet
// taken and calls planPart(k, p, b) (k: the planner's number), which
// appends the plans of p's users to b. Partitions are taken at most a few
// ahead of emit, since their plans wait in memory (a partition of a
// 100M-row file plans into tens of megabytes, and its report lines into
// about as much). After a partition's plans, flush (when not nil) writes
// the lines formatted for it. With reuse, batches come back to the
// planners once emitted.
func planPartitions(ctx context.Context, reuse bool, planPart func(k, p int, b *planned) error, emit func([]mark.Request, []plan.Rejected) error, flush func(*partLines)) error {
	const ahead = 2 * planners
	var results [spill.Partitions]chan *planned
	for p := range results {
		results[p] = make(chan *planned, 1)
	}
	tokens := make(chan struct{}, ahead) // partitions taken and not yet emitted
	free := make(chan *planned, ahead+planners)
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int32
	for k := range planners {
		g.Go(func() error {
			for {
				select {
				case tokens <- struct{}{}:
				case <-gctx.Done():
					return nil
				}
				p := int(next.Add(1) - 1)
				if p >= spill.Partitions {
					return nil
				}
				var b *planned
				select {
				case b = <-free:
					b.reset()
				default:
					b = &planned{}
				}
				err := planPart(k, p, b)
				b.err = err
				// b belongs to emit once sent (it may come back through
				// free to another planner): only the local err is read.
				results[p] <- b // never blocks: one result per partition
				if err != nil {
					return nil
				}
			}
		})
	}
	emitAll := func() error {
		for p := range spill.Partitions {
			var b *planned
			select {
			case b = <-results[p]: // taken in order, so coming
			case <-gctx.Done():
				return gctx.Err()
			}
			if b.err != nil {
				return b.err
			}
			for _, u := range b.plans {
				if err := emit(u.reqs, u.rej); err != nil {
					return err
				}
			}
			if flush != nil && b.lines != nil {
				flush(b.lines)
			}
			<-tokens
			if reuse {
				select {
				case free <- b:
				default:
				}
			}
		}
		return nil
	}
	err := emitAll()
	g.Go(func() error { return err }) // stops the planners when emit failed
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
