package mapping

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"markimport/pipeline/mark"
	"markimport/readers"
)

// Mapping is a loaded mapping file: the source columns it reads and the
// rules that make the input's columns of them.
type Mapping struct {
	path     string
	sources  []readers.ExtraColumn // each source column once, in the order first named
	rules    []rule                // type's first: a peer rule reads the type it made
	replaced [readers.NumFields]bool
	typeFrom string // where type is copied from a column as it is, and the fix
}

// Load reads and checks the mapping file at path.
func Load(path string) (*Mapping, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--map-file: %w", err)
	}
	return parse(path, string(text))
}

// parse checks text, the mapping file named path, and returns its mapping.
func parse(path, text string) (*Mapping, error) {
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		return nil, fmt.Errorf("--map-file %s: %v", path, err)
	}
	if len(doc) == 0 {
		return nil, fmt.Errorf("--map-file %s: it maps no column (e.g. from_account = \"user_id\")", path)
	}
	p := &parser{m: &Mapping{path: path}, lines: strings.Split(text, "\n"), taken: map[string]string{}}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	// In the file's order, so that the first mistake reported is the
	// first in the file.
	slices.SortFunc(keys, func(a, b string) int { return p.line(a) - p.line(b) })
	for _, k := range keys {
		if err := p.target(k, doc[k]); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(p.m.rules, func(a, b rule) int { return a.order - b.order })
	return p.m, nil
}

// parser is the state of one parse.
type parser struct {
	m     *Mapping
	lines []string
	taken map[string]string // input column name -> the key that maps it
}

// targets are the keys a mapping file may give, by normalized name: the
// input columns, and peer and marks, which stand for two each.
var targets = func() map[string][]readers.Field {
	t := map[string][]readers.Field{
		"peer":  {readers.ToAccount, readers.ToGroupID},
		"marks": {readers.SetMark, readers.ClearMark},
	}
	for f := range readers.NumFields {
		t[readers.NormalizeName(f.String())] = []readers.Field{f}
	}
	return t
}()

// target checks the rule of key and adds it.
func (p *parser) target(key string, v any) error {
	name := readers.NormalizeName(key)
	fields, ok := targets[name]
	if !ok {
		return p.errorf(key, "%q is not a column markimport takes (from_account, type, to_account, to_group_id, peer, set_mark, clear_mark, marks, custom_mark, opt_type)", key)
	}
	for _, f := range fields {
		if by, dup := p.taken[f.String()]; dup {
			return p.errorf(key, "%s is mapped twice: by %q and by %q", f, by, key)
		}
		p.taken[f.String()] = key
		p.m.replaced[f] = true
	}
	switch name {
	case "peer":
		return p.peer(key, v)
	case "marks":
		return p.marks(key, v)
	}
	f := fields[0]
	tbl, isTable := v.(map[string]any)
	if !isTable {
		col, err := p.columnName(key, v)
		if err != nil {
			return err
		}
		p.copyColumn(f, col, key)
		return nil
	}
	kind, arg, err := p.kind(key, tbl, "column", "value", "group_flag")
	if err != nil {
		return err
	}
	switch kind {
	case "column":
		col, err := p.columnName(key+".column", arg)
		if err != nil {
			return err
		}
		p.copyColumn(f, col, key)
	case "value":
		c, err := constant(arg)
		if err != nil {
			return p.errorf(key+".value", "%v", err)
		}
		p.add(rule{order: 1, apply: func(_ []string, r *readers.Record) { r.Fields[f] = c }})
	case "group_flag":
		if f != readers.Type {
			return p.errorf(key+".group_flag", "group_flag makes type, not %s", f)
		}
		col, err := p.columnName(key+".group_flag", arg)
		if err != nil {
			return err
		}
		p.add(rule{order: 0, apply: groupFlag(p.source(col, key), col, p.where(key))})
	}
	return nil
}

// copyColumn adds the rule that copies source column col to f, as key
// asks. A column copied to type is noted (Mapping.typeFrom): a 0/1 flag
// there would read its 1s as c2c, which the run refuses at its first 0.
func (p *parser) copyColumn(f readers.Field, col, key string) {
	if f == readers.Type {
		p.m.typeFrom = fmt.Sprintf("--map-file %s copies %s to type: if it is a 0/1 flag, its 1s read as c2c; write type = { group_flag = %q }", p.where(key), readers.Quote(col), col)
	}
	p.add(rule{order: 1, apply: copyColumn(f, p.source(col, key))})
}

// peer checks peer's rule: one column placed by the row's type, or a
// column for each type.
func (p *parser) peer(key string, v any) error {
	tbl, isTable := v.(map[string]any)
	if !isTable {
		col, err := p.columnName(key, v)
		if err != nil {
			return err
		}
		p.add(rule{order: 1, apply: peerByType(p.source(col, key), p.source(col, key), true, p.where(key))})
		return nil
	}
	for k := range tbl {
		if k != "c2c" && k != "group" {
			return p.errorf(key+"."+k, "%q is not a kind of peer rule: give peer = \"column\", or peer = { c2c = \"peer_user\", group = \"peer_group\" }", k)
		}
	}
	if len(tbl) != 2 {
		return p.errorf(key, "peer as a table needs both c2c and group: peer = { c2c = \"peer_user\", group = \"peer_group\" }")
	}
	c2c, err := p.columnName(key+".c2c", tbl["c2c"])
	if err != nil {
		return err
	}
	group, err := p.columnName(key+".group", tbl["group"])
	if err != nil {
		return err
	}
	p.add(rule{order: 1, apply: peerByType(p.source(c2c, key), p.source(group, key), false, p.where(key))})
	return nil
}

