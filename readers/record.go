package readers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Field names one of the input columns markimport understands.
type Field int

// The known columns, in their canonical order (the order of the
// README's column table).
const (
	FromAccount Field = iota
	Type
	ToAccount
	ToGroupID
	SetMark
	ClearMark
	CustomMark
	OptType
	NumFields
)

var fieldNames = [NumFields]string{"from_account", "type", "to_account", "to_group_id", "set_mark", "clear_mark", "custom_mark", "opt_type"}

// String returns the canonical column name, e.g. "from_account".
func (f Field) String() string {
	if f < 0 || f >= NumFields {
		return fmt.Sprintf("field(%d)", int(f))
	}
	return fieldNames[f]
}

// Record is one data record of an input file.
type Record struct {
	// Row is the 1-based number of the data record (the header is not a row).
	Row int64
	// Fields holds the raw text of each known column; a column absent from
	// the file, or null in Parquet, is "". Lists read from Parquet are given
	// in the CSV form "[1,2]".
	Fields [NumFields]string
	// Extra holds the raw text of the columns Options.Extra names, in that
	// order, read and bounded as the known ones are ("" when it names
	// none).
	Extra Extras
	// Problem, when not empty, says why the record could not be read as a
	// row (for example a wrong number of fields). Such a record is invalid.
	Problem string
	// ProblemColumn names the column Problem is about, if any.
	ProblemColumn string
}

// Reader is a pull reader over the records of one input. Next returns io.EOF
// after the last record. Errors other than io.EOF mean the input cannot be
// read any further and are *InputError values.
type Reader interface {
	Next() (Record, error)
	Close() error
}

