package pipeline

// API limits the planner packs to.
const (
	// MaxItemsPerRequest is the most MarkItems one mark_contact request carries.
	MaxItemsPerRequest = 100
	// MaxConversations is the most marked conversations a user may have.
	MaxConversations = 1000
	// CodeTooManyConversations is the API's code for a user's 1001st conversation.
	CodeTooManyConversations = 51008
)

// Item is one MarkItem: the merged changes of every row of one conversation
// of one user. Every row in Rows shares the item's outcome.
type Item struct {
	Conv   Conversation
	Set    uint64
	Clear  uint64
	Custom string // meaningful when Opt has OptCustom
	Opt    uint8
	Rows   []int64
}

// Request is one mark_contact call: one user and 1..100 items.
type Request struct {
	// Seq numbers requests in the order they were planned, from 1.
	Seq   int64
	From  string
	Items []Item
}

// Rows counts the input rows a request carries.
func (r *Request) Rows() int {
	n := 0
	for i := range r.Items {
		n += len(r.Items[i].Rows)
	}
	return n
}

// Rejected is a valid row the planner will not send: its conversation is
// beyond the user's limit of MaxConversations.
type Rejected struct {
	Row  int64
	From string
	Conv Conversation
}

// merge folds a later change of the same conversation into the item: a later
// set of a bit beats an earlier clear of it and the other way round, the last
// custom mark wins, and the operation types add up.
func (it *Item) merge(c *Change) {
	it.Set = (it.Set &^ c.Clear) | c.Set
	it.Clear = (it.Clear &^ c.Set) | c.Clear
	if c.Opt&OptCustom != 0 {
		it.Custom = c.Custom
	}
	it.Opt |= c.Opt
	it.Rows = append(it.Rows, c.Row)
}

// PlanUser plans the changes of one user, given in input order: it merges
// them per conversation, rejects the conversations beyond maxConversations
// (counted in order of first appearance), and packs the items into
// ceil(items/100) requests. Requests are returned with Seq zero.
//
// done, when not nil, holds rows that already ended ok (a resumed run): the
// merging and the limit are computed as for the whole file, then those rows
// are left out of their items, and items left with no row are not sent.
func PlanUser(changes []Change, maxConversations int, done *RowSet) ([]Request, []Rejected) {
	return planUser(changes, maxConversations, done, nil)
}

// slab holds the memory of plans that do not outlive it: a dry run reports
// a batch of plans at once, and the next batch is planned into the same
// slab. Reusing it spares the allocation, and the page faults, of a
// hundred megabytes of short-lived items per million rows.
type slab struct {
	plans []userPlan
	items []Item
	rows  []int64
	reqs  []Request
	rejs  []Rejected
	index convIndex
	err   error // the planner's, when it failed
}

