package state

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
)

// Confirmed records that the API confirmed the item of user from (every
// row ended ok). It may be called from several goroutines.
func (s *Store) Confirmed(from string, it *mark.Item) {
	if s.dry {
		return
	}
	p := spill.PartitionOf(from)
	k1, k2 := keyOf(from, it.Conv)
	var b [entrySize]byte
	binary.BigEndian.PutUint64(b[0:], k1)
	binary.BigEndian.PutUint64(b[8:], k2)
	binary.BigEndian.PutUint64(b[16:], itemHash(it))
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
	out := make([]entry, 0, len(b)/entrySize)
	for i := 0; i+entrySize <= len(b); i += entrySize {
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