// marks checks marks' rule: boolean columns, each to one bit.
func (p *parser) marks(key string, v any) error {
	tbl, isTable := v.(map[string]any)
	if !isTable || len(tbl) == 0 {
		return p.errorf(key, "marks is a table of boolean columns, each to a bit: marks = { starred = \"star\", pinned = 32 }")
	}
	cols := make([]string, 0, len(tbl))
	for c := range tbl {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	var bits []boolBit
	byBit := map[int]string{}
	for _, col := range cols {
		bit, err := bitOf(tbl[col])
		if err != nil {
			return p.errorf(key+"."+col, "%v", err)
		}
		if other, dup := byBit[bit]; dup {
			return p.errorf(key+"."+col, "bit %d comes from both %q and %q: a row could set and clear it at once", bit, other, col)
		}
		byBit[bit] = col
		bits = append(bits, boolBit{k: p.source(col, key), column: col, bit: bit})
	}
	slices.SortFunc(bits, func(a, b boolBit) int { return a.bit - b.bit })
	p.add(rule{order: 1, apply: markBits(bits, p.where(key))})
	return nil
}

// kind returns the one key of a rule's table, which must be one of kinds,
// and its value.
func (p *parser) kind(key string, tbl map[string]any, kinds ...string) (string, any, error) {
	for k := range tbl {
		if !slices.Contains(kinds, k) {
			return "", nil, p.errorf(key+"."+k, "%q is not a kind of rule (%s; or the column's name alone)", k, strings.Join(kinds, ", "))
		}
	}
	if len(tbl) != 1 {
		return "", nil, p.errorf(key, "a rule is one of %s, not %d of them", strings.Join(kinds, ", "), len(tbl))
	}
	for k, v := range tbl {
		return k, v, nil
	}
	panic("unreachable")
}

// columnName is a source column's name from the file: a non-empty string.
func (p *parser) columnName(key string, v any) (string, error) {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", p.errorf(key, "want a source column's name (a non-empty string), not %v", v)
	}
	return s, nil
}

// source returns the index of source column col among the mapping's
// sources, adding it (asked for by key) the first time.
func (p *parser) source(col, key string) int {
	n := readers.NormalizeName(col)
	for k, s := range p.m.sources {
		if readers.NormalizeName(s.Name) == n {
			return k
		}
	}
	p.m.sources = append(p.m.sources, readers.ExtraColumn{Name: col, Origin: p.where(key)})
	return len(p.m.sources) - 1
}

func (p *parser) add(r rule) { p.m.rules = append(p.m.rules, r) }

// where names key's place in the file: "map.toml line 3 (type)".
func (p *parser) where(key string) string {
	if n := p.line(key); n > 0 {
		return fmt.Sprintf("%s line %d (%s)", p.m.path, n, key)
	}
	return fmt.Sprintf("%s (%s)", p.m.path, key)
}

func (p *parser) errorf(key, format string, a ...any) error {
	return errors.New("--map-file " + p.where(key) + ": " + fmt.Sprintf(format, a...))
}

// line is the 1-based line of the file where key (top.sub for a key of a
// table) is given, or 0 if it cannot be told: the TOML library keeps no
// positions of keys, so it is found here, as a key before "=" or a
// [table] header, a sub-key on its table's line or after it.
func (p *parser) line(key string) int {
	top, sub, nested := strings.Cut(key, ".")
	at := -1
	for i, l := range p.lines {
		if keyAt(l, top) || strings.TrimSpace(l) == "["+top+"]" {
			at = i
			break
		}
	}
	if at < 0 {
		return 0
	}
	if nested {
		for i := at; i < len(p.lines); i++ {
			l := p.lines[i]
			if i == at {
				if _, rest, ok := strings.Cut(l, "="); ok {
					l = rest
				}
			}
			if strings.Contains(l, sub+" ") || strings.Contains(l, sub+"=") || strings.Contains(l, `"`+sub+`"`) {
				return i + 1
			}
		}
	}
	return at + 1
}

// keyAt reports whether line l gives key (bare or quoted) before "=".
func keyAt(l, key string) bool {
	k, _, ok := strings.Cut(l, "=")
	k = strings.Trim(strings.TrimSpace(k), `"'`)
	return ok && k == key
}

// constant is a value rule's text: a string as it is, an integer in
// decimal, a boolean as true or false.
func constant(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("want a string, an integer or a boolean, not %v", v)
}

// bitOf is the bit a marks rule names: 0–63, or a standard mark's name.
func bitOf(v any) (int, error) {
	switch x := v.(type) {
	case int64:
		if x < 0 || x > 63 {
			return 0, fmt.Errorf("bit %d is out of range: want 0–63 or %s", x, strings.Join(mark.StandardNames[:], ", "))
		}
		return int(x), nil
	case string:
		if b, ok := mark.BitNamed(strings.TrimSpace(x)); ok {
			return b, nil
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return bitOf(n)
		}
		return 0, fmt.Errorf("%q is not a bit: want 0–63 or %s", x, strings.Join(mark.StandardNames[:], ", "))
	case float64:
		if x == math.Trunc(x) {
			return bitOf(int64(x))
		}
	}
	return 0, fmt.Errorf("%v is not a bit: want 0–63 or %s", v, strings.Join(mark.StandardNames[:], ", "))
}

// Configure makes o read the source columns the mapping needs and apply
// it to every record of an input (readers.Input.Open).
func (m *Mapping) Configure(o *readers.Options) {
	o.Extra = m.sources
	o.Replaced = m.replaced
	o.Reshape = m.apply
	o.TypeFrom = m.typeFrom
}
