package readers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// genLists makes n list rows a layout can hold: null and empty lists,
// null elements, and long lists at a few rows (longer than
// keepListElements, longer than a level chunk and than a page, and one
// whose text is longer than keepBytes).
func genLists(rnd *rand.Rand, n int, lay listLayout, et elemType) [][]*int64 {
	rows := make([][]*int64, n)
	long := map[int]int{3: 129, 100: 20_000, parquetBatchRows - 1: 300, parquetBatchRows: 128, 2*parquetBatchRows + 5: 9000}
	for i := range rows {
		k := rnd.IntN(6)
		switch r := rnd.IntN(10); {
		case r == 0 && lay.nullList >= 0:
			continue // a null list
		case r <= 1:
			k = 0
		}
		if l, ok := long[i]; ok {
			k = l
		}
		row := make([]*int64, k)
		for j := range row {
			if lay.nullElem >= 0 && rnd.IntN(8) == 0 {
				continue
			}
			v := et.value(rnd.Uint64())
			row[j] = &v
		}
		if i == 7 {
			// 100 long values: text beyond keepBytes (for the wide types).
			row = row[:0]
			for j := range 100 {
				v := et.value(1<<63 | 1<<31 | 1<<15 | 1<<7 | uint64(j))
				row = append(row, &v)
			}
		}
		rows[i] = row
	}
	return rows
}

// Lists of every layout and integer type read as the CSV form of their
// elements, in step with the other columns across pages, level chunks,
// batches and row groups, with long lists cut; and exactly as pqarrow reads
// them (which the reader used before).
func TestParquetListLayouts(t *testing.T) {
	type combo struct {
		lay listLayout
		et  elemType
	}
	var combos []combo
	for _, lay := range listLayouts {
		combos = append(combos, combo{lay, elemTypes[0]})
	}
	for _, et := range elemTypes[1:] {
		combos = append(combos, combo{listLayouts[0], et})
	}
	combos = append(combos, combo{listLayouts[3], elemTypes[7]}, combo{listLayouts[2], elemTypes[4]})
	clearLay, clearType := listLayouts[4], elemTypes[1]
	const n = 2*parquetBatchRows + 777
	for ci, c := range combos {
		t.Run(c.lay.name+"/"+c.et.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(uint64(ci), 7))
			set := genLists(rnd, n, c.lay, c.et)
			clear := genLists(rnd, n, clearLay, clearType)
			path := filepath.Join(t.TempDir(), "lists.parquet")
			props := []parquet.WriterProperty{parquet.WithDataPageSize(4096), parquet.WithDictionaryDefault(ci%2 == 0)}
			if ci%3 == 1 {
				props = append(props, parquet.WithDataPageVersion(parquet.DataPageV2))
			}
			writeLowLevel(t, path, n, 10007, []lowColumn{
				stringColumn("from_account", func(i int) string { return fmt.Sprintf("u%d", i) }),
				listColumn("set_mark", c.lay, c.et, set),
				listColumn("clear_mark", clearLay, clearType, clear),
			}, props...)
			got := readAll(t, path, Options{})
			if len(got) != n {
				t.Fatalf("got %d records, want %d", len(got), n)
			}
			for i, rec := range got {
				want := Record{Row: int64(i + 1)}
				want.Fields[FromAccount] = fmt.Sprintf("u%d", i)
				var setCut, clearCut cellCut
				want.Fields[SetMark], setCut = wantListText(set[i], c.et.show)
				want.Fields[ClearMark], clearCut = wantListText(clear[i], clearType.show)
				switch {
				case setCut != (cellCut{}):
					want.Problem, want.ProblemColumn = setCut.problem([]byte(want.Fields[SetMark])), "set_mark"
				case clearCut != (cellCut{}):
					want.Problem, want.ProblemColumn = clearCut.problem([]byte(want.Fields[ClearMark])), "clear_mark"
				}
				if rec != want {
					t.Fatalf("record %d:\n got %s\nwant %s", i+1, fmtRecord(rec), fmtRecord(want))
				}
			}
			// pqarrow, which read lists before, renders the same text.
			for i, s := range pqarrowTexts(t, path, "set_mark") {
				if s != got[i].Fields[SetMark] {
					t.Fatalf("row %d: pqarrow reads %q, the reader %q", i+1, s, got[i].Fields[SetMark])
				}
			}
		})
	}
}

