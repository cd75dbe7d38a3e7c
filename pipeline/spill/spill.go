package spill

import (
	"markimport/pipeline/mark"

	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"
)

// Partitions is the number of hash partitions of users. Planning goes
// partition by partition, in this order, whether the partitions were held in
// memory or spilled to disk, so plans (and a dry run's report) are the same
// either way.
const Partitions = 256

// Store holds the valid changes of an input grouped by hash partition of
// the user, each change encoded compactly (varints and length-prefixed
// strings) and appended to its partition: a row costs its encoded size,
// about the size of its CSV line, with no per-row object and no lookup.
// Appending touches only the tail of each of 256 partitions, where a table
// of every distinct string missed the cache on every row. A change is
// first encoded into its partition's stage, 1 KiB that stays in the cache,
// and moves to the partition's blocks with the rest of the stage in one
// copy: written straight to 256 blocks, every change began a fresh cache
// line far from the last, and appending cost 1.8 times as much
// (BenchmarkStoreAdd). Partitions are held in memory up to the budget
// (stages included); beyond it every partition goes to its own temporary
// file and later changes are appended there, unstaged. Each partition is
// then decoded and grouped by user on its own (a small, cache-resident
// job) when it is planned.
type Store struct {
	budget int64
	dir    string
	parts  [Partitions]partition
	held   int64 // bytes of blocks held in memory
	stages [Partitions]stage
	staged int64  // bytes in the stages
	region []byte // what blocks are carved from
	spills int64  // rows written to the partition files
	spilt  bool
}

// stageSize is the size of a partition's stage: 256 KiB for the 256,
// within a core's cache. A change larger than a stage is appended to the
// blocks directly, after what its partition staged.
const stageSize = 1 << 10

// stage is the changes of a partition not yet in its blocks, encoded
// one after another in b[:n].
type stage struct {
	b [stageSize]byte
	n int
}

// partition is one hash partition of users.
type partition struct {
	// blocks hold whole encoded changes: one never straddles two blocks.
	// After the spill, blocks[0] is the buffer of what is not yet written.
	blocks [][]byte
	n      int64    // changes, in blocks and the file
	f      *os.File // after the spill: the partition's file, unlinked
}

const (
	// blockSize is the size of a partition's blocks: small enough that
	// the last, partly filled block of each of the 256 partitions wastes
	// little, large enough to be appended to for a while.
	blockSize = 32 << 10
	// spillBuffer is how much of a spilled partition is encoded before it
	// is written.
	spillBuffer = 32 << 10
)

// New returns an empty store that holds up to budget bytes in memory (0:
// no bound) and spills beyond it to temporary files in dir.
func New(budget int64, dir string) *Store {
	return &Store{budget: budget, dir: dir}
}

// PartitionOf is the partition of a user.
func PartitionOf(from string) int { return int(Hash(from) % Partitions) }

// Spilled reports whether the store went to disk.
func (s *Store) Spilled() bool { return s.spilt }

// add keeps one valid change, of partition p (PartitionOf its From).
func (s *Store) Add(c *mark.Change, p int) error {
	pt := &s.parts[p]
	need := encodedMax(c)
	if !s.spilt && need <= stageSize {
		st := &s.stages[p]
		if stageSize-st.n < need {
			s.unstage(p)
		}
		n := len(appendChange(st.b[st.n:st.n:stageSize], c))
		st.n += n
		s.staged += int64(n)
		pt.n++
		if s.budget > 0 && s.held+s.staged > s.budget {
			return s.spill()
		}
		return nil
	}
	s.unstage(p) // the change goes after those staged
	if k := len(pt.blocks); k == 0 || cap(pt.blocks[k-1])-len(pt.blocks[k-1]) < need {
		if s.spilt {
			if err := pt.flush(); err != nil {
				return err
			}
			if cap(pt.blocks[0]) < need {
				pt.blocks[0] = make([]byte, 0, need)
			}
		} else {
			b := s.block(max(blockSize, need))
			pt.blocks = append(pt.blocks, b)
		}
	}
	last := &pt.blocks[len(pt.blocks)-1]
	*last = appendChange(*last, c)
	pt.n++
	if s.spilt {
		s.spills++
		if len(*last) >= spillBuffer {
			return pt.flush()
		}
		return nil
	}
	if s.budget > 0 && s.held > s.budget {
		return s.spill()
	}
	return nil
}

// unstage moves the changes partition p staged to the end of its blocks.
func (s *Store) unstage(p int) {
	st := &s.stages[p]
	if st.n == 0 {
		return
	}
	pt := &s.parts[p]
	if k := len(pt.blocks); k == 0 || cap(pt.blocks[k-1])-len(pt.blocks[k-1]) < st.n {
		pt.blocks = append(pt.blocks, s.block(blockSize))
	}
	last := &pt.blocks[len(pt.blocks)-1]
	*last = append(*last, st.b[:st.n]...)
	s.staged -= int64(st.n)
	st.n = 0
}

