package bucket

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
	"markimport/pipeline/state"
)

// night is one run on a state kept in st: pull, open the local copy,
// confirm items, commit, push. It returns how many of items the state
// held unchanged before the run.
func night(t *testing.T, st Store, items map[string]uint64) (unchanged int) {
	t.Helper()
	bs := &State{Ctx: context.Background(), Store: st, Prefix: Object{"b", "state/"}, Local: filepath.Join(t.TempDir(), "state")}
	if _, err := bs.Pull(false); err != nil {
		t.Fatal(err)
	}
	s, err := state.Open(bs.Local, "1400000000", state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for from, set := range items {
		it := &mark.Item{Conv: mark.Conversation{Type: 1, Peer: "p"}, Set: set, Opt: mark.OptStandard}
		pt, err := s.Partition(spill.PartitionOf(from))
		if err != nil {
			t.Fatal(err)
		}
		if pt.Unchanged(from, []mark.Item{*it}, nil)[0] {
			unchanged++
			continue
		}
		s.Confirmed(from, it)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := bs.Push(); err != nil {
		t.Fatal(err)
	}
	return unchanged
}

func users(n int, set uint64) map[string]uint64 {
	m := map[string]uint64{}
	for i := range n {
		m["u"+strconv.Itoa(i)] = set
	}
	return m
}

// TestStateThreeNights: night 2 finds everything unchanged, night 3 only
// what changed; objects are never rewritten, and after each commit only
// the current and previous manifests remain.
func TestStateThreeNights(t *testing.T) {
	st := newMemStore()
	if n := night(t, st, users(300, 1)); n != 0 {
		t.Fatalf("night 1: %d unchanged", n)
	}
	if n := night(t, st, users(300, 1)); n != 300 {
		t.Fatalf("night 2: %d unchanged, want 300", n)
	}
	changed := users(300, 1)
	for i := range 7 {
		changed["u"+strconv.Itoa(i*40)] = 2
	}
	if n := night(t, st, changed); n != 293 {
		t.Fatalf("night 3: %d unchanged, want 293", n)
	}
	if n := night(t, st, changed); n != 300 {
		t.Fatalf("night 4: %d unchanged, want 300", n)
	}
	if n := night(t, st, users(300, 1)); n != 293 {
		t.Fatalf("night 5: %d unchanged, want 293", n)
	}
	puts := map[string]int{}
	for _, c := range st.calls {
		if k, ok := strings.CutPrefix(c, "put "); ok {
			puts[k]++
			if puts[k] > 1 {
				t.Fatalf("%s written twice", k)
			}
		}
	}
	var manifests []string
	for _, k := range st.keys() {
		if seqOf(strings.TrimPrefix(k, "state/")) > 0 {
			manifests = append(manifests, k)
		}
	}
	if len(manifests) != 2 || manifests[1] != "state/manifest-00000003.json" {
		t.Fatalf("manifests after five nights (nights 2 and 4 commit nothing): %v", manifests)
	}
}

// TestStateDamagedRefusedNamingTheObject: a missing or damaged object is
// refused naming it and suggesting --full; --full starts afresh.
func TestStateDamagedRefusedNamingTheObject(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(st *memStore, key string)
		object func(keys []string) string
	}{
		{"missing partition", func(st *memStore, key string) { delete(st.objects, "s3://b/"+key) }, partKey},
		{"damaged partition", func(st *memStore, key string) { st.objects["s3://b/"+key][10] ^= 1 }, partKey},
		{"damaged manifest", func(st *memStore, key string) { st.objects["s3://b/"+key][20] ^= 1 }, func([]string) string { return "state/manifest-00000001.json" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			night(t, st, users(50, 1))
			key := tc.object(st.keys())
			tc.damage(st, key)
			bs := &State{Ctx: context.Background(), Store: st, Prefix: Object{"b", "state/"}, Local: t.TempDir()}
			_, err := bs.Pull(false)
			var de *damagedError
			if !errors.As(err, &de) || de.Object.Key != key || !strings.Contains(err.Error(), "--full") {
				t.Fatalf("err = %v, want one naming %s and --full", err, key)
			}
			notice, err := (&State{Ctx: context.Background(), Store: st, Prefix: Object{"b", "state/"}, Local: t.TempDir()}).Pull(true)
			if err != nil || !strings.Contains(notice, key) {
				t.Fatalf("--full: notice %q, err %v", notice, err)
			}
		})
	}
}

func partKey(keys []string) string {
	for _, k := range keys {
		if strings.HasSuffix(k, ".st") {
			return k
		}
	}
	return ""
}

// TestStateSecondCommitOfTwoRunsRefused: two runs pull the same state;
// the first to commit wins, the second stores nothing and says so, on a
// store without conditional puts too.
func TestStateSecondCommitOfTwoRunsRefused(t *testing.T) {
	for _, cos := range []bool{false, true} {
		t.Run(map[bool]string{false: "s3", true: "cos"}[cos], func(t *testing.T) { secondCommitRefused(t, cos) })
	}
}

func secondCommitRefused(t *testing.T, cos bool) {
	st := newMemStore()
	st.cos = cos
	night(t, st, users(20, 1))
	open := func() (*State, *state.Store) {
		bs := &State{Ctx: context.Background(), Store: st, Prefix: Object{"b", "state/"}, Local: filepath.Join(t.TempDir(), "s")}
		if _, err := bs.Pull(false); err != nil {
			t.Fatal(err)
		}
		s, err := state.Open(bs.Local, "1400000000", state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Confirmed("v", &mark.Item{Conv: mark.Conversation{Type: 1, Peer: "p"}, Set: 4, Opt: mark.OptStandard})
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		return bs, s
	}
	a, sa := open()
	defer sa.Close()
	b, sb := open()
	defer sb.Close()
	if err := a.Push(); err != nil {
		t.Fatal(err)
	}
	before := st.keys()
	if err := b.Push(); !errors.Is(err, errConcurrent) {
		t.Fatalf("second commit: %v, want errConcurrent", err)
	}
	for _, k := range st.keys() {
		if seqOf(strings.TrimPrefix(k, "state/")) > 2 {
			t.Fatalf("the refused run committed %s (before: %v)", k, before)
		}
	}
}
