package bucket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// State is a markimport state (--state) kept in a store under Prefix, and
// its local copy in Local, a folder of the run's temporary files that the
// state package opens as it opens a folder on disk. Pull fills the copy
// from the newest manifest; once the run has committed the copy, Push
// uploads what the commit wrote, then the new manifest, then prunes.
//
// Under the prefix:
//
//	manifest-NNNNNNNN.json          commit N's manifest: the state's own
//	                                manifest and the object of each of its files
//	s-NNNNNNNN/gen-G/p-PPP.st       a partition file commit N uploaded
//
// Objects are written once and never modified; a commit's manifest goes
// last, so a manifest names only objects that are complete. The newest
// manifest is the state. After a commit the objects that neither it nor
// the one before it names are deleted, so the previous generation stays.
// Two runs at once on one prefix: the second to commit finds a manifest
// newer than the one it pulled and stores nothing (its items are sent
// again the next night); its manifest is also put with a conditional put,
// where the store honours one. A store that does not (COS) leaves a window
// between that check and the put, which is why a schedule runs one job at
// a time (a CronJob's concurrencyPolicy: Forbid).
type State struct {
	Ctx    context.Context
	Store  Store
	Prefix Object // ends in "/" or is the bucket's root
	Local  string // the local copy's folder

	seq     int               // the manifest pulled; 0: none
	known   bool              // the pulled manifest was read (not damaged)
	objects map[string]string // the pulled manifest's files: local name → key
	pulled  []byte            // the state manifest pulled
}

// stateManifest is the local state manifest's name.
const stateManifest = "MANIFEST.json"

// remoteManifest is manifest-NNNNNNNN.json.
type remoteManifest struct {
	Format   int               `json:"format"`
	Seq      int               `json:"seq"`
	Objects  map[string]string `json:"objects"` // a file of the state (gen-G/p-PPP.st) → its key below the prefix
	Manifest json.RawMessage   `json:"manifest"`
	SHA256   string            `json:"sha256,omitempty"` // of the manifest encoded with this field empty
}

// localFiles is what this package reads of the state's own manifest.
type localFiles struct {
	Files map[string]struct {
		Name    string `json:"name"`
		Entries int64  `json:"entries"`
		CRC32   uint32 `json:"crc32"`
	} `json:"files"`
}

// Partition files: a magic, then 24-byte entries.
const (
	partMagic = "MKSTATE1"
	entrySize = 24
)

// damagedError is a state in the bucket that cannot be used: Object names
// what is missing or damaged.
type damagedError struct {
	Object Object
	Why    string
}

func (e *damagedError) Error() string {
	return e.Object.String() + ": " + e.Why + "; run with --full to start a new state (every item is sent again; the objects in the bucket are left as they are until a later commit prunes them)"
}

func manifestKey(seq int) string { return fmt.Sprintf("manifest-%08d.json", seq) }
func commitDir(seq int) string   { return fmt.Sprintf("s-%08d/", seq) }

// seqOf is N of manifest-NNNNNNNN.json, or 0.
func seqOf(name string) int {
	t, ok := strings.CutPrefix(name, "manifest-")
	t, ok2 := strings.CutSuffix(t, ".json")
	n, err := strconv.Atoi(t)
	if !ok || !ok2 || err != nil || n < 1 || manifestKey(n) != name {
		return 0
	}
	return n
}

// newest lists the prefix and returns the newest manifest's number (0:
// none) and every key below the prefix, relative to it.
func (s *State) newest() (int, []string, error) {
	keys, err := s.Store.List(s.Ctx, s.Prefix)
	if err != nil {
		return 0, nil, fmt.Errorf("list %s: %w", s.Prefix, err)
	}
	seq := 0
	rel := make([]string, 0, len(keys))
	for _, k := range keys {
		r := strings.TrimPrefix(k, s.Prefix.Key)
		rel = append(rel, r)
		seq = max(seq, seqOf(r))
	}
	return seq, rel, nil
}

