// Package state keeps, across runs, what the API last confirmed of each
// conversation (--state DIR): per app, per conversation (from_account,
// type, peer), a fingerprint of the merged item whose every row ended ok.
// A nightly run drops the items whose fingerprint is unchanged, so that it
// costs what changed, not what exists.
//
// The state is partitioned as the planner's grouping store is (by a hash
// of from_account, spill.PartitionOf), so that the run looks up only the
// partition it is planning, one at a time: the state of 100M conversations
// is never in memory whole. Each partition is a sorted file of fixed-size
// entries (a 128-bit key, a 64-bit fingerprint); a manifest names the
// files of the current generation with their sizes and CRC-32s. A run
// appends the items the API confirmed to per-partition pending files, and
// at its end merges them into a new generation and renames the new
// manifest into place: a crash leaves the old state or the new one, never
// a mix, and the new one holds only confirmed items.
package state

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
)

// EntrySize is the size of one conversation's entry on disk.
const EntrySize = 24

// entry is a conversation's key and the fingerprint of its confirmed item;
// on disk, 24 bytes big-endian, so that files sort as their entries do.
type entry struct {
	k1, k2 uint64
	fp     uint64
}

func (e entry) less(o entry) int {
	if e.k1 != o.k1 {
		if e.k1 < o.k1 {
			return -1
		}
		return 1
	}
	if e.k2 != o.k2 {
		if e.k2 < o.k2 {
			return -1
		}
		return 1
	}
	return 0
}

// keyOf is the 128-bit key of a conversation of user from: two 64-bit
// hashes of from, type and peer computed in one pass, FNV-1a and a
// multiply-rotate hash with other constants, each finished with a mixer.
func keyOf(from string, c mark.Conversation) (uint64, uint64) {
	h1, h2 := uint64(fnvOffset), uint64(altOffset)
	add := func(b byte) {
		h1 = (h1 ^ uint64(b)) * fnvPrime
		h2 = bits.RotateLeft64((h2^uint64(b))*altPrime, 31)
	}
	for i := 0; i < len(from); i++ {
		add(from[i])
	}
	add(0)
	add(c.Type)
	add(0)
	for i := 0; i < len(c.Peer); i++ {
		add(c.Peer[i])
	}
	return mix(h1), mix(h2 ^ uint64(len(from)+len(c.Peer)))
}

const (
	altOffset = 0x9E3779B97F4A7C15
	altPrime  = 0xC2B2AE3D27D4EB4F
)

// mix is MurmurHash3's 64-bit finaliser.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for i := 0; i < 8; i++ {
		h = fnvByte(h, byte(v>>(8*i)))
	}
	return h
}

// Fingerprint is what an item asks of its conversation: the bits it sets,
// the bits it clears, and the custom mark when it writes one (FNV-1a).
func Fingerprint(it *mark.Item) uint64 {
	h := fnvUint64(fnvUint64(fnvOffset, it.Set), it.Clear)
	if it.Opt&mark.OptCustom == 0 {
		return fnvByte(h, 0)
	}
	return fnvString(fnvByte(h, 1), it.Custom)
}

// manifest is the state's table of contents, MANIFEST.json.
type manifest struct {
	Format     int       `json:"format"`
	SDKAppID   string    `json:"sdkappid"`
	Generation int       `json:"generation"`
	Updated    time.Time `json:"updated"`
	// Files are the partitions that hold entries, by partition.
	Files map[string]fileMeta `json:"files"`
}

// fileMeta describes a partition file.
type fileMeta struct {
	Name    string `json:"name"` // relative to the state folder
	Entries int64  `json:"entries"`
	CRC32   uint32 `json:"crc32"`
}

const (
	formatVersion = 1
	manifestName  = "MANIFEST.json"
	fileMagic     = "MKSTATE1"
)

// Error is a state that cannot be used: another app's, or damaged.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Store is an open state.
type Store struct {
	dir     string
	appID   string
	full    bool // --full: nothing is unchanged; confirmed items still stored
	dry     bool // validate: nothing is stored
	man     manifest
	pending string // folder of this run's confirmed items

	// bufs holds the memory of parts released, for the next partition
	// loaded (*partBufs).
	bufs sync.Pool

	mu      sync.Mutex
	updates [spill.Partitions]*bufio.Writer
	files   [spill.Partitions]*os.File
	added   int64
	err     error
}

