package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
)

// TestItemHashTellsItemsApart: items that ask a conversation for
// different things have different item hashes: each bit set or cleared
// (against another bit and against none), a bit set against the same bit
// cleared, the custom mark written or not, "" against no custom mark,
// every one-byte change of a 256-byte custom mark, and the operation type.
// A custom mark the item does not write is not part of it.
func TestItemHashTellsItemsApart(t *testing.T) {
	type pair struct {
		name string
		a, b mark.Item
	}
	var pairs []pair
	std := func(set, clear uint64) mark.Item { return mark.Item{Set: set, Clear: clear, Opt: mark.OptStandard} }
	custom := func(c string) mark.Item { return mark.Item{Custom: c, Opt: mark.OptCustom} }
	for b := range 64 {
		bit := uint64(1) << b
		other := uint64(1) << ((b + 1) % 64)
		pairs = append(pairs,
			pair{fmt.Sprintf("bit %d set, and not", b), std(other|bit, 0), std(other, 0)},
			pair{fmt.Sprintf("bit %d set alone, and bit %d", b, (b+1)%64), std(bit, 0), std(other, 0)},
			pair{fmt.Sprintf("bit %d cleared, and not", b), std(0, other|bit), std(0, other)},
			pair{fmt.Sprintf("bit %d cleared alone, and bit %d", b, (b+1)%64), std(0, bit), std(0, other)},
			pair{fmt.Sprintf("bit %d set, and the same bit cleared", b), std(bit, 0), std(0, bit)},
			pair{fmt.Sprintf("bit %d set beside a clear, and cleared beside the set", b), std(bit, other), std(other, bit)},
		)
	}
	long := strings.Repeat("m", mark.MaxCustomMarkBytes)
	for i := range len(long) {
		changed := long[:i] + "n" + long[i+1:]
		pairs = append(pairs, pair{fmt.Sprintf("custom mark byte %d", i+1), custom(long), custom(changed)})
	}
	both := func(set uint64, c string) mark.Item { return mark.Item{Set: set, Custom: c, Opt: mark.OptBoth} }
	pairs = append(pairs,
		pair{"custom mark written, and not", both(1, "x"), std(1, 0)},
		pair{`custom mark "" written, and none`, both(1, ""), std(1, 0)},
		pair{`custom mark "", and "x"`, custom(""), custom("x")},
		pair{"custom mark one byte longer", custom("ab"), custom("abc")},
		pair{"custom mark alone, and with the standard marks (opt type 2, 3)", custom("x"), both(0, "x")},
		pair{"standard marks alone, and with the custom mark (opt type 1, 3)", std(1, 0), mark.Item{Set: 1, Opt: mark.OptBoth}},
	)
	for _, p := range pairs {
		if itemHash(&p.a) == itemHash(&p.b) {
			t.Errorf("%s: the same item hash", p.name)
		}
	}
	// The custom mark counts only when written.
	a, b := std(1, 0), std(1, 0)
	b.Custom = "not written"
	if itemHash(&a) != itemHash(&b) {
		t.Error("a custom mark the item does not write changed the item hash")
	}
	// Nor do the conversation and the rows: they are the key's, or none.
	b = a
	b.Conv, b.Rows = mark.Conversation{Type: mark.Group, Peer: "g"}, []int64{7}
	if itemHash(&a) != itemHash(&b) {
		t.Error("the conversation or the rows changed the item hash")
	}
}

// TestKeyTellsConversationsApart: the key of a conversation differs for
// another type with the same peer, and for the same bytes split otherwise
// between from_account and peer, in both of its halves.
func TestKeyTellsConversationsApart(t *testing.T) {
	type conv struct {
		from string
		c    mark.Conversation
	}
	c2c := func(from, peer string) conv { return conv{from, mark.Conversation{Type: mark.C2C, Peer: peer}} }
	group := func(from, peer string) conv { return conv{from, mark.Conversation{Type: mark.Group, Peer: peer}} }
	for _, p := range []struct {
		name string
		a, b conv
	}{
		{"c2c and group of one peer", c2c("u", "p"), group("u", "p")},
		{"from ab, peer c and from a, peer bc", c2c("ab", "c"), c2c("a", "bc")},
		{"from a, peer bc and from ab, peer c (group)", group("a", "bc"), group("ab", "c")},
		{"separator-like bytes", c2c("a\x00\x01", "b"), c2c("a", "\x00\x01b")},
		{"the type's byte in a name", c2c("a\x01", "b"), c2c("a", "\x01b")},
		{"peer and from swapped", c2c("a", "b"), c2c("b", "a")},
		{"empty from", c2c("", "ab"), c2c("a", "b")},
	} {
		a1, a2 := keyOf(p.a.from, p.a.c)
		b1, b2 := keyOf(p.b.from, p.b.c)
		if a1 == b1 || a2 == b2 {
			t.Errorf("%s: keys %x/%x and %x/%x share a half", p.name, a1, a2, b1, b2)
		}
	}
}

