package readers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"markimport/readers/objstore"
)

// ResolveInput is ResolveInputContext with a context that is never
// cancelled.
func ResolveInput(specs []string, format string) (*Input, error) {
	return ResolveInputContext(context.Background(), specs, format)
}

// ResolveInputContext lists the files that the --input values specs name:
// a file, a folder (every data file beneath it), or a glob (*, ?, [...]
// within a name, ** for any number of folders). format is --format ("" to
// choose by the file names). Every file must be of one format. The
// requests to object storage (listings, look-ups, the first bytes of an
// object without an extension) are made under ctx.
func ResolveInputContext(ctx context.Context, specs []string, format string) (*Input, error) {
	if len(specs) == 0 {
		return nil, errors.New("--input is required")
	}
	if len(specs) == 1 && specs[0] == "-" {
		return SingleInput("-", format)
	}
	var parts []Part
	var roots []Root
	for _, spec := range specs {
		if spec == "-" {
			return nil, &InputError{Path: spec, Err: errors.New("standard input cannot be read beside other inputs")}
		}
		found, specRoots, err := resolveSpec(ctx, spec)
		if err != nil {
			return nil, err
		}
		roots = append(roots, specRoots...)
		for i := range found {
			found[i].spec = spec
		}
		// A file given itself (no root) keeps its name as given; a
		// folder's, a prefix's and a glob's files get theirs below it.
		if len(specs) > 1 && len(specRoots) > 0 {
			under := spec
			if specRoots[0].Pattern != nil {
				// A glob: its files' names start at its root.
				under = specRoots[0].Dir
			}
			for i := range found {
				found[i].Name = underSpec(under, found[i].Name)
			}
		}
		parts = append(parts, found...)
	}
	if err := sameFilesTwice(parts, len(specs) > 1); err != nil {
		return nil, err
	}
	f, err := commonFormat(ctx, parts, format)
	if err != nil {
		return nil, err
	}
	in, err := newInput(specs, parts, f)
	if err != nil {
		return nil, err
	}
	in.Roots = roots
	return in, nil
}

// underSpec names a file found under dir (the folder or prefix of an
// --input value, one of several, or its glob's root): its name within dir
// after dir, so that the name is the file's path or key as the input
// reached it.
func underSpec(dir, name string) string {
	if objstore.IsURL(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + name
	}
	return filepath.ToSlash(filepath.Join(dir, name))
}

// resolveSpec lists the files of one --input value, and the folders it
// reads whole or matches a glob in (none for a file): the folder or the
// glob's root, and every folder reached through a symlink beneath it.
func resolveSpec(ctx context.Context, spec string) ([]Part, []Root, error) {
	if objstore.IsURL(spec) {
		return resolveObjects(ctx, spec)
	}
	st, err := os.Stat(spec)
	switch {
	case err == nil && st.IsDir():
		if err := sameAsWritten(spec, spec, st); err != nil {
			return nil, nil, err
		}
		w := newFolderWalk(spec)
		var parts []Part
		var skipped []string
		if err := w.enter(spec, st, ""); err != nil {
			return nil, nil, err
		}
		if err := w.folder(spec, "", &parts, &skipped); err != nil {
			return nil, nil, err
		}
		if len(parts) == 0 {
			return nil, nil, &InputError{Path: spec, Err: fmt.Errorf("the folder holds no data file%s", skippedNote(skipped))}
		}
		sortNatural(parts)
		return parts, append([]Root{{Dir: spec}}, w.links...), nil
	case err == nil:
		return []Part{{Path: spec, Name: spec, key: keyOf(spec, st)}}, nil, nil
	case !hasMeta(spec):
		return nil, nil, &InputError{Path: spec, Err: errors.Unwrap(err)}
	}
	return matchGlob(spec)
}

// skippedNote says which files a folder or glob skipped, for the message
// that it holds no data file.
func skippedNote(skipped []string) string {
	if len(skipped) == 0 {
		return ""
	}
	const show = 5
	s := strings.Join(skipped[:min(show, len(skipped))], ", ")
	if len(skipped) > show {
		s += fmt.Sprintf(" and %d more", len(skipped)-show)
	}
	return " (skipped: " + s + ")"
}

// sameFilesTwice refuses an input that reaches one file twice: through a
// hard link or a symlink beside it, or two --input values that overlap.
// Its rows would be read, merged and counted twice. multi says the input
// has several --input values, named in the message.
func sameFilesTwice(parts []Part, multi bool) error {
	seen := make(map[fileKey]int, len(parts))
	for k, p := range parts {
		first, ok := seen[p.key]
		if !ok {
			seen[p.key] = k
			continue
		}
		f := parts[first]
		how := ""
		if multi {
			how = fmt.Sprintf(" (by --input %s, and again by --input %s)", f.spec, p.spec)
		}
		return &InputError{Path: p.Path, Err: fmt.Errorf("the same file as %s%s: a hard link, a symlink, or --input values that overlap reach it twice, and its rows would be read twice; give each file once",
			f.Path, how)}
	}
	return nil
}

// sameAsWritten refuses dir (st, as the system reached it), the folder of
// the --input value spec or its glob's root, when its path cleaned as text
// reaches another folder: a ".." after a symbolic link (lnk/../e is the
// e beside the link's target, lnk/.. cleaned is the current folder). The
// files beneath it are opened by paths joined to dir, which are cleaned
// as text, so they would be another folder's, read without a word.
func sameAsWritten(spec, dir string, st os.FileInfo) error {
	if !slices.Contains(strings.Split(filepath.ToSlash(dir), "/"), "..") {
		return nil
	}
	clean := filepath.Clean(dir)
	if cst, err := os.Stat(clean); err == nil && os.SameFile(st, cst) {
		return nil
	}
	return &InputError{Path: spec, Err: fmt.Errorf("the folder %s is not the %s its files would be read from: a \"..\" after a symbolic link; give the folder's path without \"..\"", dir, clean)}
}

// commonFormat is the format of every part: format when given, else each
// file's by its name (Parquet's magic bytes for a name without an
// extension). Parts of two formats are an input error naming one of each.
func commonFormat(ctx context.Context, parts []Part, format string) (Format, error) {
	if format != "" {
		return FormatOf(parts[0].Path, format)
	}
	var first Format
	var firstPath string
	for _, p := range parts {
		f, _ := FormatOf(p.Path, "")
		if f == CSV && path.Ext(strings.ToLower(filepath.Base(p.Path))) == "" && p.isParquetContent(ctx) {
			f = Parquet
		}
		if first == "" {
			first, firstPath = f, p.Path
			continue
		}
		if f != first {
			return "", &InputError{Path: p.Path, Err: fmt.Errorf("is %s while %s is %s: an input is of one format (name the files of one with a glob, or pass --format)", f, firstPath, first)}
		}
	}
	return first, nil
}

// isParquetContent reports whether a part starts with Parquet's magic.
func (p *Part) isParquetContent(ctx context.Context) bool {
	if p.obj != nil {
		return isParquetObject(ctx, p.obj)
	}
	f, err := os.Open(p.Path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	_, err = io.ReadFull(f, head[:])
	return err == nil && string(head[:]) == "PAR1"
}
