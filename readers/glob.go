package readers

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// hasMeta reports whether s holds glob syntax.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// matchGlob lists the data files a glob matches, in natural order: files
// matched, and the data files beneath folders matched. Names are relative
// to the glob's root, the folder before its first segment with glob syntax.
// Symlinks to folders are followed as in a folder read whole.
func matchGlob(glob string) ([]Part, []Root, error) {
	root, pattern := splitGlob(glob)
	for _, s := range pattern {
		if err := checkGlobSegment(s); err != nil {
			return nil, nil, &InputError{Path: glob, Err: err}
		}
	}
	dir := root
	if dir == "" {
		dir = "."
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, nil, &InputError{Path: glob, Err: fmt.Errorf("the glob's folder %s does not exist", dir)}
	}
	if err := sameAsWritten(glob, dir, st); err != nil {
		return nil, nil, err
	}
	w := newFolderWalk(dir)
	if err := w.enter(dir, st, ""); err != nil {
		return nil, nil, err
	}
	var parts []Part
	var skipped []string
	if err := w.glob(dir, pattern, "", &parts, &skipped); err != nil {
		return nil, nil, err
	}
	if len(parts) == 0 {
		return nil, nil, &InputError{Path: glob, Err: fmt.Errorf("no data file matches%s", skippedNote(skipped))}
	}
	sortNatural(parts)
	return parts, append([]Root{{Dir: dir, Pattern: pattern}}, w.links...), nil
}

// checkGlobSegment refuses a segment of a glob that is not valid syntax.
func checkGlobSegment(s string) error {
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("bad glob segment %s: %v", Quote(s), err)
	}
	return nil
}

// glob adds the data files beneath dir, an entered folder reached through
// the symlink link (or none), that the pattern matches (relative to the
// walk's root) to parts, and the names it matches but skips to skipped.
func (w *folderWalk) glob(dir string, pattern []string, link string, parts *[]Part, skipped *[]string) error {
	es, err := w.entries(dir)
	if err != nil {
		return err
	}
	for i := range es {
		e := &es[i]
		names := strings.Split(e.rel, "/")
		matched := globMatch(pattern, names)
		switch {
		case skipName(e.name):
			if matched {
				*skipped = append(*skipped, e.rel)
			}
		case e.broken != nil:
			// A broken link the glob would read, as a file or as a
			// folder on its way.
			if matched || globPrefix(pattern, names) {
				return e.broken
			}
		case matched && e.dir:
			// A folder matched: every data file beneath it.
			via, err := w.descend(e, link, nil)
			if err != nil {
				return err
			}
			var none []string
			if err := w.folder(e.path, via, parts, &none); err != nil {
				return err
			}
		case matched:
			if err := addFile(w.root, e, parts, skipped); err != nil {
				return err
			}
		case e.dir && globPrefix(pattern, names):
			via, err := w.descend(e, link, patternBelow(pattern, len(names)))
			if err != nil {
				return err
			}
			if err := w.glob(e.path, pattern, via, parts, skipped); err != nil {
				return err
			}
		}
	}
	return nil
}

// patternBelow is what of pattern a file beneath a folder n names below
// the glob's root must match: the segments after the first n, when none of
// those is "**"; else everything beneath the folder (a "**" may take any
// number of its names, so what follows cannot be told without them).
func patternBelow(pattern []string, n int) []string {
	if slices.Contains(pattern[:n], "**") {
		return nil
	}
	return pattern[n:]
}

// globMatch reports whether the path names match the pattern's segments;
// "**" matches any number of folders.
func globMatch(pattern, names []string) bool {
	if len(pattern) == 0 {
		return len(names) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(names); i++ {
			if globMatch(pattern[1:], names[i:]) {
				return true
			}
		}
		return false
	}
	if len(names) == 0 {
		return false
	}
	ok, _ := path.Match(pattern[0], names[0])
	return ok && globMatch(pattern[1:], names[1:])
}

// globPrefix reports whether a folder with these names may hold matches.
func globPrefix(pattern, names []string) bool {
	for i, n := range names {
		if i >= len(pattern) {
			return false
		}
		if pattern[i] == "**" {
			return true
		}
		if ok, _ := path.Match(pattern[i], n); !ok {
			return false
		}
	}
	return true
}

// splitGlob splits a local glob into its root, the folder before its
// first segment with glob syntax ("" for a glob of the current folder),
// and the segments from that one on.
func splitGlob(glob string) (root string, pattern []string) {
	slash := filepath.ToSlash(glob)
	segs := strings.Split(slash, "/")
	i := 0
	for i < len(segs) && !hasMeta(segs[i]) {
		i++
	}
	root = strings.Join(segs[:i], "/")
	if root == "" && strings.HasPrefix(slash, "/") {
		root = "/"
	}
	return root, segs[i:]
}
