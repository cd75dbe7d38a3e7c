// Compares, on one machine, writing and looking up N conversation keys
// (16-byte key, 8-byte fingerprint) in bbolt and Pebble, the embedded
// stores the incremental state could have used. Keys are written in
// batches as a run confirms items (unsorted), then looked up.
//
// Run: cd scripts/storecmp && go run . 10000000. It is a module of its own so
// that Pebble and bbolt stay out of markimport's go.mod.
//
// The figures (10M keys, write / lookup, bytes on disk per key), which the
// README no longer quotes:
// Pebble v2.1.7, default options, batches of 100,000, synced: 17.2 s (1,720
// ns/key) / 306 s (30,611 ns/key), 21.3 B/key; bbolt v1.4.3, transactions of
// 100,000: 163 s (16,330 ns/key) / 27.6 s (2,757 ns/key), 89.0 B/key. Beside
// them, markimport's own sorted partition files (pipeline/state's benchmark,
// go test -bench Store): with a binary search, before the bucket index, 4.7 s
// (473 ns/key) / 1.9 s (187 ns/key), 24.0 B/key at 10M keys; with the bucket
// index at 100M keys, 73.1 s (731 ns/key) / 23.7 s (237 ns/key), 24.0 B/key
// (447 ns/key with the binary search). That 100M-key write, open (4.6 s to
// check every file's CRC-32) and lookup held 126 MiB of RSS; its lookup figure
// includes the benchmark loop building each key's strings.
//
// Why sorted files of our own: Pebble's lookups would be faster with bloom
// filters and a larger block cache, bbolt's writes with sorted keys; but the
// state's access is already partitioned and sorted by construction (the
// planners take one partition at a time; a run's confirmed items are merged
// into a partition file once, at its end), so sorted files do the job in
// sequential I/O, one file per partition that a planner loads whole (about
// 10 MB at 100M conversations), with a CRC-32 per file, an atomic manifest,
// and no dependency. Pitfall: the comparison is of this access pattern only,
// not of the stores in general.
package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"
)

func keys(n int) [][16]byte {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([][16]byte, n)
	for i := range out {
		binary.BigEndian.PutUint64(out[i][:], r.Uint64())
		binary.BigEndian.PutUint64(out[i][8:], r.Uint64())
	}
	return out
}

func size(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, _ error) error {
		if info != nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	ks := keys(n)
	var fp [8]byte
	// Lookups in the order the planner asks: partition by partition, i.e.
	// random across the key space within each partition; here simply sorted
	// by a hash of the key's prefix, which is random to the store.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return ks[order[a]][15] < ks[order[b]][15] })

	// bbolt
	dir, _ := os.MkdirTemp("", "bolt")
	db, err := bolt.Open(filepath.Join(dir, "db"), 0o600, &bolt.Options{NoSync: false})
	if err != nil {
		panic(err)
	}
	start := time.Now()
	const batch = 100000
	for i := 0; i < n; i += batch {
		err := db.Update(func(tx *bolt.Tx) error {
			b, _ := tx.CreateBucketIfNotExists([]byte("s"))
			for j := i; j < min(n, i+batch); j++ {
				if err := b.Put(ks[j][:], fp[:]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			panic(err)
		}
	}
	w := time.Since(start)
	start = time.Now()
	found := 0
	db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("s"))
		for _, i := range order {
			if b.Get(ks[i][:]) != nil {
				found++
			}
		}
		return nil
	})
	l := time.Since(start)
	db.Close()
	fmt.Printf("bbolt  n=%d write %.1fs (%.0f ns/key) lookup %.1fs (%.0f ns/key) disk %.1f B/key found %d\n", n, w.Seconds(), float64(w.Nanoseconds())/float64(n), l.Seconds(), float64(l.Nanoseconds())/float64(n), float64(size(dir))/float64(n), found)
	os.RemoveAll(dir)

	// Pebble
	dir, _ = os.MkdirTemp("", "pebble")
	pdb, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		panic(err)
	}
	start = time.Now()
	for i := 0; i < n; i += batch {
		bt := pdb.NewBatch()
		for j := i; j < min(n, i+batch); j++ {
			bt.Set(ks[j][:], fp[:], nil)
		}
		if err := bt.Commit(pebble.Sync); err != nil {
			panic(err)
		}
	}
	pdb.Flush()
	w = time.Since(start)
	start = time.Now()
	found = 0
	for _, i := range order {
		v, c, err := pdb.Get(ks[i][:])
		if err == nil {
			_ = v
			c.Close()
			found++
		}
	}
	l = time.Since(start)
	pdb.Close()
	fmt.Printf("pebble n=%d write %.1fs (%.0f ns/key) lookup %.1fs (%.0f ns/key) disk %.1f B/key found %d\n", n, w.Seconds(), float64(w.Nanoseconds())/float64(n), l.Seconds(), float64(l.Nanoseconds())/float64(n), float64(size(dir))/float64(n), found)
	os.RemoveAll(dir)
}
