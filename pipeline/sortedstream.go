package pipeline

import (
	"context"
	"fmt"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/spill"
	"markimport/readers"
)

// streamSorted plans input grouped by user as it is read: a user is planned
// when its rows end. A user seen again after other users cannot be merged
// with its earlier rows, which may already be sent: those rows are invalid.
func (r *run) streamSorted(ctx context.Context, in readers.Reader) error {
	seen := spill.NewHashSet()
	var group []mark.Change
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		seen.Add(spill.Hash(group[0].From))
		reqs, rej := plan.PlanUser(group, mark.MaxConversations, r.opts.Done)
		group = group[:0]
		if len(reqs) > 0 || len(rej) > 0 {
			r.seen(reqs)
		}
		return r.emit(reqs, rej)
	}
	err := r.read(ctx, in, false, func(c *mark.Change, _ int) error {
		if len(group) > 0 && group[0].From == c.From {
			group = append(group, *c)
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		if seen.Has(spill.Hash(c.From)) {
			r.invalid(&plan.Invalid{Row: c.Row, From: c.From, Type: c.Conv.TypeName(), Peer: c.Conv.Peer,
				Message: fmt.Sprintf("from_account: %q appeared earlier, separated from this row by other users; with --sorted each user's rows must be contiguous", c.From)})
			return nil
		}
		group = append(group, *c)
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	r.ctr.RowsTotal.Store(r.sum.Rows)
	return nil
}
