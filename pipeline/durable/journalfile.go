package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateJournal creates (truncating) a file that its writer appends to and
// syncs as it goes, through fsys (nil: the disk): a journal, or its
// checkpoints. Until Move gives it a name that a crash cannot lose, it is
// a file a killed run may leave or lose.
func CreateJournal(fsys FS, path string) (File, error) {
	return Or(fsys).OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
}

// Move renames a durable file (a journal made durable by its writer) to
// newpath and syncs the folders, so that the new name survives a crash.
func Move(fsys FS, oldpath, newpath string) error {
	fsys = Or(fsys)
	if err := fsys.Rename(oldpath, newpath); err != nil {
		return err
	}
	if err := fsys.SyncDir(filepath.Dir(newpath)); err != nil {
		return err
	}
	if od := filepath.Dir(oldpath); od != filepath.Dir(newpath) {
		return fsys.SyncDir(od)
	}
	return nil
}

// Remove removes path, if it exists, and syncs its folder, so that the
// removal is durable before what follows it: a journal's record of its
// input is gone before a new journal takes the name.
func Remove(fsys FS, path string) error {
	fsys = Or(fsys)
	if err := fsys.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return fsys.SyncDir(filepath.Dir(path))
}

// Persist makes what was written so far to f, a file opened by
// CreateJournal, durable: its writer calls it before anything depends on
// those bytes surviving a crash.
func Persist(f File) error { return f.Sync() }
