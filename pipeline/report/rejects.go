package report

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"markimport/pipeline/durable"
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

// Add collects the row of l unless it ended ok (or valid, in a dry run,
// or unchanged, or exists).
func (r *Rejects) Add(l *Line) {
	if r == nil || l.Status == StatusOK || l.Status == StatusValid || l.Status == StatusUnchanged || l.Status == StatusExists {
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
// markimport ignores the added columns. An input of several files gives one
// file under the first file's header: a file whose header holds other
// columns is an input error naming both, one with the same columns in
// another order has its fields put in the first's order; the columns its
// folder names give (Hive's key=value) and its files lack are added before
// status.
func WriteRejectsCSV(in *readers.Input, opts readers.Options, path string, rej *Rejects) (n int64, err error) {
	if in.Parts[0].Path == "-" {
		return 0, errors.New("--rejects needs an input file: standard input cannot be read twice")
	}
	if rej == nil {
		rej = NewRejects()
	}
	slices.SortStableFunc(rej.rows, func(a, b rejectRow) int { return cmp.Compare(a.row, b.row) })
	opts.Format = "csv"
	rd, err := in.Open(opts)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	f, err := durable.Create(nil, path)
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

	// The shape of the file, from the first file with rows.
	var (
		header   []string // the first file's own columns, kept
		pathKeys []string // columns added for folder names
		started  bool
		part     = -1
		order    []int    // for the file being read: its field for each output column, or -1
		vals     []string // its values of the pathKeys columns
	)
	shape := func(k int, cr *readers.CSVReader) error {
		h := keepColumns(cr.Header())
		if !started {
			started = true
			header = slices.Clone(h)
			w.Comma = cr.Delimiter()
			pathKeys = pathKeysLacking(in, header)
			out := append(append(slices.Clone(header), pathKeys...), RejectsHeader...)
			if err := w.Write(out); err != nil {
				return err
			}
		}
		order = order[:0]
		for _, name := range header {
			order = append(order, slices.Index(h, name))
		}
		if len(h) != len(header) || slices.Contains(order, -1) {
			return &readers.InputError{Path: in.Parts[k].Path, Err: fmt.Errorf("its header (%s) has other columns than that of the first file (%s): a rejects file has one header", readers.ShowHeader(h), readers.ShowHeader(header))}
		}
		vals = vals[:0]
		for _, v := range pathValues(in.Parts[k].Hive, pathKeys) {
			if v == nil {
				vals = append(vals, "")
			} else {
				vals = append(vals, *v)
			}
		}
		return nil
	}
	next := 0
	rec := make([]string, 0, 64)
	for next < len(rej.rows) {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		k, cur := rd.Current()
		cr, ok := cur.(*readers.CSVReader)
		if !ok {
			return n, fmt.Errorf("rejects: %s is not CSV", in.Parts[k].Path)
		}
		if k != part {
			if err := shape(k, cr); err != nil {
				return n, err
			}
			part = k
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
		rec = rec[:0]
		// A short row keeps its place under the header; the added columns
		// always line up.
		for _, i := range order {
			v := ""
			if i < len(raw) {
				v = raw[i]
			}
			rec = append(rec, v)
		}
		rec = append(rec, vals...)
		rec = append(rec, string(Statuses[x.status]), strconv.Itoa(int(x.code)), rej.msgs[x.msg])
		if err := w.Write(rec); err != nil {
			return n, fmt.Errorf("rejects: %w", err)
		}
		n++
	}
	if !started {
		// Nothing collected: the header of the first file alone.
		if k, cur := rd.Current(); k == 0 {
			if cr, ok := cur.(*readers.CSVReader); ok {
				if err := shape(0, cr); err != nil {
					return n, err
				}
			}
		}
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

// keepColumns is a header without the status, code and message a rejects
// file added: a rejects file run again gives a rejects file of the same
// shape, its old outcome giving way to the new one.
func keepColumns(header []string) []string {
	keep := len(header)
	if keep >= 3 && slices.Equal(header[keep-3:], RejectsHeader) {
		keep -= 3
	}
	return header[:keep]
}
