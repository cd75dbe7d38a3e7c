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
				got[fmt.Sprint(c.Row)] = c.From + "/" + c.Conv.Peer
			}
		})
	}
	return got
}