// TestStoreRoundTrip: confirmed items are unchanged after Commit, a new
// Open sees them, a changed item is not, another app is refused, and a
// damaged file is an *stateError that names it.
func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "1400000001", Options{})
	if err != nil {
		t.Fatal(err)
	}
	users := 2000
	for u := range users {
		s.Confirmed("user"+strconv.Itoa(u), item("p", uint64(u), "", mark.OptStandard))
		s.Confirmed("user"+strconv.Itoa(u), item("q", 1, "c", mark.OptCustom))
	}
	// A later confirmation of the same conversation wins.
	s.Confirmed("user0", item("p", 99, "", mark.OptStandard))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(dir, "1400000001", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Entries() != int64(2*users) {
		t.Errorf("%d entries, want %d", s.Entries(), 2*users)
	}
	// Look up partition by partition, as the planner does: sort users by
	// partition first.
	check := func(from string, it *mark.Item, want bool) {
		t.Helper()
		got, err := s.unchanged(from, it)
		if err != nil || got != want {
			t.Errorf("%s %v: unchanged %v (%v), want %v", from, it, got, err, want)
		}
	}
	check("user0", item("p", 99, "", mark.OptStandard), true)
	check("user0", item("p", 0, "", mark.OptStandard), false)
	check("user5", item("p", 5, "", mark.OptStandard), true)
	check("user5", item("q", 1, "c", mark.OptCustom), true)
	check("user5", item("q", 1, "d", mark.OptCustom), false)
	check("nobody", item("p", 1, "", mark.OptStandard), false)
	s.Close()

	if _, err := Open(dir, "1400000002", Options{}); err == nil {
		t.Error("a state of another app was opened")
	}
	// Damage one partition file.
	var name string
	entries, _ := filepath.Glob(filepath.Join(dir, "gen-1", "p-*.st"))
	name = entries[0]
	b, _ := os.ReadFile(name)
	b[len(b)-1] ^= 1
	os.WriteFile(name, b, 0o644)
	_, err = Open(dir, "1400000001", Options{})
	var se *stateError
	if !errors.As(err, &se) || se.Path != name {
		t.Errorf("a damaged file: %v, want an *stateError naming %s", err, name)
	}
}

// TestCommitKilledLeavesOldState: a commit that stops after writing some
// files of the new generation (a crash) leaves the old manifest, and the
// next Open removes the orphans.
func TestCommitKilledLeavesOldState(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "1", Options{})
	s.Confirmed("a", item("p", 1, "", mark.OptStandard))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(filepath.Join(dir, manifestName))
	s, _ = Open(dir, "1", Options{})
	for u := range 500 {
		s.Confirmed("u"+strconv.Itoa(u), item("p", 2, "", mark.OptStandard))
	}
	stop := errors.New("crash")
	crashHook = func(written int) {
		if written == 3 {
			panic(stop)
		}
	}
	func() {
		defer func() { recover() }()
		s.Commit()
	}()
	crashHook = nil
	s.Close()
	after, _ := os.ReadFile(filepath.Join(dir, manifestName))
	if string(after) != string(before) {
		t.Fatal("the manifest changed though the commit did not finish")
	}
	s, err := Open(dir, "1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, "gen-2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unfinished generation was left: %v", err)
	}
	if s.Entries() != 1 {
		t.Errorf("%d entries, want the old 1", s.Entries())
	}
}

