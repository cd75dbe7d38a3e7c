package readers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"markimport/readers/objstore"
)

// resolveObjects lists the parts of an s3:// --input value, and its root
// (none for one object): an object; a prefix (a key ending in /, or one
// that names no object but has objects beneath it) read as a folder; or a
// glob matched against the keys beneath the prefix before its first
// segment with glob syntax. Keys are split at "/" into folder names and a
// file name, and judged by the rules of local folders and globs: the same
// names skipped, the same Hive partitions, the same natural order, names
// relative to the prefix.
func resolveObjects(spec string) ([]Part, []Root, error) {
	l, err := objstore.Parse(spec)
	if err != nil {
		return nil, nil, &InputError{Path: spec, Err: err}
	}
	ctx := context.Background()
	s, err := objectStore(ctx)
	if err != nil {
		return nil, nil, &InputError{Path: spec, Err: err}
	}
	if hasMeta(l.Key) {
		return objectGlob(ctx, s, spec, l)
	}
	if !l.IsPrefix() {
		info, err := s.Stat(ctx, l)
		if err == nil {
			o := &object{store: s, loc: l, info: info}
			return []Part{{Path: spec, Name: spec, key: fileKey{path: spec}, obj: o}}, nil, nil
		}
		if !errors.Is(err, objstore.ErrNotExist) {
			return nil, nil, objectError(spec, l, err)
		}
		// No such object: a prefix named without its slash, as a folder is.
		l.Key += "/"
	}
	w := &objectWalk{store: s, prefix: l}
	if err := w.list(ctx, spec); err != nil {
		return nil, nil, err
	}
	if len(w.parts) == 0 {
		what := "the folder holds no data file"
		if !strings.HasSuffix(spec, "/") && len(w.skipped) == 0 {
			what = "no such object, and no object beneath it as a prefix"
		}
		return nil, nil, &InputError{Path: spec, Err: fmt.Errorf("%s%s", what, skippedNote(w.skipped))}
	}
	sortNatural(w.parts)
	return w.parts, []Root{{Dir: strings.TrimSuffix(l.String(), "/")}}, nil
}

// objectGlob lists the parts of an s3:// glob: the keys beneath its root
// prefix that it matches, and the data files beneath the folders it
// matches.
func objectGlob(ctx context.Context, s *objstore.Store, spec string, l objstore.Location) ([]Part, []Root, error) {
	segs := strings.Split(l.Key, "/")
	i := 0
	for i < len(segs) && !hasMeta(segs[i]) {
		i++
	}
	pattern := segs[i:]
	for _, seg := range pattern {
		if err := checkGlobSegment(seg); err != nil {
			return nil, nil, &InputError{Path: spec, Err: err}
		}
	}
	root := objstore.Location{Bucket: l.Bucket, Key: strings.Join(segs[:i], "/")}
	if i > 0 {
		root.Key += "/"
	}
	w := &objectWalk{store: s, prefix: root, pattern: pattern}
	if err := w.list(ctx, spec); err != nil {
		return nil, nil, err
	}
	if len(w.parts) == 0 {
		return nil, nil, &InputError{Path: spec, Err: fmt.Errorf("no data file matches%s", skippedNote(w.skipped))}
	}
	sortNatural(w.parts)
	return w.parts, []Root{{Dir: strings.TrimSuffix(root.String(), "/"), Pattern: pattern}}, nil
}

// objectWalk turns the keys beneath a prefix into parts, as folderWalk
// does the files beneath a folder.
type objectWalk struct {
	store   *objstore.Store
	prefix  objstore.Location // a key "" or ending in "/"
	pattern []string          // a glob's segments after the prefix; nil: every data file
	parts   []Part
	skipped []string
}

// list adds the parts of every object beneath the prefix.
func (w *objectWalk) list(ctx context.Context, spec string) error {
	infos, err := w.store.List(ctx, w.prefix)
	if err != nil {
		return objectError(spec, w.prefix, err)
	}
	for _, info := range infos {
		if err := w.add(info); err != nil {
			return err
		}
	}
	return nil
}

// add judges one listed object by its names below the prefix, folder by
// folder as a walk would meet them: beneath a skipped name it is skipped
// (named in the message of an input without data when the folder is read
// whole or the name matches the glob); outside the glob it is not read; a
// file read must be data.
func (w *objectWalk) add(info objstore.Info) error {
	rel := strings.TrimPrefix(info.Key, w.prefix.Key)
	if rel == "" || strings.HasSuffix(rel, "/") {
		// A folder's placeholder (consoles create one for an empty folder).
		return nil
	}
	names := strings.Split(rel, "/")
	whole := w.pattern == nil // in a folder read whole
	record := whole           // a skipped name is named in messages
	for i := 1; i <= len(names); i++ {
		matched := whole || globMatch(w.pattern, names[:i])
		if skipName(names[i-1]) {
			if record || matched && !whole {
				w.skip(strings.Join(names[:i], "/"))
			}
			return nil
		}
		if i == len(names) {
			if !matched {
				return nil
			}
			break
		}
		switch {
		case whole:
		case matched:
			// A folder the glob matches: every data file beneath it.
			whole = true
		case !globPrefix(w.pattern, names[:i]):
			return nil
		}
	}
	url := objstore.Location{Bucket: w.prefix.Bucket, Key: info.Key}.String()
	part, ok, err := dataFile(strings.TrimSuffix(w.prefix.String(), "/"), url, rel, info.Size == 0, fileKey{path: url})
	switch {
	case err != nil:
		return err
	case !ok:
		w.skip(rel + " (empty)")
	default:
		part.obj = &object{store: w.store, loc: objstore.Location{Bucket: w.prefix.Bucket, Key: info.Key}, info: info}
		w.parts = append(w.parts, part)
	}
	return nil
}

// skip records a skipped name once (the objects beneath a skipped folder
// are listed one after another).
func (w *objectWalk) skip(name string) {
	if n := len(w.skipped); n == 0 || w.skipped[n-1] != name {
		w.skipped = append(w.skipped, name)
	}
}
