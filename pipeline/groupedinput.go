package pipeline

import (
	"context"

	"markimport/pipeline/spill"
	"markimport/readers"
)

// Unsorted input is grouped by user before it is planned: every row of a
// user must be known before the user is planned, so the input is read
// whole into a store first (readGrouped), then planned partition by
// partition (planGrouped).

// readGrouped reads the whole input into a store that spills to disk
// beyond Options.MemoryBudget, and calls Options.InputRead once it holds
// no input error. The caller closes the store.
func (r *run) readGrouped(ctx context.Context, in readers.Reader) (*spill.Store, error) {
	st := spill.New(r.opts.MemoryBudget, r.opts.TempDir)
	if err := r.read(ctx, in, true, st.Add); err != nil {
		st.Close()
		return nil, err
	}
	if r.sum.Rows == 0 {
		st.Close()
		return nil, r.noRows()
	}
	r.ctr.RowsTotal.Store(r.sum.Rows)
	if err := r.markInputRead(); err != nil {
		st.Close()
		return nil, err
	}
	r.sum.Spilled = st.Spilled()
	if st.Spilled() {
		r.log.Info("input read", "rows", r.sum.Rows, "spilled", true, "spilled_rows", st.SpilledRows())
	} else {
		r.log.Info("input read", "rows", r.sum.Rows, "spilled", false, "held_bytes", st.Held())
	}
	return st, nil
}

// planGrouped returns the producer of a grouped input: it plans the
// store's partitions (done rows left out, or the state's filter applied)
// and emits each user's plan. offline says nothing is sent.
func (r *run) planGrouped(st *spill.Store, offline bool) func(context.Context) error {
	return func(ctx context.Context) error {
		// Plans are done with once emitted unless they go to the
		// sender, to a preview's gate or to a planEach hook.
		reuse := offline && r.onPlan == nil && !r.previewing()
		done, h := r.opts.Done, planHooks{seen: r.seen}
		if r.opts.State != nil {
			// The state's filter leaves done rows out, recording
			// their items. What it hands on to the sender is its
			// own copy, never the planner's memory: plans can be
			// made in reused memory on a real run too (a night
			// whose items are nearly all unchanged plans them all
			// only to drop them).
			done, h.filter = nil, r.stateFilter
			reuse = r.onPlan == nil
		}
		if lw, ok := r.rep.batchable(); ok && r.onPlan == nil {
			// What the planners report, they format, a partition's
			// lines at a time (partlines.go): the state's unchanged
			// and skipped items, and the whole of a dry run's plans.
			h.lines = func() *partLines { return newPartLines(lw) }
			h.flush = r.flushPart
			if r.opts.DryRun && r.gate == nil && r.opts.State == nil {
				h.report = r.reportDry
			}
		}
		return planAhead(ctx, st, done, reuse, h, r.emit)
	}
}