// LockName is the file in a state's folder that a run holds locked (an
// flock) while it uses the state: two runs on one state would each store
// what the other does not know. The caller takes it before Open.
const LockName = "LOCK"

// Open opens (creating it when missing) the state in dir for the app
// appID. A state of another app or a damaged one is an *Error. With full,
// Unchanged is always false. With dry (validate), nothing is stored and
// the state is not created.
func Open(dir, appID string, full, dry bool) (*Store, error) {
	s := &Store{dir: dir, appID: appID, full: full, dry: dry}
	if dry {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			s.man = manifest{Format: formatVersion, SDKAppID: appID, Files: map[string]fileMeta{}}
			return s, nil
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &Error{dir, err}
	}
	if err := s.readManifest(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.check(); err != nil {
		s.Close()
		return nil, err
	}
	if !dry {
		s.cleanup()
	}
	return s, nil
}

// readManifest reads the manifest, or starts an empty state.
func (s *Store) readManifest() error {
	path := filepath.Join(s.dir, manifestName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s.man = manifest{Format: formatVersion, SDKAppID: s.appID, Files: map[string]fileMeta{}}
		return nil
	}
	if err != nil {
		return &Error{path, err}
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return &Error{path, fmt.Errorf("corrupt state manifest (%v): run with --full to rebuild the state (every item is sent again)", err)}
	}
	if m.Format != formatVersion {
		return &Error{path, fmt.Errorf("state format %d, this markimport reads %d", m.Format, formatVersion)}
	}
	if s.appID == "" && s.dry {
		s.appID = m.SDKAppID // validate previews the state whatever its app
	}
	if m.SDKAppID != s.appID {
		return &Error{s.dir, fmt.Errorf("the state is of SDKAppID %s, this run is for SDKAppID %s: give each app its own --state", m.SDKAppID, s.appID)}
	}
	if m.Files == nil {
		m.Files = map[string]fileMeta{}
	}
	s.man = m
	return nil
}

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
		return nil, &Error{path, fmt.Errorf("state partition %s unreadable (%v): run with --full to rebuild the state (every item is sent again)", p, err)}
	}
	want := int64(len(fileMagic)) + fm.Entries*EntrySize
	if int64(len(b)) != want || !bytes.HasPrefix(b, []byte(fileMagic)) {
		return nil, &Error{path, fmt.Errorf("state partition %s is truncated or damaged (%d bytes, want %d): run with --full to rebuild the state (every item is sent again)", p, len(b), want)}
	}
	if crc32.ChecksumIEEE(b) != fm.CRC32 {
		return nil, &Error{path, fmt.Errorf("state partition %s is damaged (checksum mismatch): run with --full to rebuild the state (every item is sent again)", p)}
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
		e := b[i*EntrySize:]
		out[i] = entry{binary.BigEndian.Uint64(e), binary.BigEndian.Uint64(e[8:]), binary.BigEndian.Uint64(e[16:])}
	}
	return out, nil
}

// cleanup removes what a killed run left: pending folders and partition
// files of generations the manifest does not name.
func (s *Store) cleanup() {
	names, _ := os.ReadDir(s.dir)
	keep := map[string]bool{}
	for _, fm := range s.man.Files {
		keep[filepath.Dir(fm.Name)] = true
	}
	for _, e := range names {
		n := e.Name()
		if strings.HasPrefix(n, "pending-") || strings.HasPrefix(n, "gen-") && !keep[n] {
			os.RemoveAll(filepath.Join(s.dir, n))
		}
	}
}

// Entries is how many conversations the state holds.
func (s *Store) Entries() int64 {
	var n int64
	for _, fm := range s.man.Files {
		n += fm.Entries
	}
	return n
}

