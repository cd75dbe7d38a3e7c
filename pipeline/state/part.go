package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"markimport/pipeline/mark"
)

// check reads every partition file of the manifest and checks its size
// and CRC-32: a damaged state is refused before anything is sent, never
// taken as a state that holds less.
func (s *Store) check() error {
	var buf []byte // one for every file, read one after another
	for p, fm := range s.man.Files {
		file, err := s.readRaw(p, fm, buf)
		if err != nil {
			return err
		}
		buf = file[:0]
	}
	return nil
}

// readRaw reads and checks a partition file, into buf when it is large
// enough, and returns it whole: its entries, as they are on disk, follow
// the magic.
func (s *Store) readRaw(p string, fm fileMeta, buf []byte) ([]byte, error) {
	path := filepath.Join(s.dir, fm.Name)
	b, err := readFile(path, buf)
	if err != nil {
		return nil, damaged(path, fmt.Sprintf("state partition %s unreadable (%v)", p, err), "")
	}
	want := int64(len(fileMagic)) + fm.Entries*entrySize
	if int64(len(b)) != want || !bytes.HasPrefix(b, []byte(fileMagic)) {
		return nil, damaged(path, fmt.Sprintf("state partition %s is truncated or damaged (%d bytes, want %d)", p, len(b), want), "")
	}
	if crc32.ChecksumIEEE(b) != fm.CRC32 {
		return nil, damaged(path, fmt.Sprintf("state partition %s is damaged (checksum mismatch)", p), "")
	}
	return b, nil
}

