package state

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
)

// BenchmarkStore writes the state of MARKIMPORT_BENCH_KEYS conversations
// (default 1,000,000; make bench-state runs 100,000,000), 10 a user, then
// opens it again and looks every one up, partition by partition as the
// planners do. It reports the seconds of each phase, per key, and the
// bytes on disk.
func BenchmarkStore(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("MARKIMPORT_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		dir := b.TempDir()
		s, err := Open(dir, "1", Options{})
		if err != nil {
			b.Fatal(err)
		}
		users := n / 10
		it := &mark.Item{Opt: mark.OptStandard}
		start := time.Now()
		for u := range users {
			from := "user" + strconv.Itoa(u)
			for c := range 10 {
				it.Conv = mark.Conversation{Type: mark.C2C, Peer: "peer" + strconv.Itoa(c)}
				it.Set = uint64(u + c)
				s.Confirmed(from, it)
			}
		}
		if err := s.Commit(); err != nil {
			b.Fatal(err)
		}
		write := time.Since(start)
		s.Close()
		var size int64
		filepath.Walk(dir, func(_ string, info os.FileInfo, _ error) error {
			if info != nil && !info.IsDir() {
				size += info.Size()
			}
			return nil
		})

		start = time.Now()
		s, err = Open(dir, "1", Options{})
		if err != nil {
			b.Fatal(err)
		}
		open := time.Since(start)
		// Users by partition, as the planners take them.
		byPart := make([][]int32, spill.Partitions)
		for u := range users {
			p := spill.PartitionOf("user" + strconv.Itoa(u))
			byPart[p] = append(byPart[p], int32(u))
		}
		start = time.Now()
		found := 0
		var items []mark.Item
		var same []bool
		parts := make([]int, 0, spill.Partitions)
		for p := range byPart {
			parts = append(parts, p)
		}
		sort.Ints(parts)
		for _, p := range parts {
			part, err := s.Partition(p)
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range byPart[p] {
				from := "user" + strconv.Itoa(int(u))
				items = items[:0]
				for c := range 10 {
					it.Conv = mark.Conversation{Type: mark.C2C, Peer: "peer" + strconv.Itoa(c)}
					it.Set = uint64(int(u) + c)
					items = append(items, *it)
				}
				for _, same := range part.Unchanged(from, items, same[:0]) {
					if same {
						found++
					}
				}
			}
		}
		lookup := time.Since(start)
		s.Close()
		if found != users*10 {
			b.Fatalf("found %d of %d", found, users*10)
		}
		b.ReportMetric(write.Seconds(), "write-s")
		b.ReportMetric(float64(write.Nanoseconds())/float64(n), "write-ns/key")
		b.ReportMetric(open.Seconds(), "open-check-s")
		b.ReportMetric(lookup.Seconds(), "lookup-s")
		b.ReportMetric(float64(lookup.Nanoseconds())/float64(n), "lookup-ns/key")
		b.ReportMetric(float64(size)/float64(n), "disk-B/key")
	}
}

// BenchmarkLookupOrMerge weighs the bucket index against a merge of
// sorted streams, on one partition of a 20M-conversation state (80,000
// entries; MARKIMPORT_BENCH_PART sets another size, 400,000 for a 100M
// state): "hash" is the keys and item hashes of the planned items alone,
// which both need (each user's key taken once, as Unchanged takes it);
// "lookup" adds a lookup of each; "sort" adds what a merge would need
// first, the planned items sorted by key (they come by user, and a key
// mixes the user with the conversation); "radix" the cheapest such order,
// a counting sort into the index's own buckets, then the state read in
// order. A merge pays off only if "sort" or "radix" costs less than
// "lookup".
func BenchmarkLookupOrMerge(b *testing.B) {
	n := 80_000
	if v, err := strconv.Atoi(os.Getenv("MARKIMPORT_BENCH_PART")); err == nil && v > 0 {
		n = v
	}
	if n%10 != 0 {
		b.Fatalf("MARKIMPORT_BENCH_PART=%d: the users have ten items each, so it must be a multiple of 10", n)
	}
	froms := make([]string, n)
	items := make([]mark.Item, n)
	es := make([]entry, n)
	for i := range n {
		froms[i] = "user" + strconv.Itoa(i/10)
		items[i] = mark.Item{Opt: mark.OptStandard, Conv: mark.Conversation{Type: mark.C2C, Peer: "peer" + strconv.Itoa(i%10)}, Set: uint64(i)}
		k1, k2 := keyOf(froms[i], items[i].Conv)
		es[i] = entry{k1, k2, itemHash(&items[i])}
	}
	pt := newPart(encodePart(slices.SortedFunc(slices.Values(es), entry.less))[len(fileMagic):])
	// Every seventh item changed since the state was written: both ways
	// must find it changed, and the others unchanged, each at its place.
	for i := 0; i < n; i += 7 {
		items[i].Set |= 1 << 40
	}
	check := func(b *testing.B, i int, same bool) {
		if same != (i%7 != 0) {
			b.Fatalf("item %d found unchanged=%v", i, same)
		}
	}
	perItem := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
	}
	// hashAll sets es to the planned items' keys and item hashes, each
	// user's key taken once for its ten items, as Unchanged takes it.
	hashAll := func() {
		var u userKey
		for i := range froms {
			if i%10 == 0 {
				u = userKeyOf(froms[i])
			}
			k1, k2 := u.of(items[i].Conv)
			es[i] = entry{k1, k2, itemHash(&items[i])}
		}
	}
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			hashAll()
		}
		perItem(b)
	})
	b.Run("lookup", func(b *testing.B) {
		same := make([]bool, 0, n)
		for b.Loop() {
			// A user's ten items at a time, as the planners look them up.
			same = same[:0]
			for i := 0; i < n; i += 10 {
				same = pt.Unchanged(froms[i], items[i:i+10], same)
			}
		}
		for i, ok := range same {
			check(b, i, ok)
		}
		perItem(b)
	})
	b.Run("sort", func(b *testing.B) {
		for b.Loop() {
			hashAll()
			slices.SortFunc(es, entry.less)
		}
		perItem(b)
	})
	// The cheapest order a merge could take: the keys placed by a
	// counting sort into the index's own buckets (about four entries of
	// the state each, so that a bucket needs no further sorting to be
	// merged), then the buckets taken in order, each item compared with
	// its bucket's entries: the state is read in order, a bucket at a
	// time. It still pays the hashing, and the counting and placing,
	// before the first comparison.
	b.Run("radix", func(b *testing.B) {
		buckets := len(pt.idx) - 1
		count := make([]uint32, buckets+1)
		type placed struct {
			e entry
			i uint32 // the item's place in the input, for its answer
		}
		sorted := make([]placed, n)
		same := make([]bool, n)
		for b.Loop() {
			clear(count)
			hashAll()
			for _, e := range es {
				count[(e.k1>>pt.shift)+1]++
			}
			for k := 1; k <= buckets; k++ {
				count[k] += count[k-1]
			}
			for i, e := range es {
				k := e.k1 >> pt.shift
				sorted[count[k]] = placed{e, uint32(i)}
				count[k]++
			}
			// count[k] is now where bucket k+1 starts.
			from := uint32(0)
			for k := range buckets {
				for _, p := range sorted[from:count[k]] {
					fp, ok := pt.lookup(p.e.k1, p.e.k2)
					same[p.i] = ok && fp == p.e.fp
				}
				from = count[k]
			}
		}
		for i, ok := range same {
			check(b, i, ok)
		}
		perItem(b)
	})
}
