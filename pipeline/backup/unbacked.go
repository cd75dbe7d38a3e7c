package backup

import (
	"fmt"
	"io"
	"strings"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/spill"
	"markimport/readers"
)

// A resumed run with a backup keeps the rows its report has ok: they are
// not sent again. Each was sent, and a request leaves only once the rows
// of its conversations are durable in the backup (an item the read-back
// finds already so is held, not sent), so each ok row's conversation must
// have a row in the backup the run continues. One that has none was lost
// (a journal cut together with its checks, an older copy put back, the
// backup of another run): a rollback would leave that conversation as the
// run wrote it. CheckResumed finds them before anything is sent.

// UnbackedError lists the ok rows of a resumed report whose conversations
// have no row in the backup.
type UnbackedError struct {
	Backup        string
	Rows          int64    // ok rows without a backup row
	Conversations int64    // their conversations
	First         []string // the first few, "row 7 (alice c2c bob)"
}

func (e *UnbackedError) Error() string {
	return fmt.Sprintf("%d rows the report has ok (%d conversations: %s) have no row in the backup %s, yet their requests were sent: the backup lost those rows, and a rollback would leave their conversations as the run wrote them",
		e.Rows, e.Conversations, strings.Join(e.First, ", "), e.Backup)
}

// CheckResumed reads the input in and checks that the conversation of
// every row of done (the rows the report being resumed has ok) has a row
// in the backup (Has). It returns an *UnbackedError naming the rows that
// have none.
func (w *Writer) CheckResumed(in *readers.Input, opts readers.Options, done mark.Rows) error {
	if done == nil || done.Len() == 0 {
		return nil
	}
	rd, err := in.Open(opts)
	if err != nil {
		return err
	}
	defer rd.Close()
	e := &UnbackedError{Backup: w.files.Final}
	convs := spill.NewHashSet()
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !done.Has(rec.Row) {
			continue
		}
		c, bad := plan.Validate(&rec)
		if bad != nil || w.Has(c.From, c.Conv) {
			continue // an invalid row is never ok in a report of this input
		}
		e.Rows++
		if k := w.key(c.From, c.Conv); !convs.Has(k) {
			convs.Add(k)
			e.Conversations++
		}
		if len(e.First) < 5 {
			where := fmt.Sprintf("row %d", c.Row)
			if in.Multi() {
				file, row := in.FileRow(c.Row)
				where = fmt.Sprintf("%s row %d", file, row)
			}
			e.First = append(e.First, fmt.Sprintf("%s (%s %s %s)", where, c.From, c.Conv.TypeName(), c.Conv.Peer))
		}
	}
	if e.Rows > 0 {
		return e
	}
	return nil
}
