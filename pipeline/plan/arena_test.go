package plan

import (
	"fmt"
	"testing"

	"markimport/pipeline/mark"
)

// TestArenaLetsGo: a reset arena keeps nothing from earlier plans over its
// whole capacity, which would keep those plans' partitions alive.
func TestArenaLetsGo(t *testing.T) {
	sl := &Arena{}
	var changes []mark.Change
	for i := range 50 {
		changes = append(changes, mark.Change{Row: int64(i), From: "u", Conv: mark.Conversation{Type: mark.C2C, Peer: fmt.Sprint("p", i)}, Set: 1, Opt: mark.OptStandard})
	}
	// A batch taking more than the next one: what the next leaves
	// unwritten was cleared by the Reset between them.
	sl.PlanUser(changes, 50, nil)
	sl.PlanUser(changes, 50, nil)
	sl.Reset()
	sl.PlanUser(changes, 10, nil) // 40 rejected
	sl.PlanUser(changes[:3], 10, nil)
	sl.Reset()
	for i, it := range sl.items[:cap(sl.items)] {
		if it.Conv.Peer != "" || it.Rows != nil {
			t.Fatalf("arena item %d kept %+v", i, it)
		}
	}
	for i, r := range sl.rejs[:cap(sl.rejs)] {
		if r.From != "" || r.Conv.Peer != "" {
			t.Fatalf("arena rejected row %d kept %+v", i, r)
		}
	}
	for i, r := range sl.reqs[:cap(sl.reqs)] {
		if r.From != "" || r.Items != nil {
			t.Fatalf("arena request %d kept %+v", i, r)
		}
	}
}