// reset makes the slab's memory available again: every plan handed out
// from it must be done with. It clears the whole capacity, so that nothing
// left from earlier batches keeps their partitions' memory alive.
func (s *slab) reset() {
	s.err = nil
	clear(s.plans[:cap(s.plans)])
	clear(s.items[:cap(s.items)])
	clear(s.reqs[:cap(s.reqs)])
	clear(s.rejs[:cap(s.rejs)])
	s.plans, s.items, s.rows, s.reqs, s.rejs = s.plans[:0], s.items[:0], s.rows[:0], s.reqs[:0], s.rejs[:0]
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
func (x *convIndex) of(c Conversation) map[string]int {
	if c.Type == C2C {
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

// planUser is PlanUser, taking its memory from sl when not nil.
func planUser(changes []Change, maxConversations int, done *RowSet, sl *slab) ([]Request, []Rejected) {
	if len(changes) == 0 {
		return nil, nil
	}
	from := changes[0].From
	// At most one item per change: one allocation for the user's items, and
	// one for their rows, each item's first row being its own one-element
	// slice of it (only a conversation repeated in the input grows its
	// slice). Per-item allocations were a third of a dry run's time.
	var items []Item
	var firstRows []int64
	if sl != nil {
		items = take(&sl.items, min(len(changes), maxConversations))
		firstRows = take(&sl.rows, len(changes))[:len(changes)]
	} else {
		items = make([]Item, 0, min(len(changes), maxConversations))
		firstRows = make([]int64, len(changes))
	}
	var rejected []Rejected
	// Most users have a handful of conversations: find them by a linear
	// scan, and build an index only for users with many.
	const scanLimit = 16
	var index *convIndex    // values -1: rejected
	var over []Conversation // rejected conversations while scanning
	find := func(c Conversation) (int, bool) {
		if index != nil {
			k, ok := index.of(c)[c.Peer]
			return k, ok
		}
		for k := range items {
			if items[k].Conv == c {
				return k, true
			}
		}
		for _, o := range over {
			if o == c {
				return -1, true
			}
		}
		return 0, false
	}
	// reject keeps change i as rejected. The first rejection makes room
	// for every change left: one allocation, however many follow.
	reject := func(i int) {
		if rejected == nil {
			if sl != nil {
				rejected = take(&sl.rejs, len(changes)-i)
			} else {
				rejected = make([]Rejected, 0, len(changes)-i)
			}
		}
		c := &changes[i]
		rejected = append(rejected, Rejected{Row: c.Row, From: from, Conv: c.Conv})
	}
	for i := range changes {
		c := &changes[i]
		if k, ok := find(c.Conv); ok {
			if k < 0 {
				reject(i)
				continue
			}
			items[k].merge(c)
			continue
		}
		if len(items) >= maxConversations {
			if index != nil {
				index.of(c.Conv)[c.Conv.Peer] = -1
			} else {
				over = append(over, c.Conv)
			}
			reject(i)
			continue
		}
		firstRows[i] = c.Row
		items = append(items, Item{Conv: c.Conv, Rows: firstRows[i : i : i+1]})
		items[len(items)-1].merge(c)
		if index != nil {
			index.of(c.Conv)[c.Conv.Peer] = len(items) - 1
		} else if len(items)+len(over) > scanLimit {
			if sl != nil {
				index = &sl.index
				index.reset()
			} else {
				index = &convIndex{}
				index.reset()
			}
			for k := range items {
				index.of(items[k].Conv)[items[k].Conv.Peer] = k
			}
			for _, o := range over {
				index.of(o)[o.Peer] = -1
			}
		}
	}
	if done != nil {
		kept := items[:0]
		for _, it := range items {
			rows := it.Rows[:0]
			for _, r := range it.Rows {
				if !done.Has(r) {
					rows = append(rows, r)
				}
			}
			if len(rows) > 0 {
				it.Rows = rows
				kept = append(kept, it)
			}
		}
		items = kept
	}
	var reqs []Request
	if n := (len(items) + MaxItemsPerRequest - 1) / MaxItemsPerRequest; sl != nil {
		reqs = take(&sl.reqs, n)
	} else {
		reqs = make([]Request, 0, n)
	}
	for len(items) > 0 {
		n := min(len(items), MaxItemsPerRequest)
		reqs = append(reqs, Request{From: from, Items: items[:n:n]})
		items = items[n:]
	}
	return reqs, rejected
}

// Plan groups changes (in input order) by user, in order of each user's
// first appearance, and plans each user with PlanUser. Requests are numbered
// from 1. It holds every change in memory.
func Plan(changes []Change, done *RowSet) ([]Request, []Rejected) {
	order := []string{}
	byUser := map[string][]Change{}
	for _, c := range changes {
		if _, ok := byUser[c.From]; !ok {
			order = append(order, c.From)
		}
		byUser[c.From] = append(byUser[c.From], c)
	}
	var reqs []Request
	var rejected []Rejected
	for _, u := range order {
		r, rej := PlanUser(byUser[u], MaxConversations, done)
		reqs = append(reqs, r...)
		rejected = append(rejected, rej...)
	}
	for i := range reqs {
		reqs[i].Seq = int64(i + 1)
	}
	return reqs, rejected
}

// RowSet is a set of row numbers, as a bitset: 100 million rows take 12.5 MB.
type RowSet struct {
	words []uint64
	n     int64
}

// Add puts row in the set.
func (s *RowSet) Add(row int64) {
	if row < 0 {
		return
	}
	w := int(row >> 6)
	if w >= len(s.words) {
		s.words = append(s.words, make([]uint64, w+1-len(s.words)+len(s.words)/4)...)
	}
	if s.words[w]&(1<<(row&63)) == 0 {
		s.words[w] |= 1 << (row & 63)
		s.n++
	}
}

// Has reports whether row is in the set.
func (s *RowSet) Has(row int64) bool {
	if s == nil || row < 0 {
		return false
	}
	w := int(row >> 6)
	return w < len(s.words) && s.words[w]&(1<<(row&63)) != 0
}

// Len is the number of rows in the set.
func (s *RowSet) Len() int64 {
	if s == nil {
		return 0
	}
	return s.n
}
