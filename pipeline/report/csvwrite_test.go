package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"markimport/pipeline/mark"
	"markimport/readers"
)

// TestRecordWriterMatchesEncodingCSV: the report's record writer writes
// byte for byte what encoding/csv writes, for fields of every awkward kind.
func TestRecordWriterMatchesEncodingCSV(t *testing.T) {
	pieces := []string{"", "a", ",", `"`, "\n", "\r", "\r\n", " ", "\t", "\v", "\f", "\u0085", "\u00a0", "\u2003x", `\.`, "字", "\xff", "x y", "q\"q"}
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

// TestAppendItemLinesMatchesWrite: the lines AppendItemLines formats a
// user's items at a time are byte for byte those Write writes one at a
// time, for one file and for several (whose file column may need quotes),
// with fields of every awkward kind and outcomes with and without a code,
// a message and attempts.
func TestAppendItemLinesMatchesWrite(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.csv", "b, \"c\".csv"} {
		body := "from_account,to_account,set_mark\nu,p1,1\nu,p2,2\nu,p3,3\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	several, err := readers.ResolveInput([]string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := several.Open(readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	rd.Close()
	pieces := []string{"", "a", ",", `"`, "\n", " ", "\u00a0", `\.`, "字", "x y"}
	r := rand.New(rand.NewPCG(2, 2))
	field := func() string {
		var s string
		for range r.IntN(3) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	for k, in := range []*readers.Input{nil, several} {
		var one, many bytes.Buffer
		w1 := &CSV{csvFile: newCSVFile(&one, nil, len(headerOf(in))), in: in}
		w2 := &CSV{csvFile: newCSVFile(&many, nil, len(headerOf(in))), in: in}
		var buf []byte
		for range 300 {
			from := field()
			// The outcome: a status alone, or with a code, a message
			// and attempts (whose row, user, type and peer are not
			// used).
			out := Line{Row: 99, From: field(), Type: field(), Peer: field(), Status: Statuses[r.IntN(len(Statuses))]}
			if r.IntN(2) == 0 {
				out.Code, out.Message, out.Attempts = r.IntN(3)*70001, field(), r.IntN(3)
			}
			items := make([]mark.Item, r.IntN(4))
			for i := range items {
				it := &items[i]
				it.Conv = mark.Conversation{Type: []uint8{mark.C2C, mark.Group, 7}[r.IntN(3)], Peer: field()}
				it.Rows = make([]int64, r.IntN(3))
				for j := range it.Rows {
					it.Rows[j] = 1 + r.Int64N(6)
				}
				for _, row := range it.Rows {
					if err := w1.Write(Line{Row: row, From: from, Type: it.Conv.TypeName(), Peer: it.Conv.Peer,
						Status: out.Status, Code: out.Code, Message: out.Message, Attempts: out.Attempts}); err != nil {
						t.Fatal(err)
					}
				}
			}
			buf = w2.AppendItemLines(buf[:0], from, items, out)
			if err := w2.WriteLines(buf); err != nil {
				t.Fatal(err)
			}
		}
		w1.flush()
		w2.flush()
		if one.Len() == 0 || one.String() != many.String() {
			t.Fatalf("input %d: AppendItemLines wrote %d bytes, Write %d, not the same:\n%s\n%s", k, many.Len(), one.Len(), many.String(), one.String())
		}
	}
}
