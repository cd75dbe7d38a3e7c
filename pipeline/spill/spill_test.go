package spill

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

// TestStoreLongStrings: strings longer than a block or a quarter of a
// region come back whole, in memory and after a spill.
func TestStoreLongStrings(t *testing.T) {
	for _, budget := range []int64{0, 1} {
		st := New(budget, t.TempDir())
		want := map[string]string{}
		for i, n := range []int{10, blockSize + 5, regionSize/4 + 1, 3 << 20, 7} {
			from := fmt.Sprint("u", i%2)
			peer := strings.Repeat(string(rune('a'+i)), n)
			c := mark.Change{Row: int64(i + 2), From: from, Conv: mark.Conversation{Type: mark.C2C, Peer: peer}, Set: 1, Opt: mark.OptStandard}
			if err := st.Add(&c, PartitionOf(from)); err != nil {
				t.Fatal(err)
			}
			want[fmt.Sprint(c.Row)] = from + "/" + peer
		}
		if st.Spilled() != (budget == 1) {
			t.Fatalf("budget %d: spilled %v", budget, st.Spilled())
		}
		got := drain(t, st)
		st.Close()
		if len(got) != len(want) {
			t.Fatalf("budget %d: %d rows back, want %d", budget, len(got), len(want))
		}
		for row, w := range want {
			if got[row] != w {
				t.Fatalf("budget %d: row %s: %d bytes back, want %d", budget, row, len(got[row]), len(w))
			}
		}
	}
}

// TestSpillFileDamaged: a spill file cut short does not decode; it is an
// error, never a partition planned from what could be read.
func TestSpillFileDamaged(t *testing.T) {
	st := New(1, t.TempDir()) // spills at once
	defer st.Close()
	for i := range 50 {
		c := mark.Change{Row: int64(i + 2), From: fmt.Sprint("u", i%5), Conv: mark.Conversation{Type: 1, Peer: fmt.Sprint("p", i)}, Set: 1 << (i % 64), Opt: mark.OptStandard}
		if err := st.Add(&c, PartitionOf(c.From)); err != nil {
			t.Fatal(err)
		}
	}
	p := PartitionOf("u3")
	pt := &st.parts[p]
	if err := pt.flush(); err != nil {
		t.Fatal(err)
	}
	size, _ := pt.f.Seek(0, 2)
	if err := pt.f.Truncate(size - 1); err != nil {
		t.Fatal(err)
	}
	blocks, n, err := st.Take(p)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	if err := d.Decode(blocks, n); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("decoding a damaged spill file: %v", err)
	}
}

// TestDecoderLetsGo: a reused decoder keeps no strings from earlier
// partitions beyond its length, which would keep those partitions' bytes
// alive.
func TestDecoderLetsGo(t *testing.T) {
	var changes []mark.Change
	for i := range 50 {
		changes = append(changes, mark.Change{Row: int64(i), From: "u", Conv: mark.Conversation{Type: mark.C2C, Peer: fmt.Sprint("p", i)}, Set: 1, Opt: mark.OptStandard})
	}
	var pb Decoder
	big := appendChange(nil, &changes[0])
	for i := 1; i < 20; i++ {
		big = appendChange(big, &changes[i])
	}
	if err := pb.Decode([][]byte{big}, 20); err != nil {
		t.Fatal(err)
	}
	pb.EachUser(func([]mark.Change) {})
	small := appendChange(nil, &changes[0])
	if err := pb.Decode([][]byte{small}, 1); err != nil {
		t.Fatal(err)
	}
	pb.EachUser(func([]mark.Change) {})
	for i, c := range pb.changes[1:cap(pb.changes)] {
		if c.From != "" || c.Conv.Peer != "" {
			t.Fatalf("decoded change %d beyond the length kept %+v", i+1, c)
		}
	}
	for i, c := range pb.sorted[1:cap(pb.sorted)] {
		if c.From != "" || c.Conv.Peer != "" {
			t.Fatalf("sorted change %d beyond the length kept %+v", i+1, c)
		}
	}
}

