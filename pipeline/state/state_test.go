package state

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
)

func item(peer string, set uint64, custom string, opt uint8) *mark.Item {
	return &mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: peer}, Set: set, Custom: custom, Opt: opt}
}

func TestFingerprintTellsItemsApart(t *testing.T) {
	base := item("p", 1, "", mark.OptStandard)
	for name, other := range map[string]*mark.Item{
		"another bit":         item("p", 2, "", mark.OptStandard),
		"a clear":             {Conv: base.Conv, Set: 1, Clear: 4, Opt: mark.OptStandard},
		"a custom mark":       item("p", 1, "x", mark.OptStandard|mark.OptCustom),
		"an empty custom set": item("p", 1, "", mark.OptStandard|mark.OptCustom),
	} {
		if Fingerprint(other) == Fingerprint(base) {
			t.Errorf("%s: same fingerprint", name)
		}
	}
	// The custom mark counts only when written.
	if Fingerprint(item("p", 1, "ignored", mark.OptStandard)) != Fingerprint(base) {
		t.Error("an unwritten custom mark changed the fingerprint")
	}
}

// TestStoreRoundTrip: confirmed items are unchanged after Commit, a new
// Open sees them, a changed item is not, another app is refused, and a
// damaged file is an *Error that names it.
func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "1400000001", false, false)
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

	s, err = Open(dir, "1400000001", false, false)
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
		got, err := s.Unchanged(from, it)
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

	if _, err := Open(dir, "1400000002", false, false); err == nil {
		t.Error("a state of another app was opened")
	}
	// Damage one partition file.
	var name string
	entries, _ := filepath.Glob(filepath.Join(dir, "gen-1", "p-*.st"))
	name = entries[0]
	b, _ := os.ReadFile(name)
	b[len(b)-1] ^= 1
	os.WriteFile(name, b, 0o644)
	_, err = Open(dir, "1400000001", false, false)
	var se *Error
	if !errors.As(err, &se) || se.Path != name {
		t.Errorf("a damaged file: %v, want an *Error naming %s", err, name)
	}
}

// TestCommitKilledLeavesOldState: a commit that stops after writing some
// files of the new generation (a crash) leaves the old manifest, and the
// next Open removes the orphans.
func TestCommitKilledLeavesOldState(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "1", false, false)
	s.Confirmed("a", item("p", 1, "", mark.OptStandard))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(filepath.Join(dir, manifestName))
	s, _ = Open(dir, "1", false, false)
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
	s, err := Open(dir, "1", false, false)
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
			entries = append(entries, entry{k1, k2, Fingerprint(it)})
		}
		if n > 2 { // keys at both ends of the space
			entries[0].k1, entries[1].k1 = 0, ^uint64(0)
		}
		slicesSortEntries(entries)
		b := make([]byte, 0, n*EntrySize)
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
	s, err := Open(dir, "1400000001", false, false)
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
	if s, err = Open(dir, "1400000001", false, false); err != nil {
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
					got := pt.Unchanged(from, item("p"+strconv.Itoa(c), uint64(u), "", mark.OptStandard))
					if want := c < 1+u%7; got != want {
						t.Fatalf("round %d, partition %d, %s p%d: unchanged %v, want %v", round, p, from, c, got, want)
					}
				}
			}
			// Another partition's user is not found in this one's memory.
			if q := (p + 1) % spill.Partitions; len(byPart[q]) > 0 {
				from := byPart[q][0]
				u, _ := strconv.Atoi(from[len("user"):])
				if pt.Unchanged(from, item("p0", uint64(u), "", mark.OptStandard)) {
					t.Fatalf("partition %d finds %s of partition %d", p, from, q)
				}
			}
			pt.Release()
		}
	}
}
