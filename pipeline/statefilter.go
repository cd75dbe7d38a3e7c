package pipeline

import (
	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
)

// stateFilter returns the filter of the users of partition p (called
// in a planner goroutine): an item whose rows all ended ok in the run
// being resumed is recorded as confirmed and left out (its rows are not
// reported again); an item the state finds unchanged is reported
// unchanged and left out; the items of a user outside the sample are
// reported skipped and left out; the rest is packed again, 100 items a request,
// so that requests stay at the lower bound of what is sent. The requests
// it returns are its own memory (items and rows copied), so that the
// plans it is given may be in a planner's reused arena.
func (r *run) stateFilter(p int, pl *partLines) (func([]mark.Request) []mark.Request, func(), error) {
	part, err := r.opts.State.Partition(p)
	if err != nil {
		return nil, nil, err
	}
	// The items of a user are looked at, and its unchanged ones
	// reported, before the next user's (in this goroutine): a user of
	// one request is read in its plan (the planner's memory, which the
	// planner does not read again: done rows are dropped from it in
	// place), the items of several are gathered in a buffer reused from
	// user to user, which spares a copy of every item of a night's file;
	// and its lines are formatted here, by both planners at once, outside
	// the report's lock: into the partition's lines (pl) when there are,
	// else written a user at a time.
	var all, same []mark.Item // same: a user's unchanged items, without pl
	var unchanged []bool
	var lines []byte // the lines of a user's items written at once, without pl
	reportAs := func(from string, items []mark.Item, status report.Status) {
		if pl != nil {
			pl.items(from, items, status)
			return
		}
		lines = r.rep.writeItemsAs(lines, r.ctr, from, items, status)
	}
	return func(reqs []mark.Request) []mark.Request {
		from := reqs[0].From
		items := reqs[0].Items
		all = all[:0] // this user's items only: clear(all) below clears no more
		if len(reqs) > 1 {
			for i := range reqs {
				all = append(all, reqs[i].Items...)
			}
			items = all
		}
		if r.opts.Done != nil {
			confirmed := func(it *mark.Item) { r.opts.State.Confirmed(from, it) }
			if r.opts.DryRun {
				confirmed = nil
			}
			items = plan.DropDone(items, r.opts.Done, confirmed)
		}
		if !r.opts.Sample.Keeps(from) {
			// Outside the sample, every item is skipped, the state's
			// unchanged ones too: it is not looked at.
			if len(items) > 0 {
				r.leftOut.Add(1)
				reportAs(from, items, report.StatusSkipped)
			}
			clear(all)
			return nil
		}
		// The unchanged items go into the partition's lines a run at a
		// time, straight from the plans: the lines are those of the
		// user's unchanged items in their order, as if formatted at once.
		// Without pl they are gathered and written at once, so that a
		// user's lines stay together in the report.
		unchanged = part.Unchanged(from, items, unchanged[:0])
		var kept []mark.Item
		nRows := 0
		for i := 0; i < len(items); {
			j := i
			for j < len(items) && unchanged[j] {
				j++
			}
			if j > i {
				// The status says it: no message, which costs a report
				// of tens of millions of unchanged rows nothing.
				if pl != nil {
					pl.items(from, items[i:j], report.StatusUnchanged)
				} else {
					same = append(same, items[i:j]...)
				}
			}
			for ; j < len(items) && !unchanged[j]; j++ {
				kept = append(kept, items[j])
				nRows += len(items[j].Rows)
			}
			i = j
		}
		if len(same) > 0 {
			reportAs(from, same, report.StatusUnchanged)
			clear(same)
			same = same[:0]
		}
		clear(all) // nothing kept alive past the user
		if len(kept) > 0 {
			// The rows leave the planner's memory with the items.
			rows := make([]int64, 0, nRows)
			for i := range kept {
				k := len(rows)
				rows = append(rows, kept[i].Rows...)
				kept[i].Rows = rows[k:len(rows):len(rows)]
			}
		}
		out := plan.Pack(nil, from, kept)
		if saved := len(reqs) - len(out); saved > 0 && r.opts.Done == nil {
			r.saved.Add(int64(saved))
		}
		return out
	}, part.Release, nil
}
