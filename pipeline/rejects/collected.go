package rejects

import (
	"cmp"
	"slices"

	"markimport/pipeline/report"
	"markimport/readers"
)

// Rows collects the rows that did not end ok, for a rejects file. A row
// costs 24 bytes (a rejectRow); messages are kept once each.
type Rows struct {
	rows []rejectRow
	msgs []string
	ids  map[string]uint32
}

// rejectRow is one collected row: its number in the input (or, once
// split, in its file), and its outcome.
type rejectRow struct {
	row    int64
	code   int32
	msg    uint32
	status uint8 // an index of report.Statuses
}

var statusIndex = func() map[report.Status]uint8 {
	m := map[report.Status]uint8{}
	for i, s := range report.Statuses {
		m[s] = uint8(i)
	}
	return m
}()

// New returns an empty collection.
func New() *Rows { return &Rows{ids: map[string]uint32{}} }

// Len is the number of rows collected.
func (r *Rows) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rows)
}

// Add collects the row of l unless its status is settled (ok, valid,
// unchanged, exists, skipped): a rejects file holds the rows to fix.
func (r *Rows) Add(l *report.Line) {
	if r == nil || l.Status.Settled() {
		return
	}
	id, ok := r.ids[l.Message]
	if !ok {
		id = uint32(len(r.msgs))
		r.msgs = append(r.msgs, l.Message)
		r.ids[l.Message] = id
	}
	r.rows = append(r.rows, rejectRow{row: l.Row, code: int32(l.Code), msg: id, status: statusIndex[l.Status]})
}

// sort puts the rows in input order; a row collected twice keeps its
// outcomes in the order they came.
func (r *Rows) sort() {
	slices.SortStableFunc(r.rows, func(a, b rejectRow) int { return cmp.Compare(a.row, b.row) })
}

// status and message are the added columns of x that are strings.
func (r *Rows) status(x rejectRow) string  { return string(report.Statuses[x.status]) }
func (r *Rows) message(x rejectRow) string { return r.msgs[x.msg] }

// split gives each file of the input its collected rows, numbered within
// the file.
func (r *Rows) split(in *readers.Input) []*Rows {
	parts := make([]*Rows, len(in.Parts))
	for i := range parts {
		parts[i] = &Rows{msgs: r.msgs}
	}
	if !in.Multi() {
		parts[0].rows = r.rows
		return parts
	}
	for _, x := range r.rows {
		k, local := in.Locate(x.row)
		x.row = local
		parts[k].rows = append(parts[k].rows, x)
	}
	return parts
}
