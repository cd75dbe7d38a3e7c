package state

import (
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"time"

	"markimport/pipeline/durable"
)

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
		return &stateError{Path: s.dir, Err: fmt.Errorf("recording confirmed items: %w", s.err)}
	}
	if s.pending == "" {
		return nil // nothing confirmed: the state stays as it is
	}
	next, err := s.writeGeneration(s.man.Generation + 1)
	if err != nil {
		return err
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

// writeGeneration writes, as the batch of generation gen, the file of
// every partition with confirmed items, and seals it; it returns the
// manifest that names them with the files of the partitions it did not
// rewrite.
func (s *Store) writeGeneration(gen int) (manifest, error) {
	dir := filepath.Join(s.dir, genDir(gen))
	batch, err := durable.NewBatch(s.fs, dir)
	if err != nil {
		return manifest{}, &stateError{Path: dir, Err: err}
	}
	next := manifest{Format: formatVersion, SDKAppID: s.appID, Generation: gen, Updated: time.Now().UTC(), Files: map[string]fileMeta{}}
	for k, v := range s.man.Files {
		next.Files[k] = v
	}
	written := 0
	for p := range s.updates {
		if s.updates[p] == nil {
			continue
		}
		fm, err := s.mergePartition(batch, gen, p)
		if err != nil {
			return manifest{}, err
		}
		next.Files[strconv.Itoa(p)] = fm
		written++
		if crashHook != nil {
			crashHook(written)
		}
	}
	if err := batch.Seal(); err != nil {
		return manifest{}, &stateError{Path: dir, Err: err}
	}
	return next, nil
}

// mergePartition merges the confirmed items of partition p into its
// current entries and writes the result as the partition's file in batch,
// synced; it returns the file's entry in the manifest of generation gen.
func (s *Store) mergePartition(batch *durable.Batch, gen, p int) (fileMeta, error) {
	if err := s.updates[p].Flush(); err != nil {
		return fileMeta{}, &stateError{Path: s.files[p].Name(), Err: err}
	}
	upd, err := readUpdates(s.files[p])
	if err != nil {
		return fileMeta{}, &stateError{Path: s.files[p].Name(), Err: err}
	}
	key := strconv.Itoa(p)
	var old []entry
	if fm, ok := s.man.Files[key]; ok {
		if old, err = s.readPart(key, fm); err != nil {
			return fileMeta{}, err
		}
	}
	merged := merge(old, upd)
	name := genDir(gen) + "/" + partName(p)
	b := encodePart(merged)
	if err := batch.WriteFile(partName(p), b); err != nil {
		return fileMeta{}, &stateError{Path: filepath.Join(s.dir, name), Err: err}
	}
	return fileMeta{Name: name, Entries: int64(len(merged)), CRC32: crc32.ChecksumIEEE(b)}, nil
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
