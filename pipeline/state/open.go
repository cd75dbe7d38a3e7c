package state

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"markimport/pipeline/durable"
	"markimport/pipeline/spill"
)

// stateError is a state that cannot be used: another app's, damaged, or a
// folder Open cannot account for.
type stateError struct {
	Path string
	Err  error
	// Damaged is true when the folder's content cannot be trusted as a
	// state (a lost or damaged manifest, a damaged partition file, files
	// markimport did not write): --full sets such a folder's content
	// aside and starts a new state.
	Damaged bool
	why     string // a damaged state's reason, without the remedy
}

func (e *stateError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *stateError) Unwrap() error { return e.Err }

// fullHint ends the message of a damaged state.
const fullHint = "run with --full to start a new state (every item is sent again; what the folder holds is moved to a set-aside folder inside it, never deleted)"

// damaged is the *stateError of a folder that cannot be trusted as a state:
// why, then what to do (fix, when there is more than one way, ends in
// "or ", and the hint of --full follows).
func damaged(path, why, fix string) *stateError {
	return &stateError{Path: path, Err: errors.New(why + "; " + fix + fullHint), Damaged: true, why: why}
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
// state, is an *stateError, and nothing in the folder is changed. Once the
// folder is accounted for, what killed runs left there is removed.
func Open(dir, appID string, opts Options) (*Store, error) {
	s := &Store{dir: dir, appID: appID, full: opts.Full, dry: opts.Dry, fs: durable.Or(opts.FS)}
	if s.dry {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			s.man = emptyManifest(appID)
			return s, nil
		}
	} else if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, &stateError{Path: dir, Err: err}
	}
	f, err := s.load()
	var se *stateError
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
		return nil, &stateError{Path: dir, Err: fmt.Errorf("removing what an earlier run left: %w", err)}
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
func (s *Store) startAfresh(why *stateError) (*folder, error) {
	s.man = emptyManifest(s.appID)
	if s.dry {
		s.notice = fmt.Sprintf("%s: %s; run --full moves what the folder holds to a set-aside folder inside it and starts a new state", why.Path, why.why)
		return &folder{}, nil
	}
	aside, err := s.setAside()
	if err != nil {
		return nil, &stateError{Path: s.dir, Err: fmt.Errorf("%w; moving it aside for --full: %w", why.Err, err)}
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
		return nil, &stateError{Path: s.dir, Err: err}
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

// Entries is how many conversations the state holds.
func (s *Store) Entries() int64 {
	var n int64
	for _, fm := range s.man.Files {
		n += fm.Entries
	}
	return n
}

// Close releases the state without storing what was not committed.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closePending()
	s.mu.Unlock()
	return nil
}
