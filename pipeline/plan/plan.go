package plan

import "markimport/pipeline/mark"

// Rejected is a valid row the planner will not send: its conversation is
// beyond the user's limit of mark.MaxConversations.
type Rejected struct {
	Row  int64
	From string
	Conv mark.Conversation
}

// PlanUser plans the changes of one user, given in input order: it merges
// them per conversation, rejects the conversations beyond maxConversations
// (counted in order of first appearance), and packs the items into
// ceil(items/100) requests. Requests are returned with Seq zero.
//
// done, when not nil, holds rows that already ended ok (a resumed run): the
// merging and the limit are computed as for the whole file, then those rows
// are left out of their items, and items left with no row are not sent.
func PlanUser(changes []mark.Change, maxConversations int, done mark.Rows) ([]mark.Request, []Rejected) {
	return (*Arena)(nil).PlanUser(changes, maxConversations, done)
}

// Arena holds the memory of plans that do not outlive it: a dry run reports
// a batch of plans at once, and the next batch is planned into the same
// arena. Reusing it spares the allocation, and the page faults, of a
// hundred megabytes of short-lived items per million rows. The zero value
// is ready; a nil *Arena plans on the heap.
type Arena struct {
	items []mark.Item
	rows  []int64
	reqs  []mark.Request
	rejs  []Rejected
	index convIndex
}

// Reset makes the arena's memory available again: every plan handed out
// from it must be done with. It clears what the plans took, so that
// nothing left from them keeps their partitions' memory alive: their
// memory is the arena's length (take hands out memory only by extending
// it), and past it nothing was written since the last Reset.
func (s *Arena) Reset() {
	clear(s.items)
	clear(s.reqs)
	clear(s.rejs)
	s.items, s.rows, s.reqs, s.rejs = s.items[:0], s.rows[:0], s.reqs[:0], s.rejs[:0]
}

// convIndex finds a user's conversations by peer, with one map per type:
// string keys hash much faster than a struct holding one.
type convIndex struct {
	c2c, group map[string]int
}

func (x *convIndex) reset() {
	if x.c2c == nil {
		x.c2c, x.group = map[string]int{}, map[string]int{}
	}
	clear(x.c2c)
	clear(x.group)
}

// of returns the map of c's type.
func (x *convIndex) of(c mark.Conversation) map[string]int {
	if c.Type == mark.C2C {
		return x.c2c
	}
	return x.group
}

// take returns an empty slice of capacity n carved from *buf (a new, larger
// buffer when *buf is full; the old one stays with the plans using it).
func take[T any](buf *[]T, n int) []T {
	if len(*buf)+n > cap(*buf) {
		*buf = make([]T, 0, max(2*cap(*buf), n, 1024))
	}
	l := len(*buf)
	*buf = (*buf)[:l+n]
	return (*buf)[l : l : l+n]
}

// PlanUser is the package's PlanUser, taking its memory from the arena
// when it is not nil.
func (sl *Arena) PlanUser(changes []mark.Change, maxConversations int, done mark.Rows) ([]mark.Request, []Rejected) {
	if len(changes) == 0 {
		return nil, nil
	}
	u := userPlan{arena: sl, changes: changes, max: maxConversations}
	u.allocate()
	for i := range changes {
		u.add(i)
	}
	items := u.items
	if done != nil {
		items = DropDone(items, done, nil)
	}
	return sl.pack(changes[0].From, items), u.rejected
}

// userPlan is one user's plan while its changes are merged: an item per
// conversation, in order of first appearance, up to max, and the changes
// of the conversations beyond it, rejected.
type userPlan struct {
	arena   *Arena // nil: the heap
	changes []mark.Change
	max     int
	items   []mark.Item
	// firstRows[i] is the row of change i when it opened an item: the
	// item's rows start as a one-element slice of it.
	firstRows []int64
	rejected  []Rejected
	// Conversations are found by a linear scan of items and over while
	// the user has few, then in index (values -1: rejected).
	index *convIndex
	over  []mark.Conversation
}

// scanLimit is how many conversations a user has before they are found
// by an index rather than a linear scan: most users have a handful.
const scanLimit = 16

// allocate takes at most one item per change: one allocation for the
// user's items, and one for their rows, each item's first row being its
// own one-element slice of it (only a conversation repeated in the input
// grows its slice). Per-item allocations were a third of a dry run's time.
func (u *userPlan) allocate() {
	n := len(u.changes)
	if u.arena != nil {
		u.items = take(&u.arena.items, min(n, u.max))
		u.firstRows = take(&u.arena.rows, n)[:n]
		return
	}
	u.items = make([]mark.Item, 0, min(n, u.max))
	u.firstRows = make([]int64, n)
}