// TestPartFindsExactlyItsEntries: the bucket index finds every entry and
// nothing else, for partitions of every size, keys at both ends included.
func TestPartFindsExactlyItsEntries(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 17, 1000, 40000} {
		var entries []entry
		for i := range n {
			it := item("p"+strconv.Itoa(i), uint64(i), "", mark.OptStandard)
			k1, k2 := keyOf("u", it.Conv)
			entries = append(entries, entry{k1, k2, itemHash(it)})
		}
		if n > 2 { // keys at both ends of the space
			entries[0].k1, entries[1].k1 = 0, ^uint64(0)
		}
		slicesSortEntries(entries)
		b := make([]byte, 0, n*entrySize)
		for _, e := range entries {
			b = append(b, be(e.k1)...)
			b = append(b, be(e.k2)...)
			b = append(b, be(e.fp)...)
		}
		pt := newPart(b)
		for _, e := range entries {
			if !pt.has(e.k1, e.k2, e.fp) {
				t.Fatalf("n=%d: entry %x/%x not found", n, e.k1, e.k2)
			}
			if pt.has(e.k1, e.k2+1, e.fp) || pt.has(e.k1+1, e.k2, e.fp) || pt.has(e.k1, e.k2, e.fp+1) {
				t.Fatalf("n=%d: a neighbour of %x/%x found", n, e.k1, e.k2)
			}
		}
	}
}

// TestReleasedPartsServeTheNext: partitions loaded one after another, each
// into the memory the one before released (files of several sizes), find
// exactly their own entries.
func TestReleasedPartsServeTheNext(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "1400000001", Options{})
	if err != nil {
		t.Fatal(err)
	}
	byPart := map[int][]string{}
	for u := range 3000 {
		from := "user" + strconv.Itoa(u)
		p := spill.PartitionOf(from)
		byPart[p] = append(byPart[p], from)
		for c := range 1 + u%7 {
			s.Confirmed(from, item("p"+strconv.Itoa(c), uint64(u), "", mark.OptStandard))
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir, "1400000001", Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := range 2 {
		for p := range spill.Partitions {
			pt, err := s.Partition(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, from := range byPart[p] {
				u, _ := strconv.Atoi(from[len("user"):])
				for c := range 8 {
					got := pt.unchanged(from, item("p"+strconv.Itoa(c), uint64(u), "", mark.OptStandard))
					if want := c < 1+u%7; got != want {
						t.Fatalf("round %d, partition %d, %s p%d: unchanged %v, want %v", round, p, from, c, got, want)
					}
				}
			}
			// Another partition's user is not found in this one's memory.
			if q := (p + 1) % spill.Partitions; len(byPart[q]) > 0 {
				from := byPart[q][0]
				u, _ := strconv.Atoi(from[len("user"):])
				if pt.unchanged(from, item("p0", uint64(u), "", mark.OptStandard)) {
					t.Fatalf("partition %d finds %s of partition %d", p, from, q)
				}
			}
			pt.Release()
		}
	}
}

// TestUnchangedInBatches: a user's items looked up together, across the
// batches they are hashed in, get each its own answer, in their order:
// confirmed ones unchanged, the others (a new peer, a changed bit, a
// custom mark, the other type) not.
func TestUnchangedInBatches(t *testing.T) {
	s, err := Open(t.TempDir(), "1400000001", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const from = "user-batches"
	for c := range 200 {
		if c%3 != 0 {
			s.Confirmed(from, item("p"+strconv.Itoa(c), uint64(c), "", mark.OptStandard))
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	pt, err := s.Partition(spill.PartitionOf(from))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 31, 32, 33, 64, 65, 200} {
		var items []mark.Item
		var want []bool
		for c := range n {
			it := *item("p"+strconv.Itoa(c), uint64(c), "", mark.OptStandard)
			switch c % 7 {
			case 1:
				it.Set++
			case 2:
				it.Opt |= mark.OptCustom
			case 3:
				it.Conv.Type = mark.Group
			}
			items = append(items, it)
			want = append(want, c%3 != 0 && (c%7 == 0 || c%7 > 3))
		}
		prefix := []bool{true, false}
		got := pt.Unchanged(from, items, prefix)
		if !slices.Equal(got[:2], prefix) || !slices.Equal(got[2:], want) {
			t.Errorf("%d items: unchanged %v, want %v after the prefix kept", n, got, want)
		}
	}
}
