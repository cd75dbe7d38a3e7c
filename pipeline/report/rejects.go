package report

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"markimport/readers"
)

// Rejects collects the rows that did not end ok, for a rejects file: the
// input rows given back, fixable and runnable again. A row costs 16 bytes;
// messages are kept once each.
type Rejects struct {
	rows []rejectRow
	msgs []string
	ids  map[string]uint32
}

type rejectRow struct {
	row    int64
	code   int32
	msg    uint32
	status uint8
}

var statusIndex = func() map[Status]uint8 {
	m := map[Status]uint8{}
	for i, s := range Statuses {
		m[s] = uint8(i)
	}
	return m
}()

// NewRejects returns an empty collection.
func NewRejects() *Rejects { return &Rejects{ids: map[string]uint32{}} }

// Len is the number of rows collected.
func (r *Rejects) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rows)
}

// Add collects the row of l unless it ended ok (or valid, in a dry run).
func (r *Rejects) Add(l *Line) {
	if r == nil || l.Status == StatusOK || l.Status == StatusValid {
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

// RejectsHeader is what a rejects file adds after the input's own columns.
var RejectsHeader = []string{"status", "code", "message"}

// WriteRejectsCSV reads the input again and writes every collected row with
// all its original columns unchanged, in the input's order, under the
// input's header plus status, code and message. The file is a valid input:
// markimport ignores the added columns.
func WriteRejectsCSV(input string, opts readers.Options, path string, rej *Rejects) (n int64, err error) {
	if input == "-" {
		return 0, errors.New("--rejects needs an input file: standard input cannot be read twice")
	}
	slices.SortStableFunc(rej.rows, func(a, b rejectRow) int { return int(a.row - b.row) })
	opts.Format = "csv"
	rd, err := readers.Open(input, opts)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	cr, ok := rd.(*readers.CSVReader)
	if !ok {
		return 0, fmt.Errorf("rejects: %s is not CSV", input)
	}
	f, err := CreateAtomic(path)
	if err != nil {
		return 0, fmt.Errorf("rejects: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Abort()
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	w := csv.NewWriter(bw)
	w.Comma = cr.Delimiter()
	header := cr.Header()
	// A rejects file run again gives a rejects file of the same shape: its
	// old status, code and message give way to the new ones.
	keep := len(header)
	if keep >= 3 && slices.Equal(header[keep-3:], RejectsHeader) {
		keep -= 3
	}
	w.Write(append(slices.Clone(header[:keep]), RejectsHeader...))
	next := 0
	rec := make([]string, 0, len(header)+3)
	for next < len(rej.rows) {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if r.Row != rej.rows[next].row {
			continue
		}
		x := rej.rows[next]
		for next < len(rej.rows) && rej.rows[next].row == x.row {
			x = rej.rows[next] // a row collected twice keeps its last outcome
			next++
		}
		raw := cr.Raw()
		rec = append(rec[:0], raw[:min(keep, len(raw))]...)
		// A short row keeps its place under the header; the added columns
		// always line up.
		for len(rec) < keep {
			rec = append(rec, "")
		}
		rec = append(rec, string(Statuses[x.status]), strconv.Itoa(int(x.code)), rej.msgs[x.msg])
		if err := w.Write(rec); err != nil {
			return n, fmt.Errorf("rejects: %w", err)
		}
		n++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	committed = true
	if err := f.Commit(); err != nil {
		return n, fmt.Errorf("rejects: %w", err)
	}
	return n, nil
}