// The cut of a long list: its first keepListElements elements, as the start
// of its text (no closing bracket), and a Problem naming the column and the
// real count.
func TestParquetListTooManyElements(t *testing.T) {
	rows := [][]*int64{nil, make([]*int64, 1000), {}}
	for j := range rows[1] {
		v := int64(j % 64)
		rows[1][j] = &v
	}
	path := filepath.Join(t.TempDir(), "long.parquet")
	writeLowLevel(t, path, len(rows), 100, []lowColumn{
		stringColumn("from_account", func(i int) string { return fmt.Sprint("u", i) }),
		listColumn("clear_mark", listLayouts[0], elemTypes[0], rows),
	})
	got := readAll(t, path, Options{})
	var elems []string
	for j := range keepListElements {
		elems = append(elems, fmt.Sprint(j%64))
	}
	want := []Record{
		{Row: 1, Fields: [NumFields]string{FromAccount: "u0"}},
		{Row: 2, Fields: [NumFields]string{FromAccount: "u1", ClearMark: "[" + strings.Join(elems, ",")},
			Problem: "a list of 1000 elements; a list of mark bits has at most 64", ProblemColumn: "clear_mark"},
		{Row: 3, Fields: [NumFields]string{FromAccount: "u2", ClearMark: "[]"}},
	}
	diffRecords(t, got, want)
}

// pqarrowTexts reads column name of path with pqarrow and renders it with
// newCellWriter, as the reader did before it read lists itself.
func pqarrowTexts(t *testing.T, path, name string) []string {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %s", name)
	}
	var out []string
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		w, err := newCellWriter(chunk)
		if err != nil {
			t.Fatal(err)
		}
		for i := range chunk.Len() {
			b, _ := w(nil, i)
			out = append(out, string(b))
		}
	}
	return out
}

// hugeListElements is the length of the one list of
// TestParquetHugeListBoundedMemory; the race detector makes decoding about
// ten times slower, so it reads a shorter one.
func hugeListElements() int {
	if raceEnabled {
		return 20_000_000
	}
	return 60_000_000
}

// A file whose first row's set_mark has 60 million elements (55 MB:
// DELTA_BINARY_PACKED values and RLE levels) is read in bounded memory:
// pqarrow materialised the whole row, 1.4 GiB of heap.
func TestParquetHugeListBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a list of tens of millions of elements")
	}
	n := hugeListElements()
	path := filepath.Join(t.TempDir(), "huge.parquet")
	start := time.Now()
	writeLowLevel(t, path, 2, 2, []lowColumn{
		stringColumn("from_account", func(i int) string { return fmt.Sprint("u", i) }),
		hugeListColumn("set_mark", n),
	}, parquet.WithDictionaryDefault(false), parquet.WithEncodingFor("set_mark.list.element", parquet.Encodings.DeltaBinaryPacked))
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d elements in %d bytes in %v", n, st.Size(), time.Since(start).Round(time.Millisecond))

	start = time.Now()
	var got []Record
	peak, total := measureHeap(func() {
		r, err := Open(path, Options{})
		if err != nil {
			t.Error(err)
			return
		}
		defer r.Close()
		got = drain(t, r)
	})
	elapsed := time.Since(start)
	t.Logf("read in %v: peak heap in use %.1f MiB above the start, %.1f MiB allocated in all", elapsed.Round(time.Millisecond), mib(peak), mib(total))
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2", len(got))
	}
	rec := got[0]
	if rec.Problem != tooManyElements(int64(n)) || rec.ProblemColumn != "set_mark" {
		t.Errorf("problem %q in %q; want %q in set_mark", rec.Problem, rec.ProblemColumn, tooManyElements(int64(n)))
	}
	if !strings.HasPrefix(rec.Fields[SetMark], "[0,1,2,3,") || strings.Count(rec.Fields[SetMark], ",") != keepListElements-1 {
		t.Errorf("set_mark = %s (%d bytes); want the first %d elements", Quote(rec.Fields[SetMark]), len(rec.Fields[SetMark]), keepListElements)
	}
	if got[1].Fields[SetMark] != "[5]" || got[1].Fields[FromAccount] != "u1" || got[1].Problem != "" {
		t.Errorf("second record %s", fmtRecord(got[1]))
	}
	if peak > 100<<20 {
		t.Errorf("reading took %.1f MiB of heap; want under 100 MiB", mib(peak))
	}
	if elapsed > 60*time.Second {
		t.Errorf("reading took %v", elapsed)
	}
}