// add merges change i into its conversation's item, opens an item for a
// new conversation, or rejects it beyond the limit.
func (u *userPlan) add(i int) {
	c := &u.changes[i]
	if k, ok := u.find(c.Conv); ok {
		if k < 0 {
			u.reject(i)
			return
		}
		u.items[k].Merge(c)
		return
	}
	if len(u.items) >= u.max {
		u.remember(c.Conv, -1)
		u.reject(i)
		return
	}
	u.firstRows[i] = c.Row
	u.items = append(u.items, mark.Item{Conv: c.Conv, Rows: u.firstRows[i : i : i+1]})
	u.items[len(u.items)-1].Merge(c)
	u.remember(c.Conv, len(u.items)-1)
}

// find returns the item of conversation c (-1: rejected), if it has one.
func (u *userPlan) find(c mark.Conversation) (int, bool) {
	if u.index != nil {
		k, ok := u.index.of(c)[c.Peer]
		return k, ok
	}
	for k := range u.items {
		if u.items[k].Conv == c {
			return k, true
		}
	}
	for _, o := range u.over {
		if o == c {
			return -1, true
		}
	}
	return 0, false
}

// remember records where conversation c is (k: its item, or -1 when
// rejected), building the index once the user has more conversations
// than a scan finds fast.
func (u *userPlan) remember(c mark.Conversation, k int) {
	switch {
	case u.index != nil:
		u.index.of(c)[c.Peer] = k
	case k < 0:
		u.over = append(u.over, c)
	case len(u.items)+len(u.over) > scanLimit:
		u.buildIndex()
	}
}

// buildIndex indexes every conversation seen so far.
func (u *userPlan) buildIndex() {
	if u.arena != nil {
		u.index = &u.arena.index
	} else {
		u.index = &convIndex{}
	}
	u.index.reset()
	for k := range u.items {
		u.index.of(u.items[k].Conv)[u.items[k].Conv.Peer] = k
	}
	for _, o := range u.over {
		u.index.of(o)[o.Peer] = -1
	}
}

// reject keeps change i as rejected. The first rejection makes room for
// every change left: one allocation, however many follow.
func (u *userPlan) reject(i int) {
	if u.rejected == nil {
		if u.arena != nil {
			u.rejected = take(&u.arena.rejs, len(u.changes)-i)
		} else {
			u.rejected = make([]Rejected, 0, len(u.changes)-i)
		}
	}
	c := &u.changes[i]
	u.rejected = append(u.rejected, Rejected{Row: c.Row, From: c.From, Conv: c.Conv})
}

// pack packs a user's items into requests, in the arena's memory when
// there is one.
func (sl *Arena) pack(from string, items []mark.Item) []mark.Request {
	var reqs []mark.Request
	if n := (len(items) + mark.MaxItemsPerRequest - 1) / mark.MaxItemsPerRequest; sl != nil {
		reqs = take(&sl.reqs, n)
	}
	return Pack(reqs, from, items)
}

// DropDone leaves the done rows out of items, in place, and the items left
// with no row out of the result; allDone, when not nil, is called with each
// item whose rows were all done (a resumed run's confirmed items).
func DropDone(items []mark.Item, done mark.Rows, allDone func(*mark.Item)) []mark.Item {
	kept := items[:0]
	for _, it := range items {
		rows := it.Rows[:0]
		for _, r := range it.Rows {
			if !done.Has(r) {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			if allDone != nil {
				allDone(&it)
			}
			continue
		}
		it.Rows = rows
		kept = append(kept, it)
	}
	return kept
}

// Pack appends to reqs the requests of user from that carry items, 100 a
// request in order: the fewest requests the items need.
func Pack(reqs []mark.Request, from string, items []mark.Item) []mark.Request {
	for len(items) > 0 {
		n := min(len(items), mark.MaxItemsPerRequest)
		reqs = append(reqs, mark.Request{From: from, Items: items[:n:n]})
		items = items[n:]
	}
	return reqs
}

// Plan groups changes (in input order) by user, in order of each user's
// first appearance, and plans each user with PlanUser. Requests are numbered
// from 1. It holds every change in memory.
func Plan(changes []mark.Change, done mark.Rows) ([]mark.Request, []Rejected) {
	order := []string{}
	byUser := map[string][]mark.Change{}
	for _, c := range changes {
		if _, ok := byUser[c.From]; !ok {
			order = append(order, c.From)
		}
		byUser[c.From] = append(byUser[c.From], c)
	}
	var reqs []mark.Request
	var rejected []Rejected
	for _, u := range order {
		r, rej := PlanUser(byUser[u], mark.MaxConversations, done)
		reqs = append(reqs, r...)
		rejected = append(rejected, rej...)
	}
	for i := range reqs {
		reqs[i].Seq = int64(i + 1)
	}
	return reqs, rejected
}
