package plan

import (
	"markimport/pipeline/mark"

	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestPlanMerge(t *testing.T) {
	tests := []struct {
		name string
		in   []mark.Change
		want mark.Item
	}{
		{"later set beats earlier clear", []mark.Change{ch(1, "u", "p", 0, 0b11, "", 1), ch(2, "u", "p", 0b01, 0, "", 1)},
			mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Set: 0b01, Clear: 0b10, Opt: 1, Rows: []int64{1, 2}}},
		{"later clear beats earlier set", []mark.Change{ch(1, "u", "p", 0b11, 0, "", 1), ch(2, "u", "p", 0, 0b10, "", 1)},
			mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Set: 0b01, Clear: 0b10, Opt: 1, Rows: []int64{1, 2}}},
		{"last custom wins, opt union", []mark.Change{ch(1, "u", "p", 0, 0, "a", 2), ch(2, "u", "p", 4, 0, "", 1), ch(3, "u", "p", 0, 0, "c", 2)},
			mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Set: 4, Custom: "c", Opt: 3, Rows: []int64{1, 2, 3}}},
		{"empty custom overrides", []mark.Change{ch(1, "u", "p", 0, 0, "a", 2), ch(5, "u", "p", 0, 0, "", 2)},
			mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Custom: "", Opt: 2, Rows: []int64{1, 5}}},
		{"custom-only row keeps earlier bits", []mark.Change{ch(1, "u", "p", 1, 2, "", 1), ch(2, "u", "p", 0, 0, "z", 2)},
			mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Set: 1, Clear: 2, Custom: "z", Opt: 3, Rows: []int64{1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs, rej := Plan(tt.in, nil)
			if len(rej) != 0 || len(reqs) != 1 || len(reqs[0].Items) != 1 {
				t.Fatalf("got %d requests, %d rejected; want one item", len(reqs), len(rej))
			}
			if got := reqs[0].Items[0]; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPlanGroupsAndTypesAreDistinct(t *testing.T) {
	in := []mark.Change{
		{Row: 1, From: "u", Conv: mark.Conversation{Type: mark.C2C, Peer: "x"}, Set: 1, Opt: 1},
		{Row: 2, From: "u", Conv: mark.Conversation{Type: mark.Group, Peer: "x"}, Set: 2, Opt: 1},
		{Row: 3, From: "v", Conv: mark.Conversation{Type: mark.C2C, Peer: "x"}, Set: 4, Opt: 1},
	}
	reqs, _ := Plan(in, nil)
	if len(reqs) != 2 || len(reqs[0].Items) != 2 || reqs[0].From != "u" || reqs[1].From != "v" {
		t.Fatalf("plan: %+v", reqs)
	}
}

func TestPlanConversationLimit(t *testing.T) {
	// 1001 conversations; the 1001st appears first as row 5000 and again later.
	var in []mark.Change
	row := int64(0)
	for i := range 1000 {
		row++
		in = append(in, ch(row, "big", fmt.Sprint("p", i), 1, 0, "", 1))
	}
	in = append(in, ch(5000, "big", "extra", 1, 0, "", 1))
	in = append(in, ch(5001, "big", "p3", 2, 0, "", 1)) // an existing one: merged, not rejected
	in = append(in, ch(5002, "big", "extra", 4, 0, "", 1))
	in = append(in, ch(5003, "small", "extra", 4, 0, "", 1))
	reqs, rej := Plan(in, nil)
	wantRej := []Rejected{{Row: 5000, From: "big", Conv: mark.Conversation{Type: mark.C2C, Peer: "extra"}}, {Row: 5002, From: "big", Conv: mark.Conversation{Type: mark.C2C, Peer: "extra"}}}
	if !reflect.DeepEqual(rej, wantRej) {
		t.Fatalf("rejected %+v, want %+v", rej, wantRej)
	}
	if len(reqs) != 11 {
		t.Fatalf("%d requests, want 10 for big + 1 for small", len(reqs))
	}
	if it := reqs[0].Items[3]; it.Set != 3 || !reflect.DeepEqual(it.Rows, []int64{4, 5001}) {
		t.Fatalf("p3 not merged: %+v", it)
	}
}

// TestPlanLowerBound: on any order of the same rows, the planner sends
// exactly Σ ceil(items/100) requests, each with one user and 1..100 distinct
// conversations, and every valid row lands in exactly one item or rejection.
func TestPlanLowerBound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var in []mark.Change
	convs := map[string]map[string]bool{}
	for row := int64(1); row <= 30000; row++ {
		u := fmt.Sprint("u", r.IntN(300))
		if r.IntN(50) == 0 {
			u = "heavy"
		}
		p := fmt.Sprint("p", r.IntN(1300))
		in = append(in, ch(row, u, p, 1<<r.IntN(64), 0, "", 1))
		if convs[u] == nil {
			convs[u] = map[string]bool{}
		}
		convs[u][p] = true
	}
	want := 0
	for _, cs := range convs {
		n := min(len(cs), mark.MaxConversations)
		want += (n + 99) / 100
	}
	for trial := range 3 {
		r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		reqs, rej := Plan(in, nil)
		if len(reqs) != want {
			t.Fatalf("trial %d: %d requests, lower bound %d", trial, len(reqs), want)
		}
		seen := map[int64]bool{}
		for _, rq := range reqs {
			if len(rq.Items) < 1 || len(rq.Items) > mark.MaxItemsPerRequest {
				t.Fatalf("request with %d items", len(rq.Items))
			}
			peers := map[mark.Conversation]bool{}
			for _, it := range rq.Items {
				if peers[it.Conv] {
					t.Fatalf("conversation %v twice in one request", it.Conv)
				}
				peers[it.Conv] = true
				for _, row := range it.Rows {
					if seen[row] {
						t.Fatalf("row %d twice", row)
					}
					seen[row] = true
				}
			}
		}
		for _, rj := range rej {
			if seen[rj.Row] {
				t.Fatalf("row %d both planned and rejected", rj.Row)
			}
			seen[rj.Row] = true
		}
		if len(seen) != len(in) {
			t.Fatalf("%d rows accounted for, want %d", len(seen), len(in))
		}
	}
}
