package plan

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"markimport/pipeline/mark"
)

// benchUsers is the changes of users shaped as make bench's file: most
// with about ten rows over a few conversations, some with many (an index
// is built), a few beyond the conversation limit.
func benchUsers() [][]mark.Change {
	rng := rand.New(rand.NewPCG(1, 2))
	var users [][]mark.Change
	row := int64(1)
	for u := range 2000 {
		n := 1 + rng.IntN(20)
		peers := 1 + n/2
		switch {
		case u%100 == 0:
			n, peers = 400, 300
		case u%1000 == 1:
			n, peers = 3000, 1500
		}
		from := fmt.Sprintf("user%d", u)
		cs := make([]mark.Change, n)
		for i := range cs {
			cs[i] = ch(row, from, fmt.Sprintf("peer%d", rng.IntN(peers)), uint64(1)<<rng.IntN(4), 0, "", mark.OptStandard)
			row++
		}
		users = append(users, cs)
	}
	return users
}

// BenchmarkPlanUser plans every user of benchUsers into a reused arena,
// as a dry run does; ns/op is per user.
func BenchmarkPlanUser(b *testing.B) {
	users := benchUsers()
	var a Arena
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%len(users) == 0 {
			a.Reset()
		}
		a.PlanUser(users[i%len(users)], mark.MaxConversations, nil)
	}
}
