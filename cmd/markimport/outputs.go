package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"markimport/readers"
)

// An output must never be an input or another output: `--report x.csv`
// with `--input x.csv` would otherwise cut the input down to a header. Paths
// are compared as files, not as strings: through "./", "..", symlinks (also
// one that points nowhere yet) and hard links (the same device and inode).

// named is a path given by a flag.
type named struct {
	flag string // e.g. "--report"
	path string
}

// fileID identifies a file: its absolute path with every symlink resolved,
// and its device and inode when it exists.
type fileID struct {
	path string
	info os.FileInfo
}

func identify(path string) fileID {
	p := resolve(path, 0)
	id := fileID{path: p}
	if info, err := os.Stat(p); err == nil {
		id.info = info
	}
	return id
}

// resolve returns path absolute and clean, its symlinks followed (the
// parent's, and the last element's even when its target does not exist).
func resolve(path string, depth int) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	dir, base := filepath.Split(abs)
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	p := filepath.Join(dir, base)
	if depth < 40 {
		if target, err := os.Readlink(p); err == nil {
			if !filepath.IsAbs(target) {
				target = filepath.Join(dir, target)
			}
			return resolve(target, depth+1)
		}
	}
	return p
}

func (a fileID) same(b fileID) bool {
	if a.path == b.path {
		return true
	}
	return a.info != nil && b.info != nil && os.SameFile(a.info, b.info)
}

// checkOutputs refuses, naming both, an output that is an input or another
// output. Standard input counts as an input when it is a file.
// roots are folders the input reads whole or matches a glob in: an output
// the input would read is refused too, since the next run would read it as
// input.
func checkOutputs(inputs, outputs []named, roots []readers.Root) error {
	for _, o := range outputs {
		if o.path == "" {
			continue
		}
		for _, root := range roots {
			if rel, ok := inside(o.path, root.Dir); ok && root.Reads(rel) {
				what := "inside the input folder " + root.Dir
				if root.Pattern != nil {
					what = "matched by the input's glob (" + root.Dir + "/" + strings.Join(root.Pattern, "/") + ")"
				}
				return fmt.Errorf("%s %s is %s: the next run would read it as input; write it elsewhere", o.flag, o.path, what)
			}
		}
	}
	type known struct {
		n  named
		id fileID
	}
	var in []known
	for _, i := range inputs {
		switch {
		case i.path == "":
		case i.path == "-":
			if info, err := os.Stdin.Stat(); err == nil && info.Mode().IsRegular() {
				in = append(in, known{named{i.flag, "- (standard input)"}, fileID{path: "/dev/stdin", info: info}})
			}
		default:
			in = append(in, known{i, identify(i.path)})
		}
	}
	var seen []known
	for _, o := range outputs {
		if o.path == "" {
			continue
		}
		id := identify(o.path)
		for _, i := range in {
			if id.same(i.id) {
				return fmt.Errorf("%s %s is the input (%s %s): an output never replaces an input; choose another path", o.flag, o.path, i.n.flag, i.n.path)
			}
		}
		for _, s := range seen {
			if id.same(s.id) {
				return fmt.Errorf("%s %s and %s %s are the same file: give each output its own path", o.flag, o.path, s.n.flag, s.n.path)
			}
		}
		seen = append(seen, known{o, id})
	}
	return nil
}

// inside reports whether path lies beneath the folder root, symlinks
// resolved as far as they exist, and returns its slash-separated path
// below root.
func inside(path, root string) (string, bool) {
	r, err := resolvedDir(root)
	if err != nil {
		return "", false
	}
	p, err := resolvedDir(filepath.Dir(path))
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(r, filepath.Join(p, filepath.Base(path)))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// resolvedDir is the absolute form of dir with its symlinks resolved, for
// as much of it as exists.
func resolvedDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	rest := ""
	for {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			return filepath.Join(real, rest), nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return filepath.Join(abs, rest), nil
		}
		rest = filepath.Join(filepath.Base(abs), rest)
		abs = parent
	}
}
