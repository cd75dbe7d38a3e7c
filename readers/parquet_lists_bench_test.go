package readers

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// BenchmarkParquetReadLists reads a file that is mostly list columns
// (set_mark of 0 to 4 elements, clear_mark of 0 to 2, some null), to
// compare the reader's own list decoding with pqarrow's.
func BenchmarkParquetReadLists(b *testing.B) {
	const rows = 200_000
	from := make([]any, rows)
	set := make([]any, rows)
	clear := make([]any, rows)
	for i := range rows {
		from[i] = fmt.Sprintf("user%07d", i/3)
		l := make([]any, i%5)
		for j := range l {
			l[j] = (i + j*7) % 64
		}
		set[i] = l
		switch i % 3 {
		case 0:
			clear[i] = []any{}
		case 1:
			clear[i] = []any{i % 64, (i + 1) % 64}
		}
	}
	path := filepath.Join(b.TempDir(), "lists.parquet")
	writeParquet(b, path, []pqColumn{
		{name: "from_account", typ: arrow.BinaryTypes.String, vals: from},
		{name: "set_mark", typ: arrow.ListOf(arrow.PrimitiveTypes.Int32), vals: set},
		{name: "clear_mark", typ: arrow.ListOf(arrow.PrimitiveTypes.Int64), vals: clear},
	}, pqWrite{codec: compress.Codecs.Snappy, rowGroupLen: 64 * 1024, dictionary: true})
	b.ReportAllocs()
	for b.Loop() {
		r, err := openParquet(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
		if n != rows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
