package spill

import (
	"fmt"
	"testing"

	"markimport/pipeline/mark"
)

// drain decodes every partition of st and returns each change's row with
// its user and peer.
func drain(t *testing.T, st *Store) map[string]string {
	t.Helper()
	got := map[string]string{}
	eachChange(t, st, func(c mark.Change) { got[fmt.Sprint(c.Row)] = c.From + "/" + c.Conv.Peer })
	return got
}

// eachChange takes and decodes every partition of st, in order, and calls
// fn with each change, a user's changes after one another as planners get
// them.
func eachChange(t *testing.T, st *Store, fn func(mark.Change)) {
	t.Helper()
	var d Decoder
	for p := range Partitions {
		blocks, n, err := st.Take(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(blocks, n); err != nil {
			t.Fatalf("partition %d: %v", p, err)
		}
		d.EachUser(func(cs []mark.Change) {
			for _, c := range cs {
				fn(c)
			}
		})
	}
}
