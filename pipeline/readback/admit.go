package readback

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/backup"
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

// Gate reads each user's conversations back right before the run sends its
// items, and with what it read writes their backup (Backup), holds back the
// items of conversations that already hold marks (InsertOnly), or both,
// from one read. It is the run's gate (pipeline.Options.Gate).
type Gate struct {
	Marks Reader
	// Backup, when set, receives the restore row of every item that will
	// be sent (run --backup); an item that would change nothing is held
	// (mark.HoldSame), so that no request leaves without the row of its
	// conversation.
	Backup *backup.Writer
	// InsertOnly holds back every item whose conversation already holds
	// marks (a standard bit set, or a custom mark) that the item would
	// change (run --mode insert). Without a backup, an item that would
	// change nothing there is sent: it is harmless, and it is how a resumed
	// run finds the items its interrupted run had already written.
	InsertOnly bool
	// SkipSame holds back every item that would change nothing on the
	// server (run --skip-unchanged): its rows are reported unchanged,
	// and the rest is sent. A read that fails holds nothing back for
	// it: the items are sent, as without the skip.
	SkipSame bool
	// Preview holds back every item (validate --online): one that would
	// change nothing as HoldSame, the others as HoldChange with the marks
	// before and after. Nothing is sent.
	Preview bool
	// Reads counts the search requests made.
	Reads atomic.Int64
}

// Admit reads back the conversations of from's items (those without a
// backup row yet, unless InsertOnly needs them all), holds back the items
// InsertOnly keeps, and, with a backup, the items that would change
// nothing (HoldSame), writes the restore rows of the others, and returns
// once those rows are durable: every item not held may then be sent, and
// every item sent has its conversation's row in the backup. When
// a read fails, no item of the user is sent (each is held unsent with the
// read's code): a conversation is never changed without its backup, nor
// without knowing whether it held marks. A fatal answer, an interruption
// or a failure to write the backup is returned as an error.
func (g *Gate) Admit(ctx context.Context, from string, items []mark.Item) ([]mark.Verdict, error) {
	verdicts := make([]mark.Verdict, len(items))
	need := g.toRead(from, items)
	if len(need) == 0 {
		return verdicts, nil
	}
	got, err := g.read(ctx, from, items, need)
	if err != nil {
		var re *mark.ReadError
		if errors.As(err, &re) && ctx.Err() == nil {
			g.holdAllUnread(verdicts, re)
			return verdicts, nil
		}
		return nil, err
	}
	var rows []backup.Row
	for j, i := range need {
		prev, found := got[j/mark.MaxSearchItems][items[i].Conv]
		if row, ok := g.judge(from, &items[i], prev, found, &verdicts[i]); ok {
			rows = append(rows, row)
		}
	}
	if g.Backup != nil {
		if err := g.Backup.Write(rows); err != nil {
			return nil, err
		}
	}
	return verdicts, nil
}

// toRead returns the indexes of the items whose conversations must be read
// back: all of them in insert mode, with the skip or in a preview, else
// those the backup has no row for.
func (g *Gate) toRead(from string, items []mark.Item) []int {
	var need []int
	for i := range items {
		if g.InsertOnly || g.SkipSame || g.Preview || g.Backup != nil && !g.Backup.Has(from, items[i].Conv) {
			need = append(need, i)
		}
	}
	return need
}

// read reads the conversations of items[need] back, mark.MaxSearchItems a
// request, the requests at once: got[k] holds what the k-th request read.
func (g *Gate) read(ctx context.Context, from string, items []mark.Item, need []int) ([]map[mark.Conversation]mark.ServerMarks, error) {
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
	return got, eg.Wait()
}

// holdAllUnread holds every item of a user whose read failed unsent, with
// the read's code.
func (g *Gate) holdAllUnread(verdicts []mark.Verdict, re *mark.ReadError) {
	switch {
	case g.Preview:
		for i := range verdicts {
			verdicts[i] = mark.Verdict{Hold: mark.HoldUnsent, Code: re.Code, Message: "not read: " + re.Error()}
		}
		return
	case g.Backup == nil && !g.InsertOnly:
		return // the skip alone: sent as without it
	}
	why := "its backup could not be read"
	if g.Backup == nil {
		why = "its marks could not be read (insert mode)"
	}
	for i := range verdicts {
		verdicts[i] = mark.Verdict{Hold: mark.HoldUnsent, Code: re.Code, Message: fmt.Sprintf("not sent: %s: %s", why, re.Error())}
	}
}

// judge decides the verdict v of item it of user from, given the marks
// read back for its conversation (found is false when the server holds
// none), and returns its restore row when the item will be sent with a
// backup.
func (g *Gate) judge(from string, it *mark.Item, prev mark.ServerMarks, found bool, v *mark.Verdict) (backup.Row, bool) {
	changes := it.Changes(prev, found)
	if g.Preview {
		*v = preview(it, prev, found, changes)
		return backup.Row{}, false
	}
	if g.InsertOnly && found && (prev.Standard != 0 || prev.Custom != "") && changes {
		*v = mark.Verdict{Hold: mark.HoldExists, Message: "not sent: the server already holds marks for this conversation: " + prev.Describe()}
		return backup.Row{}, false
	}
	if g.SkipSame && !changes {
		*v = mark.Verdict{Hold: mark.HoldSame, Message: "not sent: the server already holds these marks (read back just before)"}
		return backup.Row{}, false
	}
	if g.Backup == nil || g.Backup.Has(from, it.Conv) && changes {
		return backup.Row{}, false
	}
	row, ok := backup.Restore(from, it, prev, found)
	if !ok {
		// Not sent, so that every request of a run with a backup has
		// the row of its conversation: what --resume checks.
		*v = mark.Verdict{Hold: mark.HoldSame, Message: "not sent: the server already holds these marks (read back for the backup)"}
		return backup.Row{}, false
	}
	if !g.Backup.Faithful(&row) {
		*v = mark.Verdict{Hold: mark.HoldUnsent, Message: "not sent: its custom mark before the run holds a carriage return and line feed, " +
			"which a CSV backup cannot give back exactly (CSV reads them as one line feed): back it up with --backup FILE.parquet"}
		return backup.Row{}, false
	}
	return row, true
}

// preview is the verdict of a preview on an item: what the server holds
// and, when the item would change it, what it would hold after.
func preview(it *mark.Item, prev mark.ServerMarks, found, changes bool) mark.Verdict {
	if !changes {
		return mark.Verdict{Hold: mark.HoldSame, Message: "the server already holds these marks"}
	}
	before := "no marks (the server holds none for it)"
	if found {
		before = prev.Describe()
	} else {
		prev = mark.ServerMarks{}
	}
	return mark.Verdict{Hold: mark.HoldChange, Message: "before: " + before + "; after: " + it.Applied(prev).Describe()}
}