// InputError is a problem with the input as a whole: it cannot be opened,
// decoded, or lacks a required column. It names the file and, where known,
// the row and column.
type InputError struct {
	Path   string
	Row    int64
	Column string
	Err    error
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Row > 0 {
		fmt.Fprintf(&b, " row %d", e.Row)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *InputError) Unwrap() error { return e.Err }

// ErrNoRows is returned (wrapped in an *InputError) when a file holds no data rows.
var ErrNoRows = errors.New("no data rows")

// NormalizeName folds a column name for matching: lower case, without '_',
// '-' and spaces, so "From_Account", "from-account" and "FromAccount" match.
func NormalizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch r {
		case '_', '-', ' ', '\t':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Options controls how an input is opened.
type Options struct {
	// Format is "csv", "parquet" or "" to choose by the file name.
	Format string
	// Map renames input columns: Map["legacy_name"] = "from_account".
	Map map[string]string
	// Delimiter is the CSV field separator; 0 means ','.
	Delimiter rune
	// PathColumns are the Hive-style key=value folder names of the file:
	// each gives the value of a column the file itself lacks. When the file
	// has the column too, each row's value must equal the folder's
	// (surrounding spaces aside, except in custom_mark): a row that differs
	// is invalid, naming both. Keys are matched as header names are, --map
	// included.
	PathColumns []PathColumn
	// Extra names columns to read beyond the known ones (a mapping file's
	// source columns), matched by name as the known ones are. A file that
	// lacks one is an input error that starts with its Origin.
	Extra []ExtraColumn
	// Replaced are the known columns that Reshape makes itself: a file's
	// column of such a name is not read as that column (it may still be an
	// Extra one), and a replaced from_account need not be in the file.
	Replaced [NumFields]bool
	// Reshape, when set, is applied by an Input's reader (Input.Open) to
	// every record before it is returned: it makes the known columns from
	// Extra, or sets the record's Problem. The record it returns has no
	// Extra.
	Reshape func(*Record)
	// TypeFrom, when Reshape copies type from a column as it is, says so
	// for the message that stops an input whose type column turns out to
	// be a 0/1 flag: the column, where the mapping copies it and what to
	// write instead. The readers do not use it.
	TypeFrom string

	// pool, when set, is the buffer pool a Parquet file's reader uses: the
	// files of one input share one, so that the next file reuses the
	// buffers the last one freed.
	pool *bufferPool
	// par, when set, replaces how a plain CSV file is read in parallel
	// chunks (tests cut files into chunks of a few bytes).
	par *parConfig
}

// Extras are the values of a record's extra columns (Options.Extra), in
// their order, held in one string so that a Record stays comparable: each
// value after its length in bytes as a uvarint.
type Extras string

// appendExtra appends v to extras being made.
func appendExtra(dst []byte, v []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// Values appends the values to dst and returns it.
func (e Extras) Values(dst []string) []string {
	s := string(e)
	for len(s) > 0 {
		n, w := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		if w <= 0 || uint64(len(s)-w) < n {
			panic("readers: malformed Extras")
		}
		dst = append(dst, s[w:w+int(n)])
		s = s[w+int(n):]
	}
	return dst
}

// ExtraColumn is a column to read beyond the known ones.
type ExtraColumn struct {
	Name string
	// Origin says who asks for it, for the message when a file lacks it
	// ("map.toml line 3 (from_account)").
	Origin string
}

// pathFields are the fields an input file's folder names give.
type pathFields struct {
	// has: the folder gives the field and the file lacks it.
	has [NumFields]bool
	// check: the folder gives the field and the file has it too, in its
	// column column: the two must agree.
	check  [NumFields]bool
	column [NumFields]string
	val    [NumFields]string // the folder's value
	folder [NumFields]string // the folder name, for messages
	any    bool
}

// apply sets the fields given by folder names, and makes a record whose
// value of a column disagrees with its folder's invalid.
func (p *pathFields) apply(rec *Record) {
	if !p.any {
		return
	}
	for f := range NumFields {
		switch {
		case p.has[f]:
			rec.Fields[f] = p.val[f]
		case p.check[f] && rec.Problem == "" && !samePathValue(f, rec.Fields[f], p.val[f]):
			rec.ProblemColumn = f.String()
			rec.Problem = fmt.Sprintf("%s in the file's column %s, but %s from its folder %s: a row and its Hive folder must agree (a file in the wrong partition folder?)",
				Quote(rec.Fields[f]), Display(p.column[f]), Quote(p.val[f]), Display(p.folder[f]))
		}
	}
}

// samePathValue reports whether a file's value of field f equals the
// value a folder name gives: the same text, but for surrounding spaces,
// which validation trims from every field but custom_mark.
func samePathValue(f Field, file, folder string) bool {
	if f == CustomMark {
		return file == folder
	}
	return strings.TrimSpace(file) == strings.TrimSpace(folder)
}

// errNoFromAccount is the error of a header without from_account.
var errNoFromAccount = errors.New("required column from_account is missing")

// columnIndex maps the header of an input to the known fields. It returns,
// for each field, the index of its column or -1.
func columnIndex(path string, header []string, opts Options) ([NumFields]int, error) {
	idx, _, err := resolveColumns(path, header, opts)
	return idx, err
}

// resolveColumns maps the header of an input file, and the folder names
// of opts.PathColumns, to the known fields: for each field, the index of
// its column or -1, and the fields the folder names give.
func resolveColumns(path string, header []string, opts Options) ([NumFields]int, pathFields, error) {
	var pf pathFields
	var idx [NumFields]int
	for i := range idx {
		idx[i] = -1
	}
	byName := make(map[string]Field, NumFields)
	for f := Field(0); f < NumFields; f++ {
		byName[NormalizeName(f.String())] = f
	}
	present := make(map[string]bool, len(header))
	for _, h := range header {
		present[NormalizeName(h)] = true
	}
	for _, c := range opts.PathColumns {
		present[NormalizeName(c.Key)] = true
	}
	renames := make(map[string]string, len(opts.Map))
	for from, to := range opts.Map {
		nt := NormalizeName(to)
		if _, ok := byName[nt]; !ok {
			return idx, pf, &InputError{Path: path, Err: fmt.Errorf("--map %s=%s: %q is not a known column (known: %s)", from, to, to, strings.Join(fieldNames[:], ", "))}
		}
		nf := NormalizeName(from)
		if !present[nf] {
			return idx, pf, &InputError{Path: path, Err: fmt.Errorf("--map %s=%s: the file has no column %s (its columns: %s)", from, to, Quote(from), ShowHeader(header))}
		}
		renames[nf] = nt
	}
	for i, h := range header {
		n := NormalizeName(h)
		if r, ok := renames[n]; ok {
			n = r
		}
		f, ok := byName[n]
		if !ok || opts.Replaced[f] {
			continue
		}
		if idx[f] >= 0 {
			return idx, pf, &InputError{Path: path, Column: f.String(), Err: fmt.Errorf("columns %s and %s both match %s", Quote(header[idx[f]]), Quote(h), f)}
		}
		idx[f] = i
	}
	for _, c := range opts.PathColumns {
		n := NormalizeName(c.Key)
		if r, ok := renames[n]; ok {
			n = r
		}
		f, ok := byName[n]
		if !ok || opts.Replaced[f] {
			continue
		}
		if pf.has[f] || pf.check[f] {
			if !samePathValue(f, c.Value, pf.val[f]) {
				return idx, pf, &InputError{Path: path, Column: f.String(), Err: fmt.Errorf("the folders %s and %s both give %s, with different values", Display(pf.folder[f]), Display(c.Folder), f)}
			}
			continue
		}
		if idx[f] >= 0 {
			pf.check[f], pf.column[f] = true, header[idx[f]]
		} else {
			pf.has[f] = true
		}
		pf.val[f], pf.folder[f], pf.any = c.Value, c.Folder, true
	}
	if idx[FromAccount] < 0 && !pf.has[FromAccount] && !opts.Replaced[FromAccount] {
		return idx, pf, &InputError{Path: path, Column: "from_account", Err: fmt.Errorf("%w (the header: %s)", errNoFromAccount, ShowHeader(header))}
	}
	return idx, pf, nil
}

// resolveExtra returns the index in header of each column opts.Extra
// names; a column the header lacks, or has twice, is an input error.
func resolveExtra(path string, header []string, opts Options) ([]int, error) {
	if len(opts.Extra) == 0 {
		return nil, nil
	}
	idx := make([]int, len(opts.Extra))
	for k, e := range opts.Extra {
		idx[k] = -1
		n := NormalizeName(e.Name)
		for i, h := range header {
			if NormalizeName(h) != n {
				continue
			}
			if idx[k] >= 0 {
				return nil, &InputError{Path: path, Err: fmt.Errorf("%s: columns %s and %s both match %s", e.Origin, Quote(header[idx[k]]), Quote(h), Quote(e.Name))}
			}
			idx[k] = i
		}
		if idx[k] < 0 {
			return nil, &InputError{Path: path, Err: fmt.Errorf("%s: the file has no column %s (its columns: %s)", e.Origin, Quote(e.Name), ShowHeader(header))}
		}
	}
	return idx, nil
}

// ShowHeader renders a header for a message: its first columns, each
// quoted and escaped, and how many more there are.
func ShowHeader(header []string) string {
	const show = 12
	parts := make([]string, 0, show+1)
	for i, h := range header {
		if i == show {
			parts = append(parts, fmt.Sprintf("… %d columns in all", len(header)))
			break
		}
		parts = append(parts, Quote(h))
	}
	if len(parts) == 0 {
		return "no columns"
	}
	return strings.Join(parts, ", ")
}