// block returns an empty block of capacity n, carved from the current
// region. Regions are large and ask for transparent huge pages: appending a
// hundred megabytes otherwise costs one page fault per 4 KiB, about 8 µs
// each on a virtual machine.
func (s *Store) block(n int) []byte {
	if n > regionSize/4 {
		s.held += int64(n)
		return make([]byte, 0, n)
	}
	if cap(s.region)-len(s.region) < n {
		s.region = make([]byte, 0, regionSize)
		adviseHuge(unsafe.Pointer(unsafe.SliceData(s.region)), regionSize)
		s.held += regionSize
	}
	l := len(s.region)
	s.region = s.region[:l+n]
	return s.region[l : l : l+n]
}

const regionSize = 8 << 20

// encodedMax bounds the encoded size of c.
func encodedMax(c *mark.Change) int {
	return 3*binary.MaxVarintLen64 + 2 + 3*binary.MaxVarintLen64 + len(c.From) + len(c.Conv.Peer) + len(c.Custom)
}

// appendChange encodes c: row, set and clear as uvarints, type and opt
// bytes, then from, peer and (with mark.OptCustom) the custom mark, each after
// its length.
func appendChange(b []byte, c *mark.Change) []byte {
	b = binary.AppendUvarint(b, uint64(c.Row))
	b = binary.AppendUvarint(b, c.Set)
	b = binary.AppendUvarint(b, c.Clear)
	b = append(b, c.Conv.Type, c.Opt)
	b = appendString(b, c.From)
	b = appendString(b, c.Conv.Peer)
	if c.Opt&mark.OptCustom != 0 {
		b = appendString(b, c.Custom)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// spill moves every partition to its own temporary file. The files are
// unlinked as soon as they are created: they live as long as their
// descriptors, so nothing is left behind even when the process is killed.
func (s *Store) spill() error {
	s.spilt = true
	for p := range s.stages {
		s.unstage(p)
	}
	for p := range s.parts {
		pt := &s.parts[p]
		f, err := os.CreateTemp(s.dir, "markimport-spill-*")
		if err != nil {
			return fmt.Errorf("spill: %w", err)
		}
		os.Remove(f.Name())
		pt.f = f
		for _, b := range pt.blocks {
			if _, err := f.Write(b); err != nil {
				return fmt.Errorf("spill: %w", err)
			}
		}
		pt.blocks = [][]byte{make([]byte, 0, spillBuffer+512)}
		s.spills += pt.n
	}
	s.held, s.region = 0, nil
	return nil
}

// flush writes a spilled partition's buffer to its file.
func (pt *partition) flush() error {
	b := pt.blocks[0]
	if len(b) == 0 {
		return nil
	}
	_, err := pt.f.Write(b)
	pt.blocks[0] = b[:0]
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

// take returns partition p's encoded changes and lets the store forget
// them: read back from its file when it was spilled.
func (s *Store) Take(p int) ([][]byte, int64, error) {
	pt := &s.parts[p]
	if st := &s.stages[p]; st.n > 0 {
		// A block of its own: the store takes no more memory from its
		// budget once the input is read. Planners take partitions at
		// once: only partition p's memory is touched (not s.staged).
		pt.blocks = append(pt.blocks, slices.Clone(st.b[:st.n]))
		st.n = 0
	}
	blocks, n := pt.blocks, pt.n
	pt.blocks, pt.n = nil, 0
	if pt.f == nil {
		return blocks, n, nil
	}
	pt.blocks = blocks
	if err := pt.flush(); err != nil {
		return nil, 0, err
	}
	pt.blocks = nil
	size, err := pt.f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, err
	}
	data := make([]byte, size)
	if _, err := pt.f.ReadAt(data, 0); err != nil {
		return nil, 0, err
	}
	return [][]byte{data}, n, nil
}

// close releases the spill files (already unlinked) and the blocks.
func (s *Store) Close() error {
	var errs []error
	for p := range s.parts {
		pt := &s.parts[p]
		if pt.f != nil {
			errs = append(errs, pt.f.Close())
		}
		*pt = partition{}
	}
	return errors.Join(errs...)
}

// Decoder holds a partition decoded and grouped by user; a planner reuses
// one from partition to partition.
type Decoder struct {
	changes []mark.Change
	users   []int32 // the user number of each change
	ids     map[string]int32
	starts  []int32
	sorted  []mark.Change
}

var errCorrupt = errors.New("corrupt spill data")

// Decode decodes n encoded changes from blocks. Their strings share the
// blocks' memory (never written again), and users are numbered in order of
// first appearance.
func (pb *Decoder) Decode(blocks [][]byte, n int64) error {
	// The slots past the changes are zero, and so are those past this
	// partition's once it is decoded: the previous partition's beyond
	// them are cleared, which would keep its blocks alive.
	prev := len(pb.changes)
	defer func() {
		if k := len(pb.changes); k < prev {
			clear(pb.changes[k:prev])
		}
	}()
	pb.changes, pb.users = pb.changes[:0], pb.users[:0]
	if pb.ids == nil {
		pb.ids = map[string]int32{}
	}
	clear(pb.ids)
	for _, data := range blocks {
		br := blockReader{data: data}
		for br.off < len(data) {
			// Decoded in place, in the slot it is kept in: a change is
			// 88 bytes, copied once less.
			pb.changes = append(pb.changes, mark.Change{})
			c := &pb.changes[len(pb.changes)-1]
			if err := br.change(c); err != nil {
				return err
			}
			pb.number(c.From)
		}
	}
	if int64(len(pb.changes)) != n {
		return fmt.Errorf("%w: %d changes, want %d", errCorrupt, len(pb.changes), n)
	}
	return nil
}

// number records the user of the change just decoded, numbering users in
// order of first appearance.
func (pb *Decoder) number(from string) {
	u, ok := pb.ids[from]
	if !ok {
		u = int32(len(pb.ids))
		pb.ids[from] = u
	}
	pb.users = append(pb.users, u)
}

// blockReader decodes the changes of one block, in the encoding of
// appendChange; bad is set once the block is found malformed.
type blockReader struct {
	data []byte
	off  int
	bad  bool
}

// change decodes the change at off into c, which is zero.
func (br *blockReader) change(c *mark.Change) error {
	c.Row = int64(br.uvarint())
	c.Set = br.uvarint()
	c.Clear = br.uvarint()
	if br.bad || br.off+2 > len(br.data) {
		return errCorrupt
	}
	c.Conv.Type, c.Opt = br.data[br.off], br.data[br.off+1]
	br.off += 2
	c.From = br.str()
	c.Conv.Peer = br.str()
	if c.Opt&mark.OptCustom != 0 {
		c.Custom = br.str()
	}
	if br.bad {
		return errCorrupt
	}
	return nil
}

// uvarint decodes the unsigned varint at off. Most are one byte (bits,
// lengths), read without the general decoder's loop.
func (br *blockReader) uvarint() uint64 {
	if br.off < len(br.data) {
		if b := br.data[br.off]; b < 0x80 {
			br.off++
			return uint64(b)
		}
	}
	v, k := binary.Uvarint(br.data[br.off:])
	if k <= 0 {
		br.bad = true
		return 0
	}
	br.off += k
	return v
}

// str decodes a length-prefixed string, sharing the block's memory.
func (br *blockReader) str() string {
	l := br.uvarint()
	if br.bad || l > uint64(len(br.data)-br.off) {
		br.bad = true
		return ""
	}
	if l == 0 {
		return ""
	}
	s := unsafe.String(&br.data[br.off], int(l))
	br.off += int(l)
	return s
}

// EachUser calls fn with each user's changes, in input order, users in
// order of first appearance. The slice is reused: fn must not keep it.
func (pb *Decoder) EachUser(fn func([]mark.Change)) {
	nUsers := len(pb.ids)
	pb.starts = slices.Grow(pb.starts[:0], nUsers+1)[:nUsers+1]
	clear(pb.starts)
	for _, u := range pb.users {
		pb.starts[u+1]++
	}
	for u := range nUsers {
		pb.starts[u+1] += pb.starts[u]
	}
	// Every slot up to len is written below; the previous partition's
	// past it are cleared (those past both are zero).
	prev := len(pb.sorted)
	pb.sorted = slices.Grow(pb.sorted[:0], len(pb.changes))[:len(pb.changes)]
	if k := len(pb.sorted); k < prev {
		clear(pb.sorted[k:prev])
	}
	for i, u := range pb.users {
		pb.sorted[pb.starts[u]] = pb.changes[i]
		pb.starts[u]++
	}
	// starts[u] is now the end of user u's changes, where u+1's begin.
	begin := int32(0)
	for u := range nUsers {
		end := pb.starts[u]
		fn(pb.sorted[begin:end])
		begin = end
	}
}

// Held is the memory the store holds in blocks, in bytes.
func (s *Store) Held() int64 { return s.held }

// SpilledRows is how many changes went to the partition files.
func (s *Store) SpilledRows() int64 { return s.spills }

// Hash is FNV-1a: fixed across runs, so partitions (and a dry run's report
// order) are the same every time.
func Hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
