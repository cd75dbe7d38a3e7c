package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"unsafe"
)

// Partitions is the number of hash partitions of users. Both the in-memory
// and the spilled path plan users partition by partition, in the same order,
// so their plans (and a dry run's report) are identical.
const Partitions = 256

// crec is a valid change held compactly: strings are interned and referred
// to by arena offset, so a row costs 40 bytes in a slice of structs plus its
// share of the distinct strings.
type crec struct {
	row    int64
	set    uint64
	clear  uint64
	from   uint32 // the user's number: an index of store.users
	peer   uint32 // refs in the interner
	custom uint32
	typ    uint8
	opt    uint8
}

const crecBytes = 40

// chunks is a growable array of crecs in fixed-size blocks: appending never
// copies what is already there, as a doubling slice would (for tens of
// millions of rows, gigabytes of copying and page faults).
type chunks struct {
	blocks [][]crec
	n      int
}

const chunkSize = 1 << 17

func (c *chunks) add(r crec) {
	if c.n%chunkSize == 0 {
		// Rows are read back in random order: huge pages spare the
		// translation misses of reading tens of megabytes at random.
		b := make([]crec, 0, chunkSize)
		adviseHuge(unsafe.Pointer(unsafe.SliceData(b)), chunkSize*crecBytes)
		c.blocks = append(c.blocks, b)
	}
	b := &c.blocks[len(c.blocks)-1]
	*b = append(*b, r)
	c.n++
}

func (c *chunks) at(i int) *crec { return &c.blocks[i/chunkSize][i%chunkSize] }

func (c *chunks) bytes() int64 { return int64(len(c.blocks)) * chunkSize * crecBytes }

// interner keeps one copy of each distinct string, in an append-only arena
// of byte segments (no heap object per string, nothing for the collector to
// scan), and finds it with an open-addressing table keyed by a hash the
// caller computes (stringHash): the hashing happens in the goroutine that
// reads and validates, and this one, which every row passes through, only
// probes and compares. A string is referred to by its offset in the arena
// (its ref): a lookup touches the slot and the bytes, nothing in between.
type interner struct {
	slots []internSlot // a power of two; half full at most
	n     int
	arena [][]byte // segments; a string never straddles two
	used  int64    // arena offset of the next string
}

// internSlot is one entry of the table.
type internSlot struct {
	h    uint64
	ref  uint32 // arena offset of the string; 0: an empty slot
	user uint32 // for a from_account: 1 + its user number in the store
}

const (
	segShift = 20
	segSize  = 1 << segShift
	segMask  = segSize - 1
	// maxArena bounds the arena so that refs fit in 32 bits: the store
	// spills before it gets there.
	maxArena = 1 << 31
)

var internSeed = maphash.MakeSeed()

// stringHash is the interner's hash of s.
func stringHash(s string) uint64 { return maphash.String(internSeed, s) }

func newInterner() *interner {
	in := &interner{slots: make([]internSlot, 1<<14)}
	in.put("") // ref 0 is "", and marks an empty slot
	return in
}

// find returns the index of the slot of s, whose stringHash is h, adding s
// if it is new. The index is valid until the next call.
func (in *interner) find(s string, h uint64) int {
	if 2*(in.n+1) > len(in.slots) {
		in.grow()
	}
	mask := uint64(len(in.slots) - 1)
	i := h & mask
	for {
		sl := &in.slots[i]
		if sl.ref == 0 {
			break
		}
		if sl.h == h && in.str(sl.ref) == s {
			return int(i)
		}
		i = (i + 1) & mask
	}
	in.slots[i] = internSlot{h: h, ref: in.put(s)}
	in.n++
	return int(i)
}

// ref returns the ref of s, whose stringHash is h.
func (in *interner) ref(s string, h uint64) uint32 {
	if s == "" {
		return 0
	}
	return in.slots[in.find(s, h)].ref
}

