package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline/durable"
	"markimport/pipeline/spill"
)

// What a state folder holds, and nothing else:
//
//	LOCK                 the lock of the run using the state
//	MANIFEST.json        the current generation's table of contents
//	MANIFEST.json.tmp    a manifest being written (a leftover if a run was killed then)
//	gen-N/p-PPP.st       partition PPP's file as commit N wrote it
//	pending-T/p-PPP      a run's confirmed items of partition PPP, until its commit
//	set-aside-TIME/      what --full moved out of a state it could not use: the user's
//
// Open removes, once it has accounted for the folder with a manifest that
// checks: pending folders (a run killed or interrupted before its commit;
// one run at a time holds the state), the manifest's temporary file, the
// generation folder one newer than the manifest's (a commit killed before
// its manifest was renamed into place), and in the other generation
// folders the partition files the manifest does not name (a later commit
// replaced them) and the folders left empty. It never removes anything
// when the manifest is missing or does not check, nor anything it does
// not recognise, nor a set-aside folder.
const (
	pendingPrefix = "pending-"
	genPrefix     = "gen-"
	asidePrefix   = "set-aside-"
)

// folder is what a state folder holds, sorted.
type folder struct {
	manifest bool             // MANIFEST.json
	tmp      bool             // MANIFEST.json.tmp
	gens     map[int][]string // generation folder number → its partition files' names
	pending  []string         // pending folders' names
	unknown  []string         // the rest, relative to the folder (folders end in /)
}

// scan sorts what the state folder dir holds.
func scan(dir string) (*folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	f := &folder{gens: map[int][]string{}}
	for _, e := range entries {
		n, isDir, regular := e.Name(), e.IsDir(), e.Type().IsRegular()
		switch {
		case regular && n == LockName:
		case regular && n == manifestName:
			f.manifest = true
		case regular && n == durable.TempName(manifestName):
			f.tmp = true
		case isDir && strings.HasPrefix(n, asidePrefix):
		case isDir && genNumber(n) > 0:
			files, err := f.sortFolder(dir, n, isPartFile)
			if err != nil {
				return nil, err
			}
			f.gens[genNumber(n)] = files
		case isDir && isPendingFolder(n):
			if _, err := f.sortFolder(dir, n, isPendingFile); err != nil {
				return nil, err
			}
			f.pending = append(f.pending, n)
		case isDir:
			f.unknown = append(f.unknown, n+"/")
		default:
			f.unknown = append(f.unknown, n)
		}
	}
	slices.Sort(f.unknown)
	return f, nil
}

// sortFolder returns the names of the regular files in dir/sub that are
// what ours says they may be, and adds the rest to unknown.
func (f *folder) sortFolder(dir, sub string, ours func(string) bool) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, sub))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		switch n := e.Name(); {
		case e.Type().IsRegular() && ours(n):
			names = append(names, n)
		case e.IsDir():
			f.unknown = append(f.unknown, filepath.Join(sub, n)+"/")
		default:
			f.unknown = append(f.unknown, filepath.Join(sub, n))
		}
	}
	return names, nil
}

// partFiles counts the partition files of every generation folder.
func (f *folder) partFiles() int {
	n := 0
	for _, files := range f.gens {
		n += len(files)
	}
	return n
}

// genNames are the generation folders' names, in order.
func (f *folder) genNames() []string {
	gens := make([]int, 0, len(f.gens))
	for g := range f.gens {
		gens = append(gens, g)
	}
	slices.Sort(gens)
	names := make([]string, len(gens))
	for i, g := range gens {
		names[i] = genDir(g)
	}
	return names
}

// list renders names for a message: the first few, and how many more.
func list(names []string) string {
	const shown = 6
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:shown], ", ") + " and " + strconv.Itoa(len(names)-shown) + " more"
}

// genNumber is N of a folder named gen-N (N written as strconv writes
// it, from 1), else 0.
func genNumber(name string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, genPrefix))
	if !strings.HasPrefix(name, genPrefix) || err != nil || n < 1 || genDir(n) != name {
		return 0
	}
	return n
}

// isPendingFolder reports whether name is a pending folder's: pending-
// and digits.
func isPendingFolder(name string) bool {
	t, ok := strings.CutPrefix(name, pendingPrefix)
	return ok && t != "" && strings.Trim(t, "0123456789") == ""
}

// pendingName is the name of partition p's file in a pending folder.
func pendingName(p int) string { return strings.TrimSuffix(partName(p), ".st") }

// partitionOfName returns p when name is prefix + p written in three
// digits + suffix, for a partition p.
func partitionOfName(name, suffix string) (int, bool) {
	t, ok := strings.CutPrefix(name, "p-")
	if t, ok2 := strings.CutSuffix(t, suffix); ok && ok2 && len(t) == 3 && strings.Trim(t, "0123456789") == "" {
		p, _ := strconv.Atoi(t)
		return p, p < spill.Partitions
	}
	return 0, false
}

func isPartFile(name string) bool    { _, ok := partitionOfName(name, ".st"); return ok }
func isPendingFile(name string) bool { _, ok := partitionOfName(name, ""); return ok }

// cleanup removes from an accounted-for folder what is provably an
// earlier run's leftover (see the list above), and nothing else.
func (s *Store) cleanup(f *folder) error {
	var errs []error
	if f.tmp {
		errs = append(errs, s.fs.Remove(filepath.Join(s.dir, durable.TempName(manifestName))))
	}
	for _, p := range f.pending {
		errs = append(errs, removeFolder(s.fs, filepath.Join(s.dir, p), isPendingFile))
	}
	named := map[string]bool{}
	for _, fm := range s.man.Files {
		named[fm.Name] = true
	}
	for g, files := range f.gens {
		if g > s.man.Generation+1 {
			continue // not provably a leftover (Open refuses such a folder)
		}
		left := 0
		for _, n := range files {
			if named[genDir(g)+"/"+n] {
				left++
				continue
			}
			errs = append(errs, s.fs.Remove(filepath.Join(s.dir, genDir(g), n)))
		}
		if left == 0 {
			errs = append(errs, s.fs.Remove(filepath.Join(s.dir, genDir(g))))
		}
	}
	for i, err := range errs {
		if errors.Is(err, fs.ErrNotExist) {
			errs[i] = nil
		}
	}
	return errors.Join(errs...)
}

// removeFolder removes the regular files in dir whose names are ours,
// then dir. Anything else stays, and so does dir.
func removeFolder(fsys durable.FS, dir string, ours func(string) bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && ours(e.Name()) {
			if err := fsys.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := fsys.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// setAside moves everything the state folder holds but its lock and the
// set-aside folders of earlier runs into a new set-aside folder inside it,
// and returns that folder's path. Nothing is deleted.
func (s *Store) setAside() (string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return "", err
	}
	name := asidePrefix + time.Now().UTC().Format("20060102T150405Z")
	aside := filepath.Join(s.dir, name)
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = filepath.Join(s.dir, name+"-"+strconv.Itoa(i))
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if n == LockName || e.IsDir() && strings.HasPrefix(n, asidePrefix) {
			continue
		}
		names = append(names, n)
	}
	return aside, durable.MoveInto(s.fs, s.dir, aside, names)
}
