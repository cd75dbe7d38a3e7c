package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"hash/maphash"
	"os"
	"strconv"

	"markimport/pipeline/mark"
	"markimport/readers"
)

// Done is the set of rows a resumed run leaves out: those its report says
// ended ok. For an input of several files it keeps the rows of each file
// by their number within the file, since the rows' numbers across the
// input are known only as its files are read. With each row it keeps a
// 32-bit signature of the conversation its ok line names (4 bytes a row),
// so that the run can check, as it reads the input, that the row holds
// that conversation (Check); what the line said in words is read back from
// the journal only for a message.
type Done struct {
	in      *readers.Input // an input of several files, or nil
	rows    []mark.RowSet  // one per file
	n       int64
	sigs    [][]uint32    // per file, by row: conversation signatures
	checked []mark.RowSet // the rows Check found in the input
	last    []int64       // per file, the highest row
	seed    maphash.Seed
	journal string // holds the ok lines, for messages

	// Notes says, a sentence each, what the report held that was dropped
	// unproven (lines after the journal's last checkpoint): the log says it.
	Notes []string
}

func newDone(in *readers.Input) *Done {
	in = multi(in)
	n := 1
	if in != nil {
		n = len(in.Parts)
	}
	return &Done{in: in, rows: make([]mark.RowSet, n), sigs: make([][]uint32, n), checked: make([]mark.RowSet, n), last: make([]int64, n), seed: maphash.MakeSeed()}
}

// signature of a conversation as a report line names it.
func (d *Done) signature(from, typ, peer string) uint32 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(from)
	h.WriteByte(0)
	h.WriteString(typ)
	h.WriteByte(0)
	h.WriteString(peer)
	return uint32(h.Sum64())
}

// part is the index of the named file (ignored for one file).
func (d *Done) part(file string) (int, bool) {
	if d.in == nil {
		return 0, true
	}
	return d.in.PartIndex(file)
}

// add puts a row of the named file in the set, with the conversation its
// ok line names. It fails on a row that is not a row number, a file that
// is not one of the input's, or a row already in the set.
func (d *Done) add(file string, row int64, from, typ, peer string) error {
	k, ok := d.part(file)
	switch {
	case !ok:
		return fmt.Errorf("file %s is not one of the input's", readers.Quote(file))
	case row < 1:
		return fmt.Errorf("row %d is not a row number", row)
	case d.rows[k].Has(row):
		return fmt.Errorf("row %d is ok twice", row)
	}
	d.rows[k].Add(row)
	d.n++
	if d.sigs != nil {
		if int64(len(d.sigs[k])) <= row {
			d.sigs[k] = append(d.sigs[k], make([]uint32, row+1-int64(len(d.sigs[k]))+int64(len(d.sigs[k])/4))...)
		}
		d.sigs[k][row] = d.signature(from, typ, peer)
	}
	d.last[k] = max(d.last[k], row)
	return nil
}

// Has reports whether row (a row number of the whole input) ended ok. Its
// file must have been opened by the run's reader.
func (d *Done) Has(row int64) bool {
	if d == nil {
		return false
	}
	if d.in == nil {
		return d.rows[0].Has(row)
	}
	k, local := d.in.Locate(row)
	return d.rows[k].Has(local)
}

// Len is the number of rows in the set.
func (d *Done) Len() int64 {
	if d == nil {
		return 0
	}
	return d.n
}

// Check compares the conversation the input puts on row (one in the set),
// from, typ and peer, with what its ok line names; invalid, when not
// empty, says the input's row is invalid. A mismatch is a *MismatchError:
// the report's row numbers do not mean this input's rows.
func (d *Done) Check(row int64, from, typ, peer, invalid string) error {
	k, local := 0, row
	if d.in != nil {
		k, local = d.in.Locate(row)
	}
	if invalid == "" && d.sigs[k][local] == d.signature(from, typ, peer) {
		d.checked[k].Add(local)
		return nil
	}
	input := fmt.Sprintf("from_account %s, type %s, peer %s", readers.Quote(from), readers.Quote(typ), readers.Quote(peer))
	if invalid != "" {
		input = "an invalid row (" + invalid + ")"
	}
	return d.mismatch(k, local, input)
}

// Unchecked returns a *MismatchError for a row in the set that Check never
// saw: the input has no such row. It is called once the input was read
// whole.
func (d *Done) Unchecked() error {
	for k := range d.rows {
		if d.checked[k].Len() == d.rows[k].Len() {
			continue
		}
		for row := int64(1); row <= d.last[k]; row++ {
			if d.rows[k].Has(row) && !d.checked[k].Has(row) {
				return d.mismatch(k, row, "")
			}
		}
	}
	return nil
}

// mismatch is the error for row of file k, whose input holds input.
func (d *Done) mismatch(k int, row int64, input string) error {
	e := &MismatchError{Journal: d.journal, Row: row, Input: input}
	if d.in != nil {
		e.File = d.in.Parts[k].Name
	}
	e.Line = lineOf(d.journal, e.File, row, d.in != nil)
	return e
}

// lineOf reads back, for a message, what the ok line of row says.
func lineOf(journal, file string, row int64, multi bool) string {
	f, err := os.Open(journal)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	want := strconv.FormatInt(row, 10)
	for {
		rec, err := cr.Read()
		if err != nil {
			return "(not found)"
		}
		if multi {
			if len(rec) < 1 || rec[0] != file {
				continue
			}
			rec = rec[1:]
		}
		if len(rec) == len(reportHeader) && rec[0] == want && rec[4] == string(StatusOK) {
			return fmt.Sprintf("from_account %s, type %s, peer %s", readers.Quote(rec[1]), readers.Quote(rec[2]), readers.Quote(rec[3]))
		}
	}
}

// MismatchError says that a row the resumed report has ok is not, in the
// input, the conversation the report names: its row numbers do not mean
// this input's rows, so its ok lines prove nothing.
type MismatchError struct {
	Journal string
	File    string // of an input of several files
	Row     int64
	Line    string // what the ok line names
	Input   string // what the input has on the row ("": no such row)
}

// Error names the row, what the report says of it and what the input has.
func (e *MismatchError) Error() string {
	row := fmt.Sprintf("row %d", e.Row)
	if e.File != "" {
		row += " of " + e.File
	}
	input := "the input has " + e.Input + " there"
	if e.Input == "" {
		input = "the input has no such row"
	}
	return fmt.Sprintf("cannot resume: %s is ok in the report %s as %s, but %s: the report's row numbers are not this input's rows; start over with --overwrite: it sends every row again, which changes nothing the API already applied", row, e.Journal, e.Line, input)
}