// readFile reads the file at path whole, as os.ReadFile does, into buf
// when it is large enough: the planners load a partition after another
// into the memory of the one before, with no fresh pages to fault in.
func readFile(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := 0
	if st, err := f.Stat(); err == nil {
		size = int(st.Size())
	}
	if cap(buf) < size+1 { // one more byte: EOF is seen without a grow
		buf = make([]byte, 0, size+1)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readPart reads and checks a partition file and decodes its entries.
func (s *Store) readPart(p string, fm fileMeta) ([]entry, error) {
	file, err := s.readRaw(p, fm, nil)
	if err != nil {
		return nil, err
	}
	b := file[len(fileMagic):]
	out := make([]entry, fm.Entries)
	for i := range out {
		e := b[i*entrySize:]
		out[i] = entry{binary.BigEndian.Uint64(e), binary.BigEndian.Uint64(e[8:]), binary.BigEndian.Uint64(e[16:])}
	}
	return out, nil
}

// Partition is one partition of the state, loaded for lookups: its entries as
// they are on disk, sorted, and a bucket index over them. Keys are hashes,
// spread evenly: the top bits of a key name its bucket, which holds about
// four entries, so that a lookup touches the index and one or two cache
// lines of entries (a binary search of a 10 MB partition misses the cache
// a dozen times). Merging the planned items with the entries as sorted
// streams would first sort the items by key (they come by user, and a key
// mixes the user with the conversation). A comparison sort costs more
// than the lookups do. A counting sort into this index's own buckets, the
// state then read in order, costs less (BenchmarkLookupOrMerge: about 10
// ns an item at 80,000 entries, a 20M state, 1% of a night's CPU; about
// 35 at 400,000, a 100M state, some 3%), but it would hold all of a
// partition's planned items until the last is placed (about 50 MB a
// planner at 100M), where the planners plan a user at a time in reused
// memory and look its items up at once.
type Partition struct {
	raw   []byte   // entrySize bytes an entry
	idx   []uint32 // idx[b]: the first entry of bucket b or later; len buckets+1
	shift uint     // a key's bucket is k1 >> shift
	full  bool
	file  []byte // the partition file raw is in, for Release
	store *Store // where Release puts the memory back
}

// partBufs is the memory of a released part.
type partBufs struct {
	file []byte
	idx  []uint32
}

// Partition loads partition p (spill.PartitionOf of the users planned
// with it) for lookups. Planners call it for the partition they plan, so
// that one partition of the state at a time is in memory per planner.
func (s *Store) Partition(p int) (*Partition, error) {
	if s.full {
		return &Partition{full: true}, nil
	}
	fm, ok := s.man.Files[strconv.Itoa(p)]
	if !ok {
		return &Partition{}, nil
	}
	var bufs partBufs
	if b, ok := s.bufs.Get().(*partBufs); ok {
		bufs = *b
	}
	file, err := s.readRaw(strconv.Itoa(p), fm, bufs.file)
	if err != nil {
		return nil, err
	}
	pt := newPartInto(file[len(fileMagic):], bufs.idx)
	pt.file, pt.store = file, s
	return pt, nil
}

// Release gives the part's memory back for the next partition loaded:
// the part must not be used again.
func (pt *Partition) Release() {
	if pt.store != nil && pt.file != nil {
		pt.store.bufs.Put(&partBufs{file: pt.file[:0], idx: pt.idx[:0]})
	}
	*pt = Partition{}
}

// newPart indexes sorted entries.
func newPart(raw []byte) *Partition { return newPartInto(raw, nil) }

// newPartInto indexes sorted entries, in idx when it is large enough.
func newPartInto(raw []byte, idx []uint32) *Partition {
	n := len(raw) / entrySize
	buckets, log := 1, 0
	for buckets*4 < n {
		buckets <<= 1
		log++
	}
	if cap(idx) < buckets+1 {
		idx = make([]uint32, buckets+1)
	}
	pt := &Partition{raw: raw, idx: idx[:buckets+1], shift: uint(64 - log)}
	cur := 0
	for i := range n {
		b := int(binary.BigEndian.Uint64(raw[i*entrySize:]) >> pt.shift)
		for cur <= b {
			pt.idx[cur] = uint32(i)
			cur++
		}
	}
	for cur <= buckets {
		pt.idx[cur] = uint32(n)
		cur++
	}
	return pt
}

// Unchanged appends to dst, for each of items of user from (a user of
// this partition), whether it is what the API last confirmed for its
// conversation, and returns dst.
//
// The items are hashed a few dozen at a time before any is looked up:
// the lookups of a batch then depend on nothing but memory, so that the
// processor waits for several of their cache misses at once, where a
// hash and a lookup in turn would wait for each miss behind the next
// item's hashing (BenchmarkLookupOrMerge/lookup, 4 runs in turns: 103-125
// ns an item in batches of 32, 123-124 one at a time).
func (pt *Partition) Unchanged(from string, items []mark.Item, dst []bool) []bool {
	if pt.full || len(pt.raw) == 0 {
		for range items {
			dst = append(dst, false)
		}
		return dst
	}
	u := userKeyOf(from)
	var batch [32]entry
	for len(items) > 0 {
		n := min(len(items), len(batch))
		for i := range n {
			e := &batch[i]
			e.k1, e.k2 = u.of(items[i].Conv)
			e.fp = itemHash(&items[i])
		}
		for i := range n {
			e := &batch[i]
			fp, ok := pt.lookup(e.k1, e.k2)
			dst = append(dst, ok && fp == e.fp)
		}
		items = items[n:]
	}
	return dst
}

// lookup returns the item hash stored for a key.
func (pt *Partition) lookup(k1, k2 uint64) (uint64, bool) {
	if len(pt.raw) == 0 {
		return 0, false
	}
	b := k1 >> pt.shift
	for i := pt.idx[b]; i < pt.idx[b+1]; i++ {
		e := pt.raw[int(i)*entrySize:]
		a := binary.BigEndian.Uint64(e)
		if a > k1 {
			return 0, false
		}
		if a == k1 && binary.BigEndian.Uint64(e[8:]) == k2 {
			return binary.BigEndian.Uint64(e[16:]), true
		}
	}
	return 0, false
}

// encodePart is the content of a partition file holding entries: its
// magic, then each entry, 24 bytes big-endian.
func encodePart(entries []entry) []byte {
	b := make([]byte, len(fileMagic), len(fileMagic)+len(entries)*entrySize)
	copy(b, fileMagic)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, e.k1)
		b = binary.BigEndian.AppendUint64(b, e.k2)
		b = binary.BigEndian.AppendUint64(b, e.fp)
	}
	return b
}
