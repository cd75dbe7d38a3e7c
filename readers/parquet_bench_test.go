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

// benchRows is the size of the file BenchmarkParquetRead reads.
const benchRows = 200_000

// writeBenchFile writes n rows of 8 columns, as an export of a real
// migration would look: typed columns, snappy, row groups of 64k rows.
func writeBenchFile(b *testing.B, path string, n int, asTypes bool) {
	b.Helper()
	cols := make([][]any, NumFields)
	for f := range cols {
		cols[f] = make([]any, n)
	}
	for i := range n {
		cols[FromAccount][i] = fmt.Sprintf("user%07d", i/37)
		if i%5 == 4 {
			cols[Type][i], cols[ToGroupID][i] = 2, fmt.Sprintf("@TGS#group%05d", i%20011)
		} else {
			cols[Type][i], cols[ToAccount][i] = 1, fmt.Sprintf("peer%07d", i*7%1000003)
		}
		cols[SetMark][i] = []any{i % 64, (i + 9) % 64}
		cols[ClearMark][i] = []any{}
		if i%3 == 0 {
			cols[CustomMark][i] = fmt.Sprintf("custom mark %d, 标记", i)
		}
		cols[OptType][i] = 3
		if !asTypes {
			for f := range cols {
				if cols[f][i] != nil {
					cols[f][i] = renderText(cols[f][i])
				}
			}
		}
	}
	types := typed(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32, arrow.ListOf(arrow.PrimitiveTypes.Int32), arrow.PrimitiveTypes.Int32)
	if !asTypes {
		types = allOf(arrow.BinaryTypes.String)
	}
	pq := make([]pqColumn, NumFields)
	for f := range pq {
		pq[f] = pqColumn{name: Field(f).String(), typ: types[f], vals: cols[f]}
	}
	writeParquet(b, path, pq, pqWrite{codec: compress.Codecs.Snappy, rowGroupLen: 64 * 1024, dictionary: true})
}

func BenchmarkParquetRead(b *testing.B) {
	for _, typed := range []bool{true, false} {
		name := "typed"
		if !typed {
			name = "strings"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.parquet")
			writeBenchFile(b, path, benchRows, typed)
			b.ReportAllocs()
			b.ResetTimer()
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
				if n != benchRows {
					b.Fatalf("read %d rows, want %d", n, benchRows)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
