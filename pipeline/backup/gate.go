package backup

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
)

// Reader reads marks back (search_contact_group): Search is given one user
// and 1..mark.MaxSearchItems conversations and returns the marks of those
// the server holds. It returns a *mark.FatalError when no read can
// succeed, a *mark.ReadError when this one failed, ctx.Err() when ctx is
// done. sink.ReadClient is one.
type Reader interface {
	Search(ctx context.Context, from string, convs []mark.Conversation) (map[mark.Conversation]mark.ServerMarks, error)
}

// Gate backs up each user's conversations before the run sends its items:
// it is the run's gate (pipeline.Options.Gate).
type Gate struct {
	Marks  Reader
	Backup *Writer
	// Reads counts the search requests made.
	Reads atomic.Int64
}

// Admit reads back the conversations of from's items that have no row in
// the backup yet, writes the restore row of each item that changes
// something, and returns once those rows are durable: every item may then
// be sent. When a read fails, no item of the user is sent (each is held
// unsent with the read's code): a conversation is never changed without
// its backup. A fatal answer, an interruption or a failure to write the
// backup is returned as an error.
func (g *Gate) Admit(ctx context.Context, from string, items []mark.Item) ([]mark.Verdict, error) {
	verdicts := make([]mark.Verdict, len(items))
	var need []int // items to read back
	for i := range items {
		if !g.Backup.Has(from, items[i].Conv) {
			need = append(need, i)
		}
	}
	if len(need) == 0 {
		return verdicts, nil
	}
	got := make([]map[mark.Conversation]mark.ServerMarks, (len(need)+mark.MaxSearchItems-1)/mark.MaxSearchItems)
	eg, ectx := errgroup.WithContext(ctx)
	for k := range got {
		batch := need[k*mark.MaxSearchItems : min(len(need), (k+1)*mark.MaxSearchItems)]
		eg.Go(func() error {
			convs := make([]mark.Conversation, len(batch))
			for j, i := range batch {
				convs[j] = items[i].Conv
			}
			g.Reads.Add(1)
			m, err := g.Marks.Search(ectx, from, convs)
			got[k] = m
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		var re *mark.ReadError
		if errors.As(err, &re) && ctx.Err() == nil {
			for i := range verdicts {
				verdicts[i] = mark.Verdict{Hold: mark.HoldUnsent, Code: re.Code,
					Message: fmt.Sprintf("not sent: its backup could not be read: %s", re.Error())}
			}
			return verdicts, nil
		}
		return nil, err
	}
	rows := make([]Row, 0, len(need))
	for k, batch := 0, need; len(batch) > 0; k++ {
		n := min(len(batch), mark.MaxSearchItems)
		for _, i := range batch[:n] {
			it := &items[i]
			prev, found := got[k][it.Conv]
			row, ok := Restore(from, it, prev, found)
			switch {
			case !ok:
			case !g.Backup.Faithful(&row):
				verdicts[i] = mark.Verdict{Hold: mark.HoldUnsent, Message: "not sent: its custom mark before the run holds a carriage return and line feed, " +
					"which a CSV backup cannot give back exactly (CSV reads them as one line feed): back it up with --backup FILE.parquet"}
			default:
				rows = append(rows, row)
			}
		}
		batch = batch[n:]
	}
	if err := g.Backup.Write(rows); err != nil {
		return nil, err
	}
	return verdicts, nil
}
