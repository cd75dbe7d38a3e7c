package readers

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// skipName reports whether a file or folder found in a folder is not data:
// hidden or marker names (".", "_": _SUCCESS, _committed_*, _temporary,
// .part-0.crc) and checksum files.
func skipName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || strings.HasSuffix(name, ".crc")
}

// dataExtensions are the names a data file found in a folder may end in;
// a name without an extension (Hive's 000000_0) is data too.
var dataExtensions = []string{".csv", ".tsv", ".txt", ".parquet", ".pq"}

// isDataName reports whether a file found in a folder or a glob is data by
// its name.
func isDataName(name string) bool {
	lower := strings.ToLower(name)
	for _, c := range []string{".gz", ".zst"} {
		lower = strings.TrimSuffix(lower, c)
	}
	for _, e := range dataExtensions {
		if strings.HasSuffix(lower, e) {
			return true
		}
	}
	// Hive's and Spark's part names carry dots (part-00000-1a2b.c000): only
	// an extension of letters alone is an extension.
	ext := path.Ext(lower)
	return ext == "" || strings.IndexFunc(ext[1:], func(r rune) bool { return r < 'a' || r > 'z' }) >= 0
}

// A folderWalk lists the files beneath the folder of one --input value (or
// its glob's root), following a symlink to a folder as `find -L` does: the
// files beneath the link are read as if the folder were there, named by
// the path through the link (Hive folder names included). Each folder is
// entered once, known by its identity (device and inode), so a link back
// to a folder above it (a loop) or a second way into a folder already
// entered is an input error naming the link and the folder: never a walk
// without end, never a folder read twice.
type folderWalk struct {
	root    string             // names are relative to it
	entered map[fileKey]string // each folder entered, with the path it was entered by
	// links are the folders entered through a symlink: an output written
	// there would be read by the next run as much as one written inside
	// the root.
	links []Root
}

func newFolderWalk(root string) *folderWalk {
	return &folderWalk{root: root, entered: map[fileKey]string{}}
}

// entry is a name found in a folder, a symlink followed.
type entry struct {
	path, rel, name string
	dir             bool        // a folder, or a symlink to one
	link            bool        // a symlink
	info            os.FileInfo // of the folder, or of the file a symlink points to; nil for other entries
	// broken is the error of a symlink that cannot be followed (it points
	// nowhere, or into a loop of links), for when the entry is read.
	broken error
}

// entries lists the folder dir in name order. Symlinks are followed
// (except under a name that is skipped anyway); one that cannot be is
// marked broken.
func (w *folderWalk) entries(dir string) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, &InputError{Path: dir, Err: errors.Unwrap(err)}
	}
	out := make([]entry, 0, len(des))
	for _, d := range des {
		p := filepath.Join(dir, d.Name())
		rel, _ := filepath.Rel(w.root, p)
		e := entry{path: p, rel: filepath.ToSlash(rel), name: d.Name(), dir: d.IsDir()}
		switch {
		case skipName(e.name):
		case d.Type()&fs.ModeSymlink != 0:
			e.link = true
			info, err := os.Stat(p)
			if err != nil {
				e.broken = &InputError{Path: p, Err: fmt.Errorf("a symlink that cannot be followed: %w", errors.Unwrap(err))}
				break
			}
			e.dir, e.info = info.IsDir(), info
		case e.dir:
			info, err := d.Info()
			if err != nil {
				return nil, &InputError{Path: p, Err: errors.Unwrap(err)}
			}
			e.info = info
		}
		out = append(out, e)
	}
	return out, nil
}

// enter records the folder p (of os.Stat info), reached through the
// symlink link (the last one crossed on the way; "" for none). A folder
// entered before is an input error naming the link: a loop when that
// folder lies on the way to p, else a folder that two paths reach.
func (w *folderWalk) enter(p string, info os.FileInfo, link string) error {
	p = filepath.Clean(p)
	k := keyOf(p, info)
	first, ok := w.entered[k]
	if !ok {
		w.entered[k] = p
		return nil
	}
	as := ""
	if p != link {
		as = " (as " + p + ")"
	}
	if rel, err := filepath.Rel(first, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return &InputError{Path: link, Err: fmt.Errorf("a symlink loop: it leads back to the folder %s%s, which holds it; remove the link, or name the files to read with a glob", first, as)}
	}
	return &InputError{Path: link, Err: fmt.Errorf("a symlink to the folder %s%s, which is read already: its files would be read twice; remove the link, or give the folders to read as separate --input values", first, as)}
}

