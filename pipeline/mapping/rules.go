package mapping

import (
	"fmt"
	"strconv"
	"strings"

	"markimport/readers"
)

// rule makes some of a record's input columns from its source values
// (the record's Extra, in the order of Mapping.sources). A value that
// cannot be used makes the record invalid, through fail.
type rule struct {
	order int // 0 before 1: type before the peer that reads it
	apply func(vals []string, r *readers.Record)
}

// apply makes rec's input columns by the mapping's rules from its source
// columns (rec.Extra). A source value a rule cannot use makes rec invalid,
// unless it already is. It is a pure function of rec.
func (m *Mapping) apply(rec *readers.Record) {
	var buf [16]string
	vals := rec.Extra.Values(buf[:0])
	if len(vals) != len(m.sources) {
		fail(rec, "", fmt.Sprintf("the record has %d of the %d columns the mapping reads", len(vals), len(m.sources)))
		return
	}
	for _, r := range m.rules {
		r.apply(vals, rec)
	}
}

// fail makes rec invalid for column's value, unless it already is.
func fail(rec *readers.Record, column, problem string) {
	if rec.Problem == "" {
		rec.Problem, rec.ProblemColumn = problem, column
	}
}

// copyColumn is the rule that copies source k to field f, as it is.
func copyColumn(f readers.Field, k int) func([]string, *readers.Record) {
	return func(vals []string, r *readers.Record) { r.Fields[f] = vals[k] }
}

// booleans are the accepted spellings of true and false, any case.
var booleans = map[string]bool{"true": true, "t": true, "yes": true, "y": true, "1": true,
	"false": false, "f": false, "no": false, "n": false, "0": false}

// acceptedBooleans lists them for messages.
const acceptedBooleans = "true/false, t/f, yes/no, y/n or 1/0, any case"

// parseBool reads a boolean source value, or says why it is not one.
func parseBool(v string) (bool, string) {
	s := strings.TrimSpace(v)
	if s == "" {
		return false, "empty; want " + acceptedBooleans
	}
	b, ok := booleans[strings.ToLower(s)]
	if !ok {
		return false, fmt.Sprintf("%s is not true or false (%s)", readers.Quote(v), acceptedBooleans)
	}
	return b, ""
}

// groupFlag is the rule that makes type from a 0/1 or true/false column:
// group when true, c2c when false. A value that is neither leaves type as
// the file wrote it, for the report, and makes the row invalid.
func groupFlag(k int, column, where string) func([]string, *readers.Record) {
	return func(vals []string, r *readers.Record) {
		group, why := parseBool(vals[k])
		switch {
		case why != "":
			r.Fields[readers.Type] = vals[k]
			fail(r, readers.Display(column), fmt.Sprintf("%s (a group flag: %s)", why, where))
		case group:
			r.Fields[readers.Type] = "group"
		default:
			r.Fields[readers.Type] = "c2c"
		}
	}
}

// peerByType is the rule that puts the peer in to_account for a c2c row
// (source c2c) and in to_group_id for a group row (source group). A row
// without a type: when single (one column for both), it is invalid, since
// nothing tells where its peer goes; else both are given, and validation
// infers the type from the one set. A type that is neither is left to
// validation to refuse.
func peerByType(c2c, group int, single bool, where string) func([]string, *readers.Record) {
	return func(vals []string, r *readers.Record) {
		switch strings.ToLower(strings.TrimSpace(r.Fields[readers.Type])) {
		case "1", "c2c":
			r.Fields[readers.ToAccount], r.Fields[readers.ToGroupID] = vals[c2c], ""
		case "2", "group":
			r.Fields[readers.ToAccount], r.Fields[readers.ToGroupID] = "", vals[group]
		case "":
			if single {
				fail(r, "type", fmt.Sprintf("empty, and the peer (%s) goes to to_account or to_group_id by the type", where))
				return
			}
			r.Fields[readers.ToAccount], r.Fields[readers.ToGroupID] = vals[c2c], vals[group]
		default:
			r.Fields[readers.ToAccount], r.Fields[readers.ToGroupID] = "", ""
		}
	}
}

// boolBit is one column of a marks rule: source k, named column, to bit.
type boolBit struct {
	k      int
	column string
	bit    int
}

// markBits is the rule that makes set_mark and clear_mark from boolean
// columns: a true sets the column's bit, a false clears it.
func markBits(bits []boolBit, where string) func([]string, *readers.Record) {
	return func(vals []string, r *readers.Record) {
		var set, clear []byte
		for _, b := range bits {
			on, why := parseBool(vals[b.k])
			if why != "" {
				fail(r, readers.Display(b.column), fmt.Sprintf("%s (a mark's column: %s)", why, where))
				continue
			}
			if on {
				set = appendBit(set, b.bit)
			} else {
				clear = appendBit(clear, b.bit)
			}
		}
		r.Fields[readers.SetMark], r.Fields[readers.ClearMark] = string(set), string(clear)
	}
}

// appendBit appends bit to a set_mark or clear_mark being made: "0|32".
func appendBit(dst []byte, bit int) []byte {
	if len(dst) > 0 {
		dst = append(dst, '|')
	}
	return strconv.AppendInt(dst, int64(bit), 10)
}
