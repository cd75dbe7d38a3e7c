package pipeline

import (
	"context"
	"fmt"
	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
	"markimport/pipeline/spill"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSpillMatchesMemory(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeGenInput(t, in, 20000, false)
	type result struct {
		lines []report.Line
		reqs  []string
		sum   Summary
	}
	do := func(budget int64, dry bool) result {
		rep := &memReport{}
		snd := &recordingSender{}
		sum, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: snd, DryRun: dry, MemoryBudget: budget, TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(snd.reqs)
		return result{rep.lines, snd.reqs, sum}
	}
	for _, dry := range []bool{true, false} {
		mem, spill := do(0, dry), do(64<<10, dry)
		if mem.sum.Spilled || !spill.sum.Spilled {
			t.Fatalf("spilled: memory path %v, budget path %v", mem.sum.Spilled, spill.sum.Spilled)
		}
		if dry && !slices.Equal(mem.lines, spill.lines) {
			t.Fatalf("dry-run reports differ between the in-memory and the spill path")
		}
		if !dry {
			a, b := slices.Clone(mem.lines), slices.Clone(spill.lines)
			cmp := func(x, y report.Line) int { return int(x.Row - y.Row) }
			slices.SortFunc(a, cmp)
			slices.SortFunc(b, cmp)
			if !slices.Equal(a, b) {
				t.Fatalf("reports differ between the in-memory and the spill path")
			}
		}
		if !slices.Equal(mem.reqs, spill.reqs) {
			t.Fatalf("requests differ: %d vs %d", len(mem.reqs), len(spill.reqs))
		}
		if mem.sum.RequestsPlanned != spill.sum.RequestsPlanned || mem.sum.Users != spill.sum.Users || mem.sum.Conversations != spill.sum.Conversations {
			t.Fatalf("summaries differ: %+v vs %+v", mem.sum, spill.sum)
		}
		if int64(len(mem.lines)) != mem.sum.Rows {
			t.Fatalf("%d report lines for %d rows", len(mem.lines), mem.sum.Rows)
		}
	}
	// A dry run plans into reused memory: its lines must say what a real
	// run's do (each row's user and conversation), not what a later
	// user's plan wrote over them.
	for _, budget := range []int64{0, 64 << 10} {
		dry, real := do(budget, true), do(budget, false)
		key := func(lines []report.Line) []string {
			var k []string
			for _, l := range lines {
				if l.Status == report.StatusValid || l.Status == report.StatusOK {
					k = append(k, fmt.Sprint(l.Row, l.From, l.Type, l.Peer))
				}
			}
			slices.Sort(k)
			return k
		}
		if a, b := key(dry.lines), key(real.lines); len(a) == 0 || !slices.Equal(a, b) {
			t.Fatalf("budget %d: dry-run lines differ from a real run's (%d vs %d)", budget, len(a), len(b))
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left behind: %d entries", len(ents))
	}
}

func TestSortedStreamsLikeUnsorted(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeGenInput(t, in, 5000, true)
	run := func(sorted bool) ([]string, []report.Line) {
		rep, snd := &memReport{}, &recordingSender{}
		if _, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: snd, Sorted: sorted}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(snd.reqs)
		slices.SortFunc(rep.lines, func(x, y report.Line) int { return int(x.Row - y.Row) })
		return snd.reqs, rep.lines
	}
	r1, l1 := run(false)
	r2, l2 := run(true)
	if !slices.Equal(r1, r2) || !slices.Equal(l1, l2) {
		t.Fatalf("sorted streaming differs from the grouped plan")
	}

	// A user that comes back after others: those rows are invalid, not lost.
	os.WriteFile(in, []byte("from_account,to_account,set_mark\na,p,1\nb,p,1\na,q,2\n"), 0o644)
	rep := &memReport{}
	if _, err := Run(context.Background(), Options{Input: in, Report: rep, Sender: &recordingSender{}, Sorted: true}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rep.lines, func(x, y report.Line) int { return int(x.Row - y.Row) })
	if len(rep.lines) != 3 || rep.lines[2].Status != report.StatusInvalid || !strings.Contains(rep.lines[2].Message, "contiguous") {
		t.Fatalf("report %+v", rep.lines)
	}
}

// damagedSource is a store whose partition bad comes back one byte short,
// as a spill file damaged on disk would.
type damagedSource struct {
	*spill.Store
	bad int
}

func (d damagedSource) Take(p int) ([][]byte, int64, error) {
	blocks, n, err := d.Store.Take(p)
	if p == d.bad && err == nil {
		last := blocks[len(blocks)-1]
		blocks[len(blocks)-1] = last[:len(last)-1]
	}
	return blocks, n, err
}

// TestSpillReadErrors: a partition that does not decode fails the plan
// with the partition named, rather than planning what it could read.
func TestSpillReadErrors(t *testing.T) {
	st := spill.New(1, t.TempDir()) // spills at once
	defer st.Close()
	for i := range 50 {
		c := mark.Change{Row: int64(i + 2), From: fmt.Sprint("u", i%5), Conv: mark.Conversation{Type: 1, Peer: fmt.Sprint("p", i)}, Set: 1 << (i % 64), Opt: mark.OptStandard}
		if err := st.Add(&c, spill.PartitionOf(c.From)); err != nil {
			t.Fatal(err)
		}
	}
	if !st.Spilled() {
		t.Fatal("did not spill")
	}
	p := spill.PartitionOf("u3")
	var users int
	err := planAhead(context.Background(), damagedSource{st, p}, nil, true, planHooks{}, func(reqs []mark.Request, _ []plan.Rejected) error {
		users++
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("partition %d: corrupt", p)) {
		t.Fatalf("err %v, want the partition %d named", err, p)
	}
	if users >= 5 {
		t.Fatalf("%d users planned: the damaged partition's too", users)
	}
}
