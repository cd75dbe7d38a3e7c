package pipeline

import (
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
)

// TestPlannedLetsGo: a reset batch keeps no plan of its partition over its
// whole capacity, which would keep that partition's memory alive while the
// batch plans others.
func TestPlannedLetsGo(t *testing.T) {
	var b planned
	for range 20 {
		b.plans = append(b.plans, userPlan{reqs: []mark.Request{{From: "u"}}, rej: []plan.Rejected{{}}})
	}
	b.reset()
	b.plans = append(b.plans, userPlan{reqs: []mark.Request{{From: "v"}}})
	b.reset()
	for i, p := range b.plans[:cap(b.plans)] {
		if p.reqs != nil || p.rej != nil {
			t.Fatalf("plan %d kept after reset: %+v", i, p)
		}
	}
}
