package readers

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// benchCSV is rows of make bench's shape (eight columns, a quoted list
// of bits in some rows, a custom mark in others), or with quoted, every
// field in quotes, some holding a comma, a doubled quote or a line break.
func benchCSV(rows int, quoted bool) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	b.WriteString("from_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type\n")
	for i := range rows {
		from, peer := fmt.Sprintf("user%d", rng.IntN(rows/10+1)), fmt.Sprintf("peer%d", rng.IntN(50))
		switch {
		case quoted:
			fmt.Fprintf(&b, "%q,\"c2c\",%q,\"\",\"[1, 3]\",\"\",\"a \"\"note\"\"\nline %d\",\"\"\n", from, peer, i)
		case i%3 == 0:
			fmt.Fprintf(&b, "%s,c2c,%s,,\"[57, 32]\",,,\n", from, peer)
		default:
			fmt.Fprintf(&b, "%s,c2c,%s,,,,note %d,\n", from, peer, i)
		}
	}
	return b.Bytes()
}

// BenchmarkCSVRead reads a 100,000-row file record by record, as the read
// stage does; ns/op is per file.
func BenchmarkCSVRead(b *testing.B) {
	for _, quoted := range []bool{false, true} {
		data := benchCSV(100000, quoted)
		b.Run(fmt.Sprintf("quoted=%v", quoted), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := newCSVReader("bench.csv", bytes.NewReader(data), nil, Options{})
				if err != nil {
					b.Fatal(err)
				}
				for {
					rec, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil || rec.Problem != "" {
						b.Fatal(err, rec.Problem)
					}
				}
				r.Close()
			}
		})
	}
}
