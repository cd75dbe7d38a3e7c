package readers

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
)

// An input is what --input names, once or repeated: a file, a folder of
// part files as Spark, Hive, DuckDB or Trino write them (read whole,
// Hive-style key=value folders giving columns), or a glob that markimport
// matches itself. Its files are read one after another, in the order of
// the --input flags and, within a folder or a glob, in natural name order
// (data_2 before data_10), rows in file order: that order is the input
// order that merging and the conversation limit follow. Symlinks to
// folders are followed (see folderWalk), and each file is read once: one
// that two paths reach is an input error, since its rows would otherwise
// be merged and counted twice.

// Part is one file of an input.
type Part struct {
	// Path opens the file.
	Path string
	// Name names it in reports: the path relative to the folder or the
	// glob's root it was found under (with the --input value before it
	// when --input is repeated), or the path given.
	Name string
	// Hive holds the key=value folder names between the root and the file,
	// URL-decoded, outermost first.
	Hive []PathColumn

	key  fileKey // the file's identity, whatever path reaches it
	spec string  // the --input value that found it
}

// PathColumn is a column given by a Hive-style folder name key=value.
type PathColumn struct {
	Key, Value string // URL-decoded; Value "" for Hive's null
	Folder     string // the folder name as written, for messages
}

// hiveNull is the folder value Hive, Spark and DuckDB write for a null.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// Input is the resolved list of files of one run. Row numbers run on across
// its files: the first row of a file comes after the last row of the file
// before it. Locate turns such a number back into the file and the row
// within it, for reports.
type Input struct {
	Parts  []Part
	Format Format // the format of every part
	// Roots are the folders the input reads whole or matches a glob in:
	// an output that one of them reads would be read as input by the next
	// run (see Root.Reads).
	Roots []Root
	specs []string
	names map[string]int // part of each name

	// starts[k] is how many rows the files before part k hold, known once
	// part k is opened; opened counts the parts whose start is known.
	starts []int64
	opened atomic.Int32
}

// Multi reports whether the input has more than one file: its reports then
// name the file of each row.
func (in *Input) Multi() bool { return len(in.Parts) > 1 }

// String describes the input for summaries and logs: the --input values.
func (in *Input) String() string {
	s := strings.Join(in.specs, ", ")
	if len(in.Parts) > 1 || len(in.specs) > 1 || (len(in.Parts) == 1 && in.Parts[0].Path != in.specs[0]) {
		s += fmt.Sprintf(" (%d files)", len(in.Parts))
	}
	return s
}

// Locate returns the part holding row (a row number of the whole input,
// from 1) and the row's number within that part's file. The part must
// have been opened by a reader of the input.
func (in *Input) Locate(row int64) (part int, local int64) {
	n := int(in.opened.Load())
	// The last opened part whose start is below row: parts without rows
	// share their start with the next one.
	k, _ := slices.BinarySearch(in.starts[:n], row)
	k--
	if k < 0 {
		return 0, row
	}
	return k, row - in.starts[k]
}

// PartIndex returns the index of the part named name.
func (in *Input) PartIndex(name string) (int, bool) {
	k, ok := in.names[name]
	return k, ok
}

// SingleInput is the input of one file (or "-", standard input).
func SingleInput(path, format string) (*Input, error) {
	f, err := FormatOf(path, format)
	if err != nil {
		return nil, &InputError{Path: path, Err: err}
	}
	return newInput([]string{path}, []Part{{Path: path, Name: path}}, f), nil
}

func newInput(specs []string, parts []Part, f Format) *Input {
	in := &Input{Parts: parts, Format: f, specs: specs, starts: make([]int64, len(parts)), names: make(map[string]int, len(parts))}
	for k, p := range parts {
		in.names[p.Name] = k
	}
	return in
}