// descend enters the folder e, reached through the symlink link (the
// last one crossed before e; "" for none), and returns the last symlink
// crossed on the way into it. A symlink's folder becomes a root of the
// input, whose files pattern (what of the glob is left; nil for all)
// reads.
func (w *folderWalk) descend(e *entry, link string, pattern []string) (string, error) {
	if e.link {
		link = e.path
	}
	if err := w.enter(e.path, e.info, link); err != nil {
		return "", err
	}
	if e.link {
		w.links = append(w.links, Root{Dir: e.path, Pattern: pattern})
	}
	return link, nil
}

// folder adds the data files beneath dir, an entered folder reached
// through the symlink link (or none), to parts, and the names it skips to
// skipped.
func (w *folderWalk) folder(dir, link string, parts *[]Part, skipped *[]string) error {
	es, err := w.entries(dir)
	if err != nil {
		return err
	}
	for i := range es {
		e := &es[i]
		switch {
		case skipName(e.name):
			*skipped = append(*skipped, e.rel)
		case e.broken != nil:
			return e.broken
		case e.dir:
			via, err := w.descend(e, link, nil)
			if err != nil {
				return err
			}
			if err := w.folder(e.path, via, parts, skipped); err != nil {
				return err
			}
		default:
			if err := addFile(w.root, e, parts, skipped); err != nil {
				return err
			}
		}
	}
	return nil
}

// addFile adds the file e found beneath root to parts, or its name to
// skipped when it is empty; a file that is not data is an error.
func addFile(root string, e *entry, parts *[]Part, skipped *[]string) error {
	part, ok, err := foundFile(root, e)
	switch {
	case err != nil:
		return err
	case ok:
		*parts = append(*parts, part)
	default:
		*skipped = append(*skipped, part.Name+" (empty)")
	}
	return nil
}

// foundFile makes the part of the file e (not a folder) found beneath
// root; ok is false for an empty file. A file that is not data is an
// error.
func foundFile(root string, e *entry) (Part, bool, error) {
	info := e.info
	if info == nil {
		var err error
		if info, err = os.Stat(e.path); err != nil {
			return Part{}, false, &InputError{Path: e.path, Err: errors.Unwrap(err)}
		}
	}
	return dataFile(root, e.path, e.rel, info.Size() == 0 && info.Mode().IsRegular(), keyOf(e.path, info))
}

// dataFile makes the part of the file (or object) at p, found at rel
// beneath root and known as key; ok is false when it is empty. A file
// that is not data by its name is an error naming root.
func dataFile(root, p, rel string, empty bool, key fileKey) (Part, bool, error) {
	if empty {
		return Part{Path: p, Name: rel}, false, nil
	}
	if !isDataName(path.Base(rel)) {
		return Part{}, false, &InputError{Path: p, Err: fmt.Errorf("not a data file (in a folder markimport reads names ending in %s, with .gz or .zst, and names without an extension): move it out of %s, or name the data files with a glob",
			strings.Join(dataExtensions, ", "), root)}
	}
	hive, err := hiveColumns(p, rel)
	if err != nil {
		return Part{}, false, err
	}
	return Part{Path: p, Name: rel, Hive: hive, key: key}, true, nil
}

// hiveColumns reads the key=value folder names of rel (a file's path
// below its root).
func hiveColumns(p, rel string) ([]PathColumn, error) {
	segs := strings.Split(rel, "/")
	var cols []PathColumn
	for _, s := range segs[:len(segs)-1] {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			continue
		}
		key, err := url.PathUnescape(k)
		if err == nil {
			v, err = url.PathUnescape(v)
		}
		if err != nil {
			return nil, &InputError{Path: p, Err: fmt.Errorf("folder %s: not a valid Hive partition name: %v", Quote(s), err)}
		}
		if v == hiveNull {
			v = ""
		}
		cols = append(cols, PathColumn{Key: key, Value: v, Folder: s})
	}
	return cols, nil
}
