package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The fields of a row, in the order of markimport's columns.
const (
	fFrom = iota
	fType
	fTo
	fGroup
	fSet
	fClear
	fCustom
	fOpt
	numFields
)

var columnNames = [numFields]string{"from_account", "type", "to_account", "to_group_id", "set_mark", "clear_mark", "custom_mark", "opt_type"}

// row is one input row as values: nil (null), string, int64, or []any for a
// list whose elements are int64 or nil (a null element).
type row [numFields]any

// customs are custom marks that are easy to get wrong: CSV quoting,
// unicode, spaces that must be kept, newlines.
var customs = []string{
	"", "plain", `中文，逗号, "quotes"`, "line one\nline two", "  spaced  ", "emoji 😀",
	"a,b,c", `"`, "tab\tinside", "\nleading newline", strings.Repeat("长", 80),
}

var accounts = []string{"user", "用户", " padded ", "dash-name", "UPPER", "emoji😀"}

// sampleRows returns n deterministic rows. With nulls, absent values are
// nil (null); without, they are "" and lists are never null. typed gives
// type and opt_type as integers and marks as lists; otherwise every value
// is text, with marks in the CSV forms.
func sampleRows(n int, nulls, typed bool) []row {
	rows := make([]row, n)
	absent := func() any {
		if nulls {
			return nil
		}
		return ""
	}
	for i := range rows {
		r := &rows[i]
		r[fFrom] = fmt.Sprintf("%s%d", accounts[i%len(accounts)], i%97)
		group := i%5 == 4
		if group {
			r[fType], r[fTo], r[fGroup] = int64(2), absent(), fmt.Sprintf("group-%d", i%13)
		} else {
			r[fType], r[fTo], r[fGroup] = int64(1), fmt.Sprintf("peer%d", (i*7)%101), absent()
		}
		if i%11 == 3 {
			r[fType] = absent()
		}
		set := bits(i, i%4)
		clear := bits(i+32, (i/4)%3)
		r[fSet], r[fClear] = set, clear
		if nulls && i%9 == 0 {
			r[fClear] = nil
		}
		if nulls && i%17 == 5 {
			r[fSet] = nil
		}
		r[fCustom] = customs[i%len(customs)]
		if nulls && i%7 == 6 {
			r[fCustom] = nil
		}
		opt := int64(0)
		if len(set)+len(clear) > 0 {
			opt |= 1
		}
		if s, _ := r[fCustom].(string); s != "" {
			opt |= 2
		}
		r[fOpt] = opt
		if opt == 0 || i%3 == 0 {
			r[fOpt] = absent()
		}
		if !typed {
			for f := range r {
				r[f] = asText(r[f], i)
			}
		}
	}
	return rows
}

// bits returns n distinct bit numbers in 0..63 derived from seed.
func bits(seed, n int) []any {
	out := []any{}
	for k := range n {
		out = append(out, int64((seed*13+k*29)%64))
	}
	return out
}

// asText turns a typed value into one of the CSV text forms, varying the
// form of lists with i.
func asText(v any, i int) any {
	switch v := v.(type) {
	case int64:
		if i%6 == 1 {
			return " " + strconv.FormatInt(v, 10) + " "
		}
		return strconv.FormatInt(v, 10)
	case []any:
		parts := make([]string, len(v))
		for k, e := range v {
			parts[k] = render(e)
		}
		switch {
		case len(v) == 1 && i%2 == 0:
			return parts[0]
		case i%3 == 1:
			return strings.Join(parts, "|")
		default:
			return "[" + strings.Join(parts, ", ") + "]"
		}
	}
	return v
}

// render gives the text markimport's readers produce for a value: lists as
// "[1,2]" with a null element as "null", and a null as "".
func render(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case []any:
		parts := make([]string, len(v))
		for k, e := range v {
			if e == nil {
				parts[k] = "null"
			} else {
				parts[k] = render(e)
			}
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	panic(fmt.Sprintf("render: unexpected %T", v))
}

// writeGolden writes rows as the CSV file the fixture must read as.
func writeGolden(path string, rows []row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(columnNames[:])
	rec := make([]string, numFields)
	for _, r := range rows {
		for k, v := range r {
			rec[k] = render(v)
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
