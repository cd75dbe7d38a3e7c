package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"testing"
)

// TestRecordWriterMatchesEncodingCSV: the report's record writer writes
// byte for byte what encoding/csv writes, for fields of every awkward kind.
func TestRecordWriterMatchesEncodingCSV(t *testing.T) {
	pieces := []string{"", "a", ",", `"`, "\n", "\r", "\r\n", " ", "\t", "\v", "\u00a0", "\u2003x", `\.`, "字", "\xff", "x y", "q\"q"}
	r := rand.New(rand.NewPCG(1, 1))
	for range 5000 {
		rec := make([]string, 1+r.IntN(6))
		for i := range rec {
			for range r.IntN(4) {
				rec[i] += pieces[r.IntN(len(pieces))]
			}
		}
		var want, got bytes.Buffer
		w := csv.NewWriter(&want)
		w.Write(rec)
		w.Flush()
		b := bufio.NewWriter(&got)
		recordWriter{b}.Write(rec)
		b.Flush()
		if got.String() != want.String() {
			t.Fatalf("record %q: wrote %q, encoding/csv %q", rec, got.String(), want.String())
		}
	}
}
