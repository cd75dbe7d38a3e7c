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
// files of the current generation with their sizes and CRC-32s, and
// carries its own checksum. A run appends the items the API confirmed to
// per-partition pending files, and at its end merges them into a new
// generation and renames the new manifest into place: a crash leaves the
// old state or the new one, never a mix, and the new one holds only
// confirmed items. Every write goes through a durable.FS.
//
// A state folder holds only what this package writes there (folder.go
// lists it). Open refuses a folder it cannot account for whole (no
// manifest beside partition files, a manifest that does not check, a
// damaged partition file, a file it did not write) rather than take it
// for a state that holds less, and deletes only what it can prove is its
// own leftover; with --full it moves such a folder's content aside,
// deleting nothing, and starts a new state.
package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"markimport/pipeline/durable"
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

// Error is a state that cannot be used: another app's, damaged, or a
// folder Open cannot account for.
type Error struct {
	Path string
	Err  error
	// Damaged is true when the folder's content cannot be trusted as a
	// state (a lost or damaged manifest, a damaged partition file, files
	// markimport did not write): --full sets such a folder's content
	// aside and starts a new state.
	Damaged bool
	why     string // a damaged state's reason, without the remedy
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// fullHint ends the message of a damaged state.
const fullHint = "run with --full to start a new state (every item is sent again; what the folder holds is moved to a set-aside folder inside it, never deleted)"

// damaged is the *Error of a folder that cannot be trusted as a state:
// why, then what to do (fix, when there is more than one way, ends in
// "or ", and the hint of --full follows).
func damaged(path, why, fix string) *Error {
	return &Error{Path: path, Err: errors.New(why + "; " + fix + fullHint), Damaged: true, why: why}
}

// Store is an open state.
type Store struct {
	dir     string
	appID   string
	full    bool // --full: nothing is unchanged; confirmed items still stored
	dry     bool // validate: nothing is stored
	fs      durable.FS
	man     manifest
	notice  string
	pending string // folder of this run's confirmed items

	// bufs holds the memory of parts released, for the next partition
	// loaded (*partBufs).
	bufs sync.Pool

	mu      sync.Mutex
	updates [spill.Partitions]*bufio.Writer
	files   [spill.Partitions]durable.File
	added   int64
	err     error
}

// LockName is the file in a state's folder that a run holds locked (an
// flock) while it uses the state: two runs on one state would each store
// what the other does not know. The caller takes it before Open.
const LockName = "LOCK"

// Options are how a state is opened. The zero value opens it for a run
// that sends only changed items, on the disk.
type Options struct {
	// Full (--full): Unchanged is always false; confirmed items are still
	// stored. A folder that cannot be trusted as a state is not refused:
	// its content is moved to a set-aside folder inside it (nothing is
	// deleted) and a new state starts.
	Full bool
	// Dry (validate): the state is only read; nothing is written, and a
	// state that does not exist is not created.
	Dry bool
	// FS is what every write goes through; nil is the disk.
	FS durable.FS
}

// Open opens (creating it when missing) the state in dir for the app
// appID. A state of another app, or a folder that cannot be trusted as a
// state, is an *Error, and nothing in the folder is changed. Once the
// folder is accounted for, what killed runs left there is removed.
func Open(dir, appID string, opts Options) (*Store, error) {
	s := &Store{dir: dir, appID: appID, full: opts.Full, dry: opts.Dry, fs: durable.Or(opts.FS)}
	if s.dry {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			s.man = emptyManifest(appID)
			return s, nil
		}
	} else if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, &Error{Path: dir, Err: err}
	}
	f, err := s.load()
	var se *Error
	if err != nil && s.full && errors.As(err, &se) && se.Damaged {
		f, err = s.startAfresh(se)
	}
	if err != nil {
		return nil, err
	}
	if s.dry {
		return s, nil
	}
	if err := s.cleanup(f); err != nil {
		return nil, &Error{Path: dir, Err: fmt.Errorf("removing what an earlier run left: %w", err)}
	}
	if !f.manifest {
		// A new state has a manifest from the start, so that a partition
		// file is never there without one: a folder of partition files
		// and no manifest is one whose manifest was lost.
		s.man.Updated = time.Now().UTC()
		if err := s.writeManifest(s.man); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// startAfresh is --full on a folder that cannot be trusted as a state:
// its content goes to a set-aside folder and the state starts empty. A
// dry run only says it would.
func (s *Store) startAfresh(why *Error) (*folder, error) {
	s.man = emptyManifest(s.appID)
	if s.dry {
		s.notice = fmt.Sprintf("%s: %s; run --full moves what the folder holds to a set-aside folder inside it and starts a new state", why.Path, why.why)
		return &folder{}, nil
	}
	aside, err := s.setAside()
	if err != nil {
		return nil, &Error{Path: s.dir, Err: fmt.Errorf("%w; moving it aside for --full: %w", why.Err, err)}
	}
	s.notice = fmt.Sprintf("%s: %s; --full moved what the folder held to %s (markimport never deletes it) and starts a new state", why.Path, why.why, aside)
	return &folder{}, nil
}

// Notice is what the user should be told of Open, or "": that --full set
// the content of a state that could not be used aside, and where.
func (s *Store) Notice() string { return s.notice }

// load accounts for the folder: its manifest, checked, names every
// partition file (each checked too), and nothing else is there but what
// this package writes. It refuses a folder it cannot account for.
func (s *Store) load() (*folder, error) {
	f, err := scan(s.dir)
	if err != nil {
		return nil, &Error{Path: s.dir, Err: err}
	}
	if f.manifest {
		if err := s.readManifest(); err != nil {
			return nil, err
		}
	}
	if len(f.unknown) > 0 {
		return nil, damaged(s.dir, "the state folder holds what markimport did not write: "+list(f.unknown), "move it elsewhere (a state folder holds only markimport's files), or ")
	}
	if !f.manifest {
		if len(f.gens) > 0 {
			return nil, damaged(s.dir, fmt.Sprintf("no %s, yet the folder holds %d partition files (%s): the manifest was deleted or lost, and without it they can be neither checked nor trusted", manifestName, f.partFiles(), list(f.genNames())), "put it back, or ")
		}
		s.man = emptyManifest(s.appID)
		return f, nil
	}
	for g := range f.gens {
		if g > s.man.Generation+1 {
			return nil, damaged(s.dir, fmt.Sprintf("%s is newer than generation %d of %s by more than one commit: the manifest is older than the files", genDir(g), s.man.Generation, manifestName), "put the right one back, or ")
		}
	}
	return f, s.check()
}

// readManifest reads and checks the manifest.
func (s *Store) readManifest() error {
	path := filepath.Join(s.dir, manifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		return &Error{Path: path, Err: err}
	}
	m, err := decodeManifest(b)
	if errors.Is(err, errFormat) {
		return damaged(path, err.Error()+": the state was written by another version of markimport", "")
	}
	if err != nil {
		return damaged(path, "the state manifest cannot be trusted ("+err.Error()+")", "")
	}
	if s.appID == "" && s.dry {
		s.appID = m.SDKAppID // validate previews the state whatever its app
	}
	if m.SDKAppID != s.appID {
		return &Error{Path: s.dir, Err: fmt.Errorf("the state is of SDKAppID %s, this run is for SDKAppID %s: give each app its own --state", m.SDKAppID, s.appID)}
	}
	s.man = m
	return nil
}

// writeManifest makes m the state's manifest: written beside it, synced,
// renamed into place, the folder synced.
func (s *Store) writeManifest(m manifest) error {
	path := filepath.Join(s.dir, manifestName)
	b, err := m.encode()
	if err == nil {
		err = durable.WriteFile(s.fs, path, b)
	}
	if err != nil {
		return &Error{Path: path, Err: err}
	}
	return nil
}

// Entries is how many conversations the state holds.
func (s *Store) Entries() int64 {
	var n int64
	for _, fm := range s.man.Files {
		n += fm.Entries
	}
	return n
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
			// One run at a time holds the state (its lock), and Open
			// removed the pending folders of earlier runs.
			dir := filepath.Join(s.dir, pendingPrefix+strconv.FormatInt(time.Now().UnixNano(), 10))
			if err := s.fs.MkdirAll(dir, 0o755); err != nil {
				s.err = err
				return
			}
			s.pending = dir
		}
		f, err := s.fs.OpenFile(filepath.Join(s.pending, pendingName(p)), os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
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
// current until that rename: a crash before it leaves the old state, and
// the generation folder it was writing, one newer than the manifest's, is
// what the next Open removes. Each step is durable before the next one
// depends on it: the generation's folder entry and its files (synced, and
// their folder synced) before the manifest that names them, the manifest
// synced before its rename, the rename made durable by syncing the folder.
// The files the new generation replaced are removed afterwards.
func (s *Store) Commit() error {
	if s.dry {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return &Error{Path: s.dir, Err: fmt.Errorf("recording confirmed items: %w", s.err)}
	}
	if s.pending == "" {
		return nil // nothing confirmed: the state stays as it is
	}
	gen := s.man.Generation + 1
	dir := filepath.Join(s.dir, genDir(gen))
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return &Error{Path: dir, Err: err}
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return &Error{Path: s.dir, Err: err}
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
			return &Error{Path: s.files[p].Name(), Err: err}
		}
		upd, err := readUpdates(s.files[p])
		if err != nil {
			return &Error{Path: s.files[p].Name(), Err: err}
		}
		key := strconv.Itoa(p)
		var old []entry
		if fm, ok := s.man.Files[key]; ok {
			if old, err = s.readPart(key, fm); err != nil {
				return err
			}
		}
		merged := merge(old, upd)
		name := genDir(gen) + "/" + partName(p)
		crc, err := s.writePart(filepath.Join(s.dir, name), merged)
		if err != nil {
			return &Error{Path: filepath.Join(s.dir, name), Err: err}
		}
		next.Files[key] = fileMeta{Name: name, Entries: int64(len(merged)), CRC32: crc}
		written++
		if crashHook != nil {
			crashHook(written)
		}
	}
	if err := s.fs.SyncDir(dir); err != nil {
		return &Error{Path: dir, Err: err}
	}
	if err := s.writeManifest(next); err != nil {
		return err
	}
	s.man = next
	s.closePending()
	// What the new generation replaced. A failure here costs disk space
	// until the next Open removes it, never the state.
	if f, err := scan(s.dir); err == nil {
		s.cleanup(f)
	}
	return nil
}

// readUpdates reads a pending file's entries, sorted by key, the last of
// a key kept.
func readUpdates(f durable.File) ([]entry, error) {
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

// writePart writes a partition file, synced, and returns its CRC-32.
func (s *Store) writePart(path string, entries []entry) (uint32, error) {
	b := make([]byte, len(fileMagic), len(fileMagic)+len(entries)*EntrySize)
	copy(b, fileMagic)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, e.k1)
		b = binary.BigEndian.AppendUint64(b, e.k2)
		b = binary.BigEndian.AppendUint64(b, e.fp)
	}
	f, err := s.fs.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return crc32.ChecksumIEEE(b), err
}

// closePending closes and removes this run's pending files.
func (s *Store) closePending() {
	for p, f := range s.files {
		if f != nil {
			f.Close()
			s.fs.Remove(f.Name())
			s.files[p], s.updates[p] = nil, nil
		}
	}
	if s.pending != "" {
		removeFolder(s.fs, s.pending, isPendingFile)
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
