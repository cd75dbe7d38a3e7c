package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
)

// peersState is a state in which the items of the peers in same are
// unchanged.
type peersState struct{ same map[string]bool }

func (s peersState) Partition(int) (StatePart, error) { return s, nil }
func (peersState) Confirmed(string, *mark.Item)       {}
func (peersState) Release()                           {}
func (s peersState) Unchanged(_ string, items []mark.Item, dst []bool) []bool {
	for i := range items {
		dst = append(dst, s.same[items[i].Conv.Peer])
	}
	return dst
}

// writesRecorder is a report that takes lines formatted ahead and
// records each write, and how many items each formatting was given.
type writesRecorder struct {
	writes []string
	given  []int
}

func (*writesRecorder) Write(report.Line) error { return nil }
func (*writesRecorder) Sync() error             { return nil }
func (*writesRecorder) Close() error            { return nil }
func (w *writesRecorder) AppendItemLines(dst []byte, from string, items []mark.Item, l report.Line) []byte {
	w.given = append(w.given, len(items))
	for i := range items {
		for _, row := range items[i].Rows {
			dst = fmt.Appendf(dst, "%d %s %s %s\n", row, from, items[i].Conv.Peer, l.Status)
		}
	}
	return dst
}
func (w *writesRecorder) WriteLines(b []byte) error {
	w.writes = append(w.writes, string(b))
	return nil
}

// TestStateFilterWritesAUserAtOnce: a user whose 250 items (three
// requests) are unchanged and changed by turns, planned twice, has its
// unchanged lines written in one piece each time, in its items' order,
// when they are written a user at a time (no partition lines, as with a
// rejects file): the other planner's lines cannot fall between them, and
// each write formats that user's unchanged items and no others. Formatted
// into the partition's lines, they are the same bytes, and nothing is
// written. The changed items are packed again, with their rows.
func TestStateFilterWritesAUserAtOnce(t *testing.T) {
	var items []mark.Item
	same := map[string]bool{}
	var want strings.Builder
	var wantKept []string
	for c := range 250 {
		peer := "p" + strconv.Itoa(c)
		items = append(items, mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: peer}, Set: 1, Opt: mark.OptStandard, Rows: []int64{int64(2 * c), int64(2*c + 1)}})
		if c%3 != 1 {
			same[peer] = true
			fmt.Fprintf(&want, "%d u %s unchanged\n%d u %s unchanged\n", 2*c, peer, 2*c+1, peer)
		} else {
			wantKept = append(wantKept, fmt.Sprintf("%s [%d %d]", peer, 2*c, 2*c+1))
		}
	}
	for _, withLines := range []bool{false, true} {
		ctr := &mark.Counters{}
		w := &writesRecorder{}
		r := &run{opts: Options{State: peersState{same}}, ctr: ctr}
		r.rep = &lockedReport{w: w, statuses: &ctr.Statuses, codes: map[int]int64{}}
		var pl *partLines
		if withLines {
			pl = newPartLines(w)
		}
		filter, release, err := r.stateFilter(0, pl)
		if err != nil {
			t.Fatal(err)
		}
		// The user twice, as two users of a partition follow each other.
		var out []mark.Request
		for range 2 {
			reqs := plan.Pack(nil, "u", items)
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want 3", len(reqs))
			}
			out = filter(reqs)
		}
		release()
		got := strings.Join(w.writes, "")
		if withLines {
			got = string(pl.buf)
			if len(w.writes) > 0 {
				t.Errorf("with partition lines: %d writes to the report", len(w.writes))
			}
		} else if len(w.writes) != 2 || w.writes[0] != w.writes[1] || !slices.Equal(w.given, []int{167, 167}) {
			t.Errorf("the user's unchanged lines written in %d pieces, formatted from %v items, want 1 a user, of its 167", len(w.writes), w.given)
		}
		if got != strings.Repeat(want.String(), 2) {
			t.Errorf("with partition lines %v: the lines\n%.300s…\nwant\n%.300s…", withLines, got, want.String())
		}
		var kept []string
		for _, req := range out {
			for _, it := range req.Items {
				kept = append(kept, fmt.Sprintf("%s %v", it.Conv.Peer, it.Rows))
			}
		}
		if len(out) != 1 || !slices.Equal(kept, wantKept) {
			t.Errorf("with partition lines %v: %d requests, kept %v, want %v", withLines, len(out), kept, wantKept)
		}
	}
}
