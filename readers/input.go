package readers

import (
	"context"
	"fmt"
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
	// glob's root it was found under (with that folder or root before it
	// when --input is repeated: its path as the input reached it), or the
	// path given.
	Name string
	// Hive holds the key=value folder names between the root and the file,
	// URL-decoded, outermost first.
	Hive []PathColumn

	key  fileKey // the file's identity, whatever path reaches it
	spec string  // the --input value that found it
	obj  *object // the object in a bucket it is, or nil for a local file
}

// Open returns a reader of the part's records, as Open does for its
// path but under ctx; an object is read as it was when the input was resolved (an
// object replaced since is an input error).
func (p *Part) Open(ctx context.Context, opts Options) (Reader, error) {
	if p.obj != nil {
		return openObject(ctx, p.Path, p.obj, opts)
	}
	return openContext(ctx, p.Path, opts)
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
	return newInput([]string{path}, []Part{{Path: path, Name: path}}, f)
}

// newInput is the input of parts, each found again by its name. Two
// parts of one name are an input error: the report's file column would
// not tell their rows apart, and --resume would take the rows of one for
// the other's. (ResolveInput names a folder's and a glob's files by their
// paths and a file as given, and refuses one file reached twice first, so
// that no input it resolves names two files alike.)
func newInput(specs []string, parts []Part, f Format) (*Input, error) {
	in := &Input{Parts: parts, Format: f, specs: specs, starts: make([]int64, len(parts)), names: make(map[string]int, len(parts))}
	for k, p := range parts {
		if first, ok := in.names[p.Name]; ok {
			return nil, &InputError{Path: p.Path, Err: fmt.Errorf("its report name %s is that of %s too: give each file a distinct path", Quote(p.Name), parts[first].Path)}
		}
		in.names[p.Name] = k
	}
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

// FileRow returns the name of the file holding row (a row number of the
// whole input) and the row's number within that file.
func (in *Input) FileRow(row int64) (string, int64) {
	k, local := in.Locate(row)
	return in.Parts[k].Name, local
}