// put appends s to the arena, after its length as a uvarint: a copy, so
// that the record s is a slice of is not kept alive.
func (in *interner) put(s string) uint32 {
	var lenBuf [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(lenBuf[:], uint64(len(s)))
	size := int64(k + len(s))
	if off := in.used & segMask; off != 0 && off+size > segSize {
		in.used += segSize - off // start the next segment
	}
	seg := int(in.used >> segShift)
	if seg == len(in.arena) {
		if size <= segSize {
			in.arena = append(in.arena, make([]byte, segSize))
		} else {
			// A string longer than a segment gets a run of segments: each
			// is the rest of one allocation from its own start, so that
			// addressing by offset works the same.
			big := make([]byte, size)
			for j := int64(0); j < size; j += segSize {
				in.arena = append(in.arena, big[j:])
			}
		}
	}
	ref := in.used
	b := in.arena[seg][ref&segMask:]
	copy(b, lenBuf[:k])
	copy(b[k:], s)
	if size > segSize {
		in.used = int64(len(in.arena)) << segShift
	} else {
		in.used += size
	}
	if ref >= 1<<32 {
		panic("interner: arena beyond 4 GiB") // the store spills long before
	}
	return uint32(ref)
}

// str returns the string at ref. It shares the arena's memory, which is
// never written again.
func (in *interner) str(ref uint32) string {
	b := in.arena[ref>>segShift][ref&segMask:]
	if n := b[0]; n < 0x80 { // the usual one-byte length
		if n == 0 {
			return ""
		}
		return unsafe.String(&b[1], int(n))
	}
	n, k := binary.Uvarint(b)
	return unsafe.String(&b[k], int(n))
}

// size is the memory the interner holds.
func (in *interner) size() int64 {
	return int64(len(in.arena))*segSize + int64(len(in.slots))*int64(unsafe.Sizeof(internSlot{}))
}

func (in *interner) grow() {
	old := in.slots
	in.slots = make([]internSlot, 2*len(old))
	adviseHuge(unsafe.Pointer(unsafe.SliceData(in.slots)), len(in.slots)*int(unsafe.Sizeof(internSlot{})))
	mask := uint64(len(in.slots) - 1)
	for _, sl := range old {
		if sl.ref == 0 {
			continue
		}
		i := sl.h & mask
		for in.slots[i].ref != 0 {
			i = (i + 1) & mask
		}
		in.slots[i] = sl
	}
}

// store holds the valid changes of an input grouped by hash partition of
// the user. It keeps them in memory, compactly, until they would take more
// than its budget; then it spills every partition to its own temporary file
// and plans them one at a time, each holding only its share of the input.
type store struct {
	budget int64
	dir    string

	strs *interner
	recs chunks
	// users numbers the users as they come (the interner's slot of a
	// from_account holds its number): the partition, the number within it
	// (from 1) and the rows so far, so that grouping at the end is a
	// single pass.
	users   []memUser
	perPart [Partitions]int32

	sink uint32 // see warm

	spilled []*spillFile // nil until the budget is exceeded
	spills  int64        // rows spilled
}

func newStore(budget int64, dir string) *store {
	return &store{budget: budget, dir: dir, strs: newInterner()}
}

func (s *store) partition(from string) int {
	return int(hashString(from) % Partitions)
}

// Spilled reports whether the store went to disk.
func (s *store) Spilled() bool { return s.spilled != nil }

// warm touches the interner's slots that a batch of changes will probe,
// before add does, one after another: the loads are independent, so the
// processor overlaps their cache misses instead of waiting for each.
func (s *store) warm(batch []validated) {
	if s.spilled != nil {
		return
	}
	slots := s.strs.slots
	mask := uint64(len(slots) - 1)
	var sink uint32
	for i := range batch {
		v := &batch[i]
		if v.bad != nil {
			continue
		}
		sink += slots[v.h[0]&mask].ref + slots[v.h[1]&mask].ref + slots[v.h[2]&mask].ref
	}
	s.sink = sink // keeps the loads from being optimised away
}

// add keeps one valid change, with the stringHash of its from, peer and
// custom mark.
func (s *store) add(c *Change, h *[3]uint64) error {
	if s.spilled != nil {
		return s.write(c)
	}
	sl := &s.strs.slots[s.strs.find(c.From, h[0])]
	if sl.user == 0 {
		p := uint8(s.partition(c.From))
		s.perPart[p]++
		s.users = append(s.users, memUser{ref: sl.ref, part: p, local: s.perPart[p]})
		sl.user = uint32(len(s.users))
	}
	r := crec{row: c.Row, set: c.Set, clear: c.Clear, from: sl.user - 1, typ: c.Conv.Type, opt: c.Opt}
	s.users[r.from].rows++
	r.peer = s.strs.ref(c.Conv.Peer, h[1])
	if c.Opt&OptCustom != 0 {
		r.custom = s.strs.ref(c.Custom, h[2])
	}
	s.recs.add(r)
	if s.strs.used > maxArena ||
		s.budget > 0 && s.strs.size()+s.recs.bytes()+int64(cap(s.users))*int64(unsafe.Sizeof(memUser{})) > s.budget {
		return s.spill()
	}
	return nil
}

// spillFile is one partition on disk. The file is unlinked as soon as it is
// created: it lives as long as the descriptor, so nothing is left behind even
// when the process is killed.
type spillFile struct {
	f   *os.File
	buf []byte // encoded changes not yet written
	n   int64  // changes in the file and buf
}

// spillBuffer is how much of a partition is encoded before it is written.
const spillBuffer = 32 << 10

// spill moves every in-memory change to the partition files.
func (s *store) spill() error {
	s.spilled = make([]*spillFile, Partitions)
	for i := range s.spilled {
		f, err := os.CreateTemp(s.dir, "markimport-spill-*")
		if err != nil {
			s.close()
			return fmt.Errorf("spill: %w", err)
		}
		os.Remove(f.Name())
		s.spilled[i] = &spillFile{f: f, buf: make([]byte, 0, spillBuffer+512)}
	}
	for i := range s.recs.n {
		c := s.change(s.recs.at(i))
		if err := s.write(&c); err != nil {
			return err
		}
	}
	s.recs, s.strs, s.users = chunks{}, newInterner(), nil
	return nil
}

func (s *store) change(r *crec) Change {
	return Change{Row: r.row, From: s.strs.str(s.users[r.from].ref), Conv: Conversation{Type: r.typ, Peer: s.strs.str(r.peer)},
		Set: r.set, Clear: r.clear, Custom: s.strs.str(r.custom), Opt: r.opt}
}

// write appends a change to its partition file: varints and length-prefixed
// strings.
func (s *store) write(c *Change) error {
	sf := s.spilled[s.partition(c.From)]
	b := binary.AppendUvarint(sf.buf, uint64(c.Row))
	b = binary.AppendUvarint(b, c.Set)
	b = binary.AppendUvarint(b, c.Clear)
	b = append(b, c.Conv.Type, c.Opt)
	b = appendString(b, c.From)
	b = appendString(b, c.Conv.Peer)
	if c.Opt&OptCustom != 0 {
		b = appendString(b, c.Custom)
	}
	sf.buf = b
	sf.n++
	s.spills++
	if len(b) >= spillBuffer {
		return sf.flush()
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// flush writes what is buffered.
func (sf *spillFile) flush() error {
	if len(sf.buf) == 0 {
		return nil
	}
	_, err := sf.f.Write(sf.buf)
	sf.buf = sf.buf[:0]
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

// memGroups is the in-memory changes gathered by user: order lists the
// changes user by user, users partition-major and in order of first
// appearance within a partition; user g's changes are
// order[starts[g]:starts[g+1]], and partition p's users are
// base[p]..base[p+1]-1.
type memGroups struct {
	order  []int32
	starts []int32
	base   [Partitions + 1]int32
}

// memUser is what the store knows of a user while rows come in.
type memUser struct {
	ref   uint32 // the user's from_account in the interner
	local int32  // 1 + the user's number within its partition
	rows  int32
	part  uint8
}

// groupMem gathers the in-memory changes by user: the users were numbered
// as rows came in (add), so one pass over the rows fills the order.
func (s *store) groupMem() *memGroups {
	m := &memGroups{}
	for p := range Partitions {
		m.base[p+1] = m.base[p] + s.perPart[p]
	}
	users := int(m.base[Partitions])
	group := func(u *memUser) int32 { return m.base[u.part] + u.local - 1 }
	m.starts = make([]int32, users+1)
	for i := range s.users {
		u := &s.users[i]
		m.starts[group(u)+1] = u.rows
	}
	for g := range users {
		m.starts[g+1] += m.starts[g]
	}
	m.order = make([]int32, s.recs.n)
	next := append([]int32(nil), m.starts[:users]...)
	for i := range s.recs.n {
		g := group(&s.users[s.recs.at(i).from])
		m.order[next[g]] = int32(i)
		next[g]++
	}
	return m
}

// warmPartition touches the rows of partition p, and the strings they refer
// to, before userChanges reads them user by user: the rows of a partition
// lie all over the store, and loads issued one after another, independent
// of each other, overlap their cache misses.
// It returns a sum of what it read, for the caller to keep, so that the
// loads are not optimised away.
func (s *store) warmPartition(m *memGroups, p int) uint32 {
	order := m.order[m.starts[m.base[p]]:m.starts[m.base[p+1]]]
	var sink uint32
	for _, i := range order {
		sink += s.recs.at(int(i)).peer
	}
	arena := s.strs.arena
	for _, i := range order {
		r := s.recs.at(int(i))
		sink += uint32(arena[r.peer>>segShift][r.peer&segMask]) + uint32(arena[r.custom>>segShift][r.custom&segMask])
	}
	return sink
}

// userChanges appends user g's changes to buf.
func (s *store) userChanges(m *memGroups, g int32, buf []Change) []Change {
	for _, i := range m.order[m.starts[g]:m.starts[g+1]] {
		buf = append(buf, s.change(s.recs.at(int(i))))
	}
	return buf
}

// partBuf holds a partition read back from disk, grouped by user; a
// planner reuses one from partition to partition.
type partBuf struct {
	changes []Change
	users   []int32 // the user number of each change
	ids     map[string]int32
	starts  []int32
	sorted  []Change
}

var errCorrupt = errors.New("corrupt spill file")

// read decodes a whole partition file. Its strings share the memory of the
// file's bytes, and users are numbered in order of first appearance.
func (sf *spillFile) read(p *partBuf) error {
	if err := sf.flush(); err != nil {
		return err
	}
	size, err := sf.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	data := make([]byte, size)
	if _, err := sf.f.ReadAt(data, 0); err != nil {
		return err
	}
	clear(p.changes) // let the previous partition's bytes go
	p.changes, p.users = p.changes[:0], p.users[:0]
	if p.ids == nil {
		p.ids = map[string]int32{}
	}
	clear(p.ids)
	off := 0
	uvarint := func() uint64 {
		v, n := binary.Uvarint(data[off:])
		if n <= 0 {
			off = len(data) + 1 // corrupt: every later read fails too
			return 0
		}
		off += n
		return v
	}
	str := func() string {
		n := uvarint()
		if n > uint64(len(data)-off) {
			off = len(data) + 1
			return ""
		}
		s := unsafe.String(unsafe.SliceData(data[off:]), int(n))
		off += int(n)
		return s
	}
	for range sf.n {
		var c Change
		c.Row = int64(uvarint())
		c.Set = uvarint()
		c.Clear = uvarint()
		if off+2 > len(data) {
			return errCorrupt
		}
		c.Conv.Type, c.Opt = data[off], data[off+1]
		off += 2
		c.From = str()
		c.Conv.Peer = str()
		if c.Opt&OptCustom != 0 {
			c.Custom = str()
		}
		if off > len(data) {
			return errCorrupt
		}
		u, ok := p.ids[c.From]
		if !ok {
			u = int32(len(p.ids))
			p.ids[c.From] = u
		}
		p.changes = append(p.changes, c)
		p.users = append(p.users, u)
	}
	if off != len(data) {
		return errCorrupt
	}
	return nil
}

// close releases the spill files (already unlinked).
func (s *store) close() error {
	var errs []error
	for _, sf := range s.spilled {
		if sf != nil {
			errs = append(errs, sf.f.Close())
		}
	}
	s.spilled, s.recs = nil, chunks{}
	return errors.Join(errs...)
}

// eachUser calls fn with each user's changes, in input order, users in
// order of first appearance. The slice is reused: fn must not keep it.
func (p *partBuf) eachUser(fn func([]Change)) {
	nUsers := len(p.ids)
	p.starts = slices.Grow(p.starts[:0], nUsers+1)[:nUsers+1]
	clear(p.starts)
	for _, u := range p.users {
		p.starts[u+1]++
	}
	for u := range nUsers {
		p.starts[u+1] += p.starts[u]
	}
	clear(p.sorted)
	p.sorted = slices.Grow(p.sorted[:0], len(p.changes))[:len(p.changes)]
	for i, u := range p.users {
		p.sorted[p.starts[u]] = p.changes[i]
		p.starts[u]++
	}
	// starts[u] is now the end of user u, that is the start of u+1.
	begin := int32(0)
	for u := range nUsers {
		end := p.starts[u]
		fn(p.sorted[begin:end])
		begin = end
	}
}
