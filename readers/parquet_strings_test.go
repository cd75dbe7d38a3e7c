package readers

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// A text value longer than keepBytes keeps its first keepBytes in the
// record, which is invalid: its Problem says the real size and shows the
// start, and ProblemColumn names the (first) column cut. The rows around it
// read as usual.
func TestParquetLongStrings(t *testing.T) {
	const big = 10 << 20
	huge := strings.Repeat("0123456789", big/10)
	edge := strings.Repeat("é", keepBytes/2) // exactly keepBytes bytes
	for _, tt := range []struct {
		name  string
		typ   arrow.DataType
		write pqWrite
	}{
		{"string", arrow.BinaryTypes.String, pqWrite{}},
		{"large_binary", arrow.BinaryTypes.LargeBinary, pqWrite{}},
		{"dictionary pages", arrow.BinaryTypes.String, pqWrite{dictionary: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "long.parquet")
			writeParquet(t, path, []pqColumn{
				{name: "from_account", typ: tt.typ, vals: strs("alice", huge, "bob", edge+"x", edge)},
				{name: "to_account", typ: tt.typ, vals: strs("peer", "peer", "<null>", "peer", "peer")},
				{name: "custom_mark", typ: tt.typ, vals: strs("", huge[:big-1], "é"+huge, "", "")},
			}, tt.write)
			var got []Record
			peak, total := measureHeap(func() { got = readAll(t, path, Options{}) })
			t.Logf("read: peak heap %.1f MiB above the start, %.1f MiB allocated", mib(peak), mib(total))
			want := []Record{
				{Row: 1, Fields: [NumFields]string{FromAccount: "alice", ToAccount: "peer"}},
				{Row: 2, Fields: [NumFields]string{FromAccount: huge[:keepBytes], ToAccount: "peer", CustomMark: huge[:keepBytes]},
					Problem: TooLong(big, huge[:keepBytes]), ProblemColumn: "from_account"},
				{Row: 3, Fields: [NumFields]string{FromAccount: "bob", CustomMark: ("é" + huge)[:keepBytes]},
					Problem: TooLong(big+2, "é"+huge[:keepBytes-2]), ProblemColumn: "custom_mark"},
				{Row: 4, Fields: [NumFields]string{FromAccount: edge, ToAccount: "peer"},
					Problem: TooLong(keepBytes+1, edge), ProblemColumn: "from_account"},
				{Row: 5, Fields: [NumFields]string{FromAccount: edge, ToAccount: "peer"}},
			}
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("record %d:\n got %s\nwant %s", i+1, shortRecord(got[i]), shortRecord(want[i]))
				}
			}
			if !strings.Contains(got[1].Problem, "10485760 bytes") {
				t.Errorf("problem %q does not give the size", got[1].Problem)
			}
			// Each record holds at most keepBytes of each column.
			for _, rec := range got {
				for f, v := range rec.Fields {
					if len(v) > keepBytes {
						t.Errorf("row %d keeps %d bytes of %s", rec.Row, len(v), Field(f))
					}
				}
			}
		})
	}
}

// shortRecord formats a record with its long values cut, for messages.
func shortRecord(r Record) string {
	var b strings.Builder
	b.WriteString("row " + strconv.FormatInt(r.Row, 10))
	for f, v := range r.Fields {
		if v != "" {
			b.WriteString(" " + Field(f).String() + "=" + Quote(v))
		}
	}
	b.WriteString(" problem " + Quote(r.Problem) + " in " + Quote(r.ProblemColumn))
	return b.String()
}
