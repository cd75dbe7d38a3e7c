package spill

import (
	"fmt"
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
