// Compares, on one machine, writing and looking up N conversation keys
// (16-byte key, 8-byte fingerprint) in bbolt and Pebble, the embedded
// stores the incremental state could have used. Keys are written in
// batches as a run confirms items (unsorted), then looked up.
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