// hugeListColumn is a 3-level list column of two rows: n elements 0, 1, …
// (mod 64), then [5]. It is written a million levels at a time, so writing
// it does not hold the list either.
func hugeListColumn(name string, n int) lowColumn {
	lay, et := listLayouts[0], elemTypes[0]
	return lowColumn{
		node: lay.node(name, et.node("element", lay.elemRep)),
		write: func(cw file.ColumnChunkWriter, from, to int) error {
			w := cw.(*file.Int32ColumnChunkWriter)
			const chunk = 1 << 20
			defs := make([]int16, chunk)
			reps := make([]int16, chunk)
			vals := make([]int32, chunk)
			for i := range chunk {
				defs[i], reps[i], vals[i] = lay.value, 1, int32(i%64)
			}
			for done := 0; done < n; done += chunk {
				m := min(chunk, n-done)
				reps[0] = 1
				if done == 0 {
					reps[0] = 0
				}
				if _, err := w.WriteBatch(vals[:m], defs[:m], reps[:m]); err != nil {
					return err
				}
			}
			_, err := w.WriteBatch([]int32{5}, []int16{lay.value}, []int16{0})
			return err
		},
	}
}

// measureHeap runs f and returns the peak of the heap in use above what it
// was before (sampled every millisecond), and the bytes allocated.
func measureHeap(f func()) (peak, total uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, alloc0 := ms.HeapInuse, ms.TotalAlloc
	var max atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var s runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&s)
				if s.HeapInuse > base && s.HeapInuse-base > max.Load() {
					max.Store(s.HeapInuse - base)
				}
			}
		}
	}()
	f()
	close(done)
	<-sampled
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > base && ms.HeapInuse-base > max.Load() {
		max.Store(ms.HeapInuse - base)
	}
	return max.Load(), ms.TotalAlloc - alloc0
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// A list page that decodes to fewer values than its definition levels say
// (a DELTA_BINARY_PACKED header whose value count was damaged to 0, which
// arrow-go decodes as no values without an error) is an *InputError, not a
// list of made-up elements.
func TestParquetListShortPage(t *testing.T) {
	rows := make([][]*int64, 50)
	for i := range rows {
		v1, v2 := int64(i%64), int64(1)
		rows[i] = []*int64{&v1, &v2}
	}
	path := filepath.Join(t.TempDir(), "short.parquet")
	writeLowLevel(t, path, len(rows), 100, []lowColumn{
		stringColumn("from_account", func(i int) string { return fmt.Sprint("u", i) }),
		listColumn("set_mark", listLayouts[1], elemTypes[0], rows),
	}, parquet.WithDictionaryDefault(false), parquet.WithEncodingFor("set_mark.list.element", parquet.Encodings.DeltaBinaryPacked))
	// The delta header: block size 128, 4 miniblocks, 100 values, first
	// value 0 (zigzag 0).
	damageOnce(t, path, []byte{0x80, 0x01, 0x04, 100, 0x00}, 3, 0)
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		_, err := r.Next()
		if err == io.EOF {
			t.Fatal("read to the end; want an error")
		}
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), "set_mark") || !strings.Contains(err.Error(), "fewer values") || !strings.Contains(err.Error(), "row group 1 of 1") {
				t.Fatalf("err = %v; want an *InputError about set_mark's page decoding to fewer values", err)
			}
			return
		}
	}
}

// damageOnce finds the one occurrence of pattern in the file and sets its
// byte at offset to b.
func damageOnce(t *testing.T, path string, pattern []byte, offset int, b byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), string(pattern))
	if i < 0 || strings.Count(string(data), string(pattern)) != 1 {
		t.Fatalf("pattern % x occurs %d times in the file; want once", pattern, strings.Count(string(data), string(pattern)))
	}
	data[i+offset] = b
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