// Part is one partition of the state, loaded for lookups: its entries as
// they are on disk, sorted, and a bucket index over them. Keys are hashes,
// spread evenly: the top bits of a key name its bucket, which holds about
// four entries, so that a lookup touches the index and one or two cache
// lines of entries (a binary search of a 10 MB partition misses the cache
// a dozen times).
type Part struct {
	raw   []byte   // EntrySize bytes an entry
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
func (s *Store) Partition(p int) (*Part, error) {
	if s.full {
		return &Part{full: true}, nil
	}
	fm, ok := s.man.Files[strconv.Itoa(p)]
	if !ok {
		return &Part{}, nil
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
func (pt *Part) Release() {
	if pt.store != nil && pt.file != nil {
		pt.store.bufs.Put(&partBufs{file: pt.file[:0], idx: pt.idx[:0]})
	}
	*pt = Part{}
}

// newPart indexes sorted entries.
func newPart(raw []byte) *Part { return newPartInto(raw, nil) }

// newPartInto indexes sorted entries, in idx when it is large enough.
func newPartInto(raw []byte, idx []uint32) *Part {
	n := len(raw) / EntrySize
	buckets, log := 1, 0
	for buckets*4 < n {
		buckets <<= 1
		log++
	}
	if cap(idx) < buckets+1 {
		idx = make([]uint32, buckets+1)
	}
	pt := &Part{raw: raw, idx: idx[:buckets+1], shift: uint(64 - log)}
	cur := 0
	for i := range n {
		b := int(binary.BigEndian.Uint64(raw[i*EntrySize:]) >> pt.shift)
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

// Unchanged reports whether the item of user from (a user of this
// partition) is what the API last confirmed for its conversation.
func (pt *Part) Unchanged(from string, it *mark.Item) bool {
	if pt.full || len(pt.raw) == 0 {
		return false
	}
	fp, ok := pt.lookup(keyOf(from, it.Conv))
	return ok && fp == Fingerprint(it)
}

// lookup returns the fingerprint stored for a key.
func (pt *Part) lookup(k1, k2 uint64) (uint64, bool) {
	if len(pt.raw) == 0 {
		return 0, false
	}
	b := k1 >> pt.shift
	for i := pt.idx[b]; i < pt.idx[b+1]; i++ {
		e := pt.raw[int(i)*EntrySize:]
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

// Confirmed records that the API confirmed the item of user from (every
// row ended ok). It may be called from several goroutines.
func (s *Store) Confirmed(from string, it *mark.Item) {
	if s.dry {
		return
	}
	p := spill.PartitionOf(from)
	k1, k2 := keyOf(from, it.Conv)
	var b [EntrySize]byte
	binary.BigEndian.PutUint64(b[0:], k1)
	binary.BigEndian.PutUint64(b[8:], k2)
	binary.BigEndian.PutUint64(b[16:], Fingerprint(it))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	w := s.updates[p]
	if w == nil {
		if s.pending == "" {
			dir, err := os.MkdirTemp(s.dir, "pending-")
			if err != nil {
				s.err = err
				return
			}
			s.pending = dir
		}
		f, err := os.Create(filepath.Join(s.pending, fmt.Sprintf("p-%03d", p)))
		if err != nil {
			s.err = err
			return
		}
		s.files[p] = f
		w = bufio.NewWriterSize(f, 16<<10)
		s.updates[p] = w
	}
	if _, err := w.Write(b[:]); err != nil {
		s.err = err
	}
	s.added++
}

// Added is how many confirmed items the run recorded.
func (s *Store) Added() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.added
}

// crashHook, when set, is called after each partition file of a new
// generation is written. Only a build for tests sets it (killafter.go).
var crashHook func(written int)

// Commit merges the confirmed items into a new generation of the state
// and makes it current by renaming its manifest into place. Nothing is
// current until that rename: a crash before it leaves the old state.
func (s *Store) Commit() error {
	if s.dry {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return &Error{s.dir, fmt.Errorf("recording confirmed items: %w", s.err)}
	}
	if s.pending == "" {
		return nil // nothing confirmed: the state stays as it is
	}
	gen := s.man.Generation + 1
	genDir := fmt.Sprintf("gen-%d", gen)
	if err := os.MkdirAll(filepath.Join(s.dir, genDir), 0o755); err != nil {
		return &Error{s.dir, err}
	}
	next := manifest{Format: formatVersion, SDKAppID: s.appID, Generation: gen, Updated: time.Now().UTC(), Files: map[string]fileMeta{}}
	for k, v := range s.man.Files {
		next.Files[k] = v
	}
	written := 0
	for p := range s.updates {
		w := s.updates[p]
		if w == nil {
			continue
		}
		if err := w.Flush(); err != nil {
			return &Error{s.files[p].Name(), err}
		}
		upd, err := readUpdates(s.files[p])
		if err != nil {
			return &Error{s.files[p].Name(), err}
		}
		key := strconv.Itoa(p)
		var old []entry
		if fm, ok := s.man.Files[key]; ok {
			if old, err = s.readPart(key, fm); err != nil {
				return err
			}
		}
		merged := merge(old, upd)
		name := filepath.Join(genDir, fmt.Sprintf("p-%03d.st", p))
		crc, err := writePart(filepath.Join(s.dir, name), merged)
		if err != nil {
			return &Error{filepath.Join(s.dir, name), err}
		}
		next.Files[key] = fileMeta{Name: name, Entries: int64(len(merged)), CRC32: crc}
		written++
		if crashHook != nil {
			crashHook(written)
		}
	}
	if err := syncDir(filepath.Join(s.dir, genDir)); err != nil {
		return &Error{s.dir, err}
	}
	b, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, manifestName+".tmp")
	if err := writeSynced(tmp, append(b, '\n')); err != nil {
		return &Error{tmp, err}
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, manifestName)); err != nil {
		return &Error{s.dir, err}
	}
	if err := syncDir(s.dir); err != nil {
		return &Error{s.dir, err}
	}
	s.man = next
	s.closePending()
	s.cleanup()
	return nil
}

// readUpdates reads a pending file's entries, sorted by key, the last of
// a key kept.
func readUpdates(f *os.File) ([]entry, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(b)/EntrySize)
	for i := 0; i+EntrySize <= len(b); i += EntrySize {
		out = append(out, entry{binary.BigEndian.Uint64(b[i:]), binary.BigEndian.Uint64(b[i+8:]), binary.BigEndian.Uint64(b[i+16:])})
	}
	slices.SortStableFunc(out, entry.less)
	// The last of equal keys wins.
	dedup := out[:0]
	for i, e := range out {
		if i+1 < len(out) && out[i+1].less(e) == 0 {
			continue
		}
		dedup = append(dedup, e)
	}
	return dedup, nil
}

// merge merges sorted old entries with sorted updates, an update replacing
// the old entry of its key.
func merge(old, upd []entry) []entry {
	out := make([]entry, 0, len(old)+len(upd))
	i, j := 0, 0
	for i < len(old) || j < len(upd) {
		switch {
		case j == len(upd) || i < len(old) && old[i].less(upd[j]) < 0:
			out = append(out, old[i])
			i++
		case i == len(old) || upd[j].less(old[i]) < 0:
			out = append(out, upd[j])
			j++
		default:
			out = append(out, upd[j])
			i++
			j++
		}
	}
	return out
}

// writePart writes a partition file, fsynced, and returns its CRC-32.
func writePart(path string, entries []entry) (uint32, error) {
	b := make([]byte, len(fileMagic), len(fileMagic)+len(entries)*EntrySize)
	copy(b, fileMagic)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, e.k1)
		b = binary.BigEndian.AppendUint64(b, e.k2)
		b = binary.BigEndian.AppendUint64(b, e.fp)
	}
	return crc32.ChecksumIEEE(b), writeSynced(path, b)
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// closePending closes and removes this run's pending files.
func (s *Store) closePending() {
	for p, f := range s.files {
		if f != nil {
			f.Close()
			s.files[p], s.updates[p] = nil, nil
		}
	}
	if s.pending != "" {
		os.RemoveAll(s.pending)
		s.pending = ""
	}
}

// Close releases the state without storing what was not committed.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closePending()
	s.mu.Unlock()
	return nil
}