// ResolveInput lists the files that the --input values specs name: a file,
// a folder (every data file beneath it), or a glob (*, ?, [...] within a
// name, ** for any number of folders). format is --format ("" to choose by
// the file names). Every file must be of one format.
func ResolveInput(specs []string, format string) (*Input, error) {
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
		found, specRoots, err := resolveSpec(spec)
		if err != nil {
			return nil, err
		}
		roots = append(roots, specRoots...)
		for i := range found {
			found[i].spec = spec
		}
		if len(specs) > 1 {
			for i := range found {
				if found[i].Name != spec {
					found[i].Name = filepath.ToSlash(filepath.Join(spec, found[i].Name))
				}
			}
		}
		parts = append(parts, found...)
	}
	if err := sameFilesTwice(parts, len(specs) > 1); err != nil {
		return nil, err
	}
	f, err := commonFormat(parts, format)
	if err != nil {
		return nil, err
	}
	in := newInput(specs, parts, f)
	in.Roots = roots
	return in, nil
}

// Root is a folder an input reads: whole (Pattern nil) or the files a
// glob's segments after it match.
type Root struct {
	Dir     string
	Pattern []string
}

// Reads reports whether a file at rel (a slash-separated path below the
// root's folder) would be read by a run of this input: anything beneath a
// folder read whole; for a glob, a file it matches or one beneath a
// folder it matches.
func (r Root) Reads(rel string) bool {
	if r.Pattern == nil {
		return true
	}
	names := strings.Split(rel, "/")
	for i := 1; i <= len(names); i++ {
		if globMatch(r.Pattern, names[:i]) {
			return true
		}
	}
	return false
}