// Pull fills the local copy from the newest manifest, each object checked
// against it (size and CRC-32) as it arrives. A state that cannot be used
// is a *damagedError naming the object; with full it is not refused: the
// local copy starts empty and the returned notice says why.
func (s *State) Pull(full bool) (notice string, err error) {
	seq, _, err := s.newest()
	if err != nil || seq == 0 {
		return "", err
	}
	s.seq = seq
	err = s.pull(seq)
	var de *damagedError
	if full && errors.As(err, &de) {
		if err := os.RemoveAll(s.Local); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: %s; --full starts a new state (the objects in the bucket are kept)", de.Object, de.Why), os.MkdirAll(s.Local, 0o755)
	}
	return "", err
}

// pull reads manifest seq and the files it names into the local copy.
func (s *State) pull(seq int) error {
	mo := s.Prefix.Join(manifestKey(seq))
	rm, files, err := s.readManifest(mo)
	if err != nil {
		return err
	}
	for name, fm := range files.Files {
		if _, ok := rm.Objects[fm.Name]; !ok {
			return &damagedError{mo, fmt.Sprintf("the manifest names no object for partition %s (%s)", name, fm.Name)}
		}
	}
	// The objects come a few at a time: a state is up to 256 of them, and
	// each GET waits for the store's latency.
	g, ctx := errgroup.WithContext(s.Ctx)
	g.SetLimit(pullers)
	for _, fm := range files.Files {
		g.Go(func() error {
			return s.pullFile(ctx, s.Prefix.Join(rm.Objects[fm.Name]), fm.Name, fm.Entries, fm.CRC32)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := writeLocal(filepath.Join(s.Local, stateManifest), rm.Manifest); err != nil {
		return err
	}
	s.known, s.objects, s.pulled = true, rm.Objects, rm.Manifest
	return nil
}

// pullers is how many objects Pull reads, and Push writes, at once.
const pullers = 16

// pullFile reads the partition file o, checks it against what the
// manifest says of it, and writes it as name in the local copy.
func (s *State) pullFile(ctx context.Context, o Object, name string, entries int64, crc uint32) error {
	b, err := s.Store.Get(ctx, o)
	want := int64(len(partMagic)) + entries*entrySize
	switch {
	case isNotExist(err):
		return &damagedError{o, "the state's partition file is missing (deleted?)"}
	case err != nil:
		return fmt.Errorf("read %s: %w", o, err)
	case int64(len(b)) != want || !bytes.HasPrefix(b, []byte(partMagic)):
		return &damagedError{o, fmt.Sprintf("the state's partition file is truncated or damaged (%d bytes, want %d)", len(b), want)}
	case crc32.ChecksumIEEE(b) != crc:
		return &damagedError{o, "the state's partition file is damaged (checksum mismatch)"}
	}
	return writeLocal(filepath.Join(s.Local, filepath.FromSlash(name)), b)
}

// readManifest reads and checks manifest object mo.
func (s *State) readManifest(mo Object) (remoteManifest, localFiles, error) {
	var rm remoteManifest
	var files localFiles
	b, err := s.Store.Get(s.Ctx, mo)
	if err != nil {
		if isNotExist(err) {
			return rm, files, &damagedError{mo, "the state's manifest is missing"}
		}
		return rm, files, fmt.Errorf("read %s: %w", mo, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rm); err != nil {
		return rm, files, &damagedError{mo, "the state's manifest cannot be read (" + err.Error() + ")"}
	}
	if sum, err := rm.checksum(); err != nil || rm.SHA256 == "" || sum != rm.SHA256 {
		return rm, files, &damagedError{mo, "the state's manifest is damaged (checksum mismatch)"}
	}
	if rm.Format != 1 || rm.Seq != seqOf(strings.TrimPrefix(mo.Key, s.Prefix.Key)) {
		return rm, files, &damagedError{mo, fmt.Sprintf("the state's manifest is of format %d, commit %d: not this object's", rm.Format, rm.Seq)}
	}
	if err := json.Unmarshal(rm.Manifest, &files); err != nil {
		return rm, files, &damagedError{mo, "the state's manifest cannot be read (" + err.Error() + ")"}
	}
	return rm, files, nil
}

// checksum is the hex SHA-256 of the manifest encoded with no checksum.
func (rm remoteManifest) checksum() (string, error) {
	rm.SHA256 = ""
	b, err := json.Marshal(rm)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), err
}

// writeLocal writes a file of the local copy. The copy is scratch (the
// objects are the state), so it is written plainly, not made durable.
func writeLocal(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Push uploads what a commit of the local copy wrote: each file its
// manifest names that the pulled one did not (immutable, under a new
// commit's folder), then the manifest, then prunes. It uploads nothing
// when the local manifest is the one pulled.
func (s *State) Push() error {
	local, err := os.ReadFile(filepath.Join(s.Local, stateManifest))
	if err != nil {
		return err
	}
	if s.known && bytes.Equal(local, s.pulled) {
		return nil
	}
	var files localFiles
	if err := json.Unmarshal(local, &files); err != nil {
		return fmt.Errorf("the state's manifest: %w", err)
	}
	if err := s.unchanged(); err != nil {
		return err
	}
	next := s.seq + 1
	objects := map[string]string{}
	g, ctx := errgroup.WithContext(s.Ctx)
	g.SetLimit(pullers)
	for _, fm := range files.Files {
		if key, ok := s.objects[fm.Name]; ok {
			objects[fm.Name] = key
			continue
		}
		key := commitDir(next) + fm.Name
		objects[fm.Name] = key
		g.Go(func() error { return s.pushFile(ctx, fm.Name, s.Prefix.Join(key)) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	rm := remoteManifest{Format: 1, Seq: next, Objects: objects, Manifest: local}
	if rm.SHA256, err = rm.checksum(); err != nil {
		return err
	}
	body, err := json.Marshal(rm)
	if err != nil {
		return err
	}
	if err := s.commit(next, body); err != nil {
		return err
	}
	prev, prevKnown, prevObjects := s.seq, s.known, s.objects
	s.seq, s.known, s.objects, s.pulled = next, true, objects, local
	if prevKnown || prev == 0 {
		s.prune(prev, prevObjects, objects)
	}
	return nil
}

// pushFile uploads the local file name as the new object o.
func (s *State) pushFile(ctx context.Context, name string, o Object) error {
	b, err := os.ReadFile(filepath.Join(s.Local, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	if err := s.Store.Put(ctx, o, b, true); err != nil {
		if isExist(err) {
			return fmt.Errorf("%s: %w (%s appeared)", s.Prefix, errConcurrent, o)
		}
		return fmt.Errorf("upload %s: %w", o, err)
	}
	return nil
}

// errConcurrent is a commit refused because another run committed the
// state since this one pulled it.
var errConcurrent = errors.New("another run committed this state since this run read it: this run's confirmed items were not stored (the next run sends them again); run one job at a time on a state")

// unchanged refuses a state committed by another run since the pull.
func (s *State) unchanged() error {
	seq, _, err := s.newest()
	if err != nil {
		return err
	}
	if seq != s.seq {
		return fmt.Errorf("%s: %w (it found %s)", s.Prefix, errConcurrent, manifestKey(seq))
	}
	return nil
}

// commit puts manifest next, once no newer manifest than the pulled one
// is there, with a conditional put.
func (s *State) commit(next int, body []byte) error {
	if err := s.unchanged(); err != nil {
		return err
	}
	mo := s.Prefix.Join(manifestKey(next))
	if err := s.Store.Put(s.Ctx, mo, body, true); err != nil {
		if isExist(err) {
			return fmt.Errorf("%s: %w (%s appeared)", s.Prefix, errConcurrent, mo)
		}
		return fmt.Errorf("upload %s: %w", mo, err)
	}
	return nil
}

// prune deletes the manifests older than prev and the objects of commits
// up to next that neither manifest prev nor next names. A failure costs
// space only: the next commit prunes again.
func (s *State) prune(prev int, prevObjects, objects map[string]string) {
	_, keys, err := s.newest()
	if err != nil {
		return
	}
	named := map[string]bool{}
	for _, k := range prevObjects {
		named[k] = true
	}
	for _, k := range objects {
		named[k] = true
	}
	for _, k := range keys {
		if n := seqOf(k); n > 0 && n < prev {
			s.Store.Delete(s.Ctx, s.Prefix.Join(k))
			continue
		}
		var n int
		if _, err := fmt.Sscanf(k, "s-%08d/", &n); err == nil && n <= s.seq && strings.HasPrefix(k, commitDir(n)) && !named[k] {
			s.Store.Delete(s.Ctx, s.Prefix.Join(k))
		}
	}
}