// TestStoreKeepsInputOrder: each user's changes come back in the order
// they were added, whether they went through the partition's stage, were
// larger than it, or were added after the spill, with the stage emptied
// at every point (full, before a large change, at the spill, at Take). The
// budget of 1 byte spills at the first change, the only one of its
// partition: staged, and found only if the spill moved it.
func TestStoreKeepsInputOrder(t *testing.T) {
	for _, budget := range []int64{0, 1} {
		st := New(budget, t.TempDir())
		want := map[string][]int64{}
		row := int64(2)
		for i := range 3000 {
			from := fmt.Sprint("u", i%3)
			if i == 0 {
				from = "first"
			}
			c := mark.Change{Row: row, From: from, Conv: mark.Conversation{Type: mark.C2C, Peer: fmt.Sprint("p", i)}, Set: 1, Opt: mark.OptStandard}
			if i%97 == 1 {
				c.Custom, c.Opt = strings.Repeat("c", stageSize+i%7), mark.OptStandard|mark.OptCustom
			}
			if err := st.Add(&c, PartitionOf(from)); err != nil {
				t.Fatal(err)
			}
			want[from] = append(want[from], row)
			row++
		}
		if st.Spilled() != (budget > 0) {
			t.Fatalf("budget %d: spilled %v", budget, st.Spilled())
		}
		got := map[string][]int64{}
		eachChange(t, st, func(c mark.Change) { got[c.From] = append(got[c.From], c.Row) })
		st.Close()
		for from, rows := range want {
			if !slices.Equal(got[from], rows) {
				t.Fatalf("budget %d: user %s: rows back %v…, want %v…", budget, from, head(got[from]), head(rows))
			}
		}
	}
}

func head(rows []int64) []int64 { return rows[:min(len(rows), 20)] }

// BenchmarkStoreAdd adds 1M changes of 200,000 users to a store in
// memory; ns/op is per 1M changes.
func BenchmarkStoreAdd(b *testing.B) {
	const n = 1 << 20
	cs := make([]mark.Change, n)
	parts := make([]int, n)
	for i := range cs {
		from := fmt.Sprintf("user%07d", (i*7919)%200000)
		cs[i] = mark.Change{Row: int64(i + 2), From: from, Conv: mark.Conversation{Type: mark.C2C, Peer: fmt.Sprintf("peer%07d", i%50000)}, Set: 3, Opt: mark.OptStandard}
		parts[i] = PartitionOf(from)
	}
	for b.Loop() {
		st := New(0, "")
		for i := range cs {
			if err := st.Add(&cs[i], parts[i]); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
	}
}

// BenchmarkDecoder decodes and groups by user the 256 partitions of 1M
// changes of 200,000 users, as the planners do; ns/op is per 1M changes.
func BenchmarkDecoder(b *testing.B) {
	const n = 1 << 20
	st := New(0, "")
	for i := range n {
		from := fmt.Sprintf("user%07d", (i*7919)%200000)
		c := mark.Change{Row: int64(i + 2), From: from, Conv: mark.Conversation{Type: mark.C2C, Peer: fmt.Sprintf("peer%07d", i%50000)}, Set: 3, Opt: mark.OptStandard}
		if err := st.Add(&c, PartitionOf(from)); err != nil {
			b.Fatal(err)
		}
	}
	var parts [Partitions][][]byte
	var counts [Partitions]int64
	for p := range Partitions {
		var err error
		if parts[p], counts[p], err = st.Take(p); err != nil {
			b.Fatal(err)
		}
	}
	var d Decoder
	rows := 0
	for b.Loop() {
		for p := range Partitions {
			if err := d.Decode(parts[p], counts[p]); err != nil {
				b.Fatal(err)
			}
			d.EachUser(func(cs []mark.Change) { rows += len(cs) })
		}
	}
	if rows%n != 0 {
		b.Fatalf("%d rows grouped, not a multiple of %d", rows, n)
	}
}