// resolveSpec lists the files of one --input value, and the folders it
// reads whole or matches a glob in (none for a file): the folder or the
// glob's root, and every folder reached through a symlink beneath it.
func resolveSpec(spec string) ([]Part, []Root, error) {
	st, err := os.Stat(spec)
	switch {
	case err == nil && st.IsDir():
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
	if info.Size() == 0 && info.Mode().IsRegular() {
		return Part{Path: e.path, Name: e.rel}, false, nil
	}
	if !isDataName(e.name) {
		return Part{}, false, &InputError{Path: e.path, Err: fmt.Errorf("not a data file (in a folder markimport reads names ending in %s, with .gz or .zst, and names without an extension): move it out of %s, or name the data files with a glob",
			strings.Join(dataExtensions, ", "), root)}
	}
	hive, err := hiveColumns(e.path, e.rel)
	if err != nil {
		return Part{}, false, err
	}
	return Part{Path: e.path, Name: e.rel, Hive: hive, key: keyOf(e.path, info)}, true, nil
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

// hasMeta reports whether s holds glob syntax.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// matchGlob lists the data files a glob matches, in natural order: files
// matched, and the data files beneath folders matched. Names are relative
// to the glob's root, the folder before its first segment with glob syntax.
// Symlinks to folders are followed as in a folder read whole.
func matchGlob(glob string) ([]Part, []Root, error) {
	slash := filepath.ToSlash(glob)
	segs := strings.Split(slash, "/")
	i := 0
	for i < len(segs) && !hasMeta(segs[i]) {
		i++
	}
	root := strings.Join(segs[:i], "/")
	if root == "" && strings.HasPrefix(slash, "/") {
		root = "/"
	}
	pattern := segs[i:]
	for _, s := range pattern {
		if _, err := path.Match(s, ""); err != nil {
			return nil, nil, &InputError{Path: glob, Err: fmt.Errorf("bad glob segment %s: %v", Quote(s), err)}
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

// sortNatural orders parts by name, folder by folder, numbers in names by
// value: data_2 before data_10, part-00009 before part-00010.
func sortNatural(parts []Part) {
	slices.SortStableFunc(parts, func(a, b Part) int { return naturalPath(a.Name, b.Name) })
}

// naturalPath compares two slash-separated paths folder by folder.
func naturalPath(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := range min(len(as), len(bs)) {
		if c := naturalCompare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return len(as) - len(bs)
}

// naturalCompare compares two names with their runs of digits compared as
// numbers (leading zeros aside; fewer zeros first when the values tie) and
// everything else byte by byte.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	tie := 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si := i
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			sj := j
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			da, db := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(da) != len(db) {
				return len(da) - len(db)
			}
			if c := strings.Compare(da, db); c != 0 {
				return c
			}
			if tie == 0 {
				tie = (i - si) - (j - sj)
			}
			continue
		}
		if ca != cb {
			return int(ca) - int(cb)
		}
		i++
		j++
	}
	if c := (len(a) - i) - (len(b) - j); c != 0 {
		return c
	}
	return tie
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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

// commonFormat is the format of every part: format when given, else each
// file's by its name (Parquet's magic bytes for a name without an
// extension). Parts of two formats are an input error naming one of each.
func commonFormat(parts []Part, format string) (Format, error) {
	if format != "" {
		return FormatOf(parts[0].Path, format)
	}
	var first Format
	var firstPath string
	for _, p := range parts {
		f, _ := FormatOf(p.Path, "")
		if f == CSV && path.Ext(strings.ToLower(filepath.Base(p.Path))) == "" && isParquetContent(p.Path) {
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

// isParquetContent reports whether a file starts with Parquet's magic.
func isParquetContent(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	_, err = io.ReadFull(f, head[:])
	return err == nil && string(head[:]) == "PAR1"
}

// Open returns a reader of every record of the input, its files opened one
// at a time as the one before ends. Records are numbered across files
// (see Input).
func (in *Input) Open(opts Options) (*InputReader, error) {
	opts.Format = string(in.Format)
	opts.pool = &bufferPool{}
	m := &InputReader{in: in, opts: opts}
	if err := m.openPart(0); err != nil {
		return nil, err
	}
	return m, nil
}

// InputReader reads the parts of an input one after another.
type InputReader struct {
	in   *Input
	opts Options
	k    int    // the part being read
	cur  Reader // its reader
	base int64  // rows before part k
	rows int64  // rows read in part k
	any  bool   // a part held a row
}

// openPart opens part k, recording where its rows start. A part without
// rows is fine when the input has several (a partition may be empty).
func (m *InputReader) openPart(k int) error {
	m.k, m.rows = k, 0
	if n := int(m.in.opened.Load()); k == n {
		m.in.starts[k] = m.base
		m.in.opened.Store(int32(k + 1))
	}
	p := &m.in.Parts[k]
	opts := m.opts
	opts.PathColumns = p.Hive
	r, err := Open(p.Path, opts)
	if err != nil {
		if errors.Is(err, ErrNoRows) && m.in.Multi() {
			m.cur = nil
			return nil
		}
		return err
	}
	m.cur = r
	return nil
}

// Next returns the next record of the input, or io.EOF after the last
// part's last.
func (m *InputReader) Next() (Record, error) {
	for {
		if m.cur != nil {
			rec, err := m.cur.Next()
			if err == nil {
				m.rows++
				m.any = true
				rec.Row += m.base
				return rec, nil
			}
			if err != io.EOF {
				return rec, err
			}
			m.cur.Close()
			m.cur = nil
		}
		if m.k+1 >= len(m.in.Parts) {
			if !m.any && m.in.Multi() {
				return Record{}, &InputError{Path: m.in.String(), Err: ErrNoRows}
			}
			return Record{}, io.EOF
		}
		m.base += m.rows
		if err := m.openPart(m.k + 1); err != nil {
			return Record{}, err
		}
	}
}

// Close closes the part being read.
func (m *InputReader) Close() error {
	if m.cur == nil {
		return nil
	}
	err := m.cur.Close()
	m.cur = nil
	return err
}

// Current returns the part being read and its reader (nil for a part
// without rows).
func (m *InputReader) Current() (int, Reader) { return m.k, m.cur }

// FileRow returns the name of the file holding row (a row number of the
// whole input) and the row's number within that file.
func (in *Input) FileRow(row int64) (string, int64) {
	k, local := in.Locate(row)
	return in.Parts[k].Name, local
}
