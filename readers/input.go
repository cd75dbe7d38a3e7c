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
// order that merging and the conversation limit follow.

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
}

// PathColumn is a column given by a Hive-style folder name key=value.
type PathColumn struct{ Key, Value string }

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
		found, root, err := resolveSpec(spec)
		if err != nil {
			return nil, err
		}
		if root.Dir != "" {
			roots = append(roots, root)
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
	if err := sameFilesTwice(parts); err != nil {
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

// resolveSpec lists the files of one --input value, and the folder it
// reads whole or matches a glob in (none for a file).
func resolveSpec(spec string) ([]Part, Root, error) {
	st, err := os.Stat(spec)
	switch {
	case err == nil && st.IsDir():
		parts, skipped, err := walkFolder(spec, spec)
		if err != nil {
			return nil, Root{}, err
		}
		if len(parts) == 0 {
			return nil, Root{}, &InputError{Path: spec, Err: fmt.Errorf("the folder holds no data file%s", skippedNote(skipped))}
		}
		return parts, Root{Dir: spec}, nil
	case err == nil:
		return []Part{{Path: spec, Name: spec}}, Root{}, nil
	case !hasMeta(spec):
		return nil, Root{}, &InputError{Path: spec, Err: errors.Unwrap(err)}
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

// walkFolder lists the data files beneath dir, in natural order, named
// relative to root (dir itself, or the folder of a glob that matched dir),
// with the names it skipped.
func walkFolder(root, dir string) (parts []Part, skipped []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{Path: p, Err: errors.Unwrap(err)}
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if skipName(d.Name()) {
			skipped = append(skipped, filepath.ToSlash(rel))
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		return addFile(root, p, d, &parts, &skipped)
	})
	if err != nil {
		return nil, nil, err
	}
	sortNatural(parts)
	return parts, skipped, nil
}

// addFile adds the file p found beneath root to parts, or its name to
// skipped when it is empty; a file that is not data is an error.
func addFile(root, p string, d fs.DirEntry, parts *[]Part, skipped *[]string) error {
	part, ok, err := foundFile(root, p, d)
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

// foundFile makes the part of the file p (not a folder) found beneath
// root; ok is false for an empty file or a link to a folder. A file that
// is not data is an error.
func foundFile(root, p string, d fs.DirEntry) (Part, bool, error) {
	info, err := os.Stat(p) // follows a symlink
	if err != nil {
		return Part{}, false, &InputError{Path: p, Err: errors.Unwrap(err)}
	}
	rel, _ := filepath.Rel(root, p)
	rel = filepath.ToSlash(rel)
	if info.IsDir() || info.Size() == 0 && info.Mode().IsRegular() {
		return Part{Path: p, Name: rel}, false, nil
	}
	if !isDataName(d.Name()) {
		return Part{}, false, &InputError{Path: p, Err: fmt.Errorf("not a data file (in a folder markimport reads names ending in %s, with .gz or .zst, and names without an extension): move it out of %s, or name the data files with a glob",
			strings.Join(dataExtensions, ", "), root)}
	}
	hive, err := hiveColumns(p, rel)
	if err != nil {
		return Part{}, false, err
	}
	return Part{Path: p, Name: rel, Hive: hive}, true, nil
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
		cols = append(cols, PathColumn{Key: key, Value: v})
	}
	return cols, nil
}

// hasMeta reports whether s holds glob syntax.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// matchGlob lists the data files a glob matches, in natural order: files
// matched, and the data files beneath folders matched. Names are relative
// to the glob's root, the folder before its first segment with glob syntax.
func matchGlob(glob string) ([]Part, Root, error) {
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
			return nil, Root{}, &InputError{Path: glob, Err: fmt.Errorf("bad glob segment %s: %v", Quote(s), err)}
		}
	}
	dir := root
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, Root{}, &InputError{Path: glob, Err: fmt.Errorf("the glob's folder %s does not exist", dir)}
	}
	var parts []Part
	var skipped []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{Path: p, Err: errors.Unwrap(err)}
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if skipName(d.Name()) {
			if globMatch(pattern, strings.Split(rel, "/")) {
				skipped = append(skipped, rel)
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		names := strings.Split(rel, "/")
		if globMatch(pattern, names) {
			if d.IsDir() {
				// A folder matched: every data file beneath it.
				sub, _, err := walkFolder(dir, p)
				parts = append(parts, sub...)
				if err != nil {
					return err
				}
				return fs.SkipDir
			}
			return addFile(dir, p, d, &parts, &skipped)
		}
		if d.IsDir() && !globPrefix(pattern, names) {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, Root{}, err
	}
	if len(parts) == 0 {
		return nil, Root{}, &InputError{Path: glob, Err: fmt.Errorf("no data file matches%s", skippedNote(skipped))}
	}
	sortNatural(parts)
	return parts, Root{Dir: dir, Pattern: pattern}, nil
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
		if c := NaturalCompare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return len(as) - len(bs)
}

// NaturalCompare compares two names with their runs of digits compared as
// numbers (leading zeros aside; fewer zeros first when the values tie) and
// everything else byte by byte.
func NaturalCompare(a, b string) int {
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

// sameFilesTwice refuses an input that names one file twice (two --input
// values that overlap).
func sameFilesTwice(parts []Part) error {
	seen := map[string]string{}
	for _, p := range parts {
		abs, err := filepath.Abs(p.Path)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		if other, ok := seen[abs]; ok {
			return &InputError{Path: p.Path, Err: fmt.Errorf("named twice by --input (also as %s)", other)}
		}
		seen[abs] = p.Path
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
