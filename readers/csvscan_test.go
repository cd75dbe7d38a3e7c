package readers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// stdRecords reads data with encoding/csv as markimport used to: every
// record, or nil for one it reports malformed.
func stdRecords(data []byte, comma rune) [][]string {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			out = append(out, nil)
			continue
		}
		if err != nil {
			return append(out, []string{"READ ERROR"})
		}
		out = append(out, slices.Clone(rec))
	}
}

// scanRecords reads data with the scanner, keeping everything.
func scanRecords(data []byte, comma byte, bufSize int) [][]string {
	s := newCSVScanner(bufio.NewReaderSize(bytes.NewReader(data), bufSize), comma)
	var out [][]string
	var rec record
	for {
		err := s.next(&rec)
		if err == io.EOF {
			return out
		}
		if err != nil {
			return append(out, []string{"READ ERROR"})
		}
		if rec.err != nil {
			out = append(out, nil)
			continue
		}
		out = append(out, slices.Clone(rec.fields))
	}
}

// scanShapes reads data with the scanner and says, of each record, the
// line it starts on and, when it is well formed, its number of fields and
// the size of each.
func scanShapes(data []byte, comma byte, bufSize int) []string {
	s := newCSVScanner(bufio.NewReaderSize(bytes.NewReader(data), bufSize), comma)
	var out []string
	var rec record
	for s.next(&rec) == nil {
		if rec.err != nil {
			// What a malformed record kept may depend on where its line
			// was cut; it is reported, not read.
			out = append(out, fmt.Sprintf("line %d, malformed", rec.line))
			continue
		}
		sizes := make([]int64, len(rec.fields))
		for i := range sizes {
			sizes[i] = rec.size(i)
		}
		out = append(out, fmt.Sprintf("line %d, %d fields %v", rec.line, rec.nfields, sizes))
	}
	return out
}

// FuzzScannerMatchesEncodingCSV: within its limits, the bounded scanner
// reads exactly the records encoding/csv reads, and marks malformed the
// same records, whatever the bytes and however the lines are cut into
// buffer-sized pieces.
func FuzzScannerMatchesEncodingCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\r\n1,2\r\n", "\"a\"\"b\",c\n", "a,\"b\nc\"\n", "a,\"b\r\nc\"\r\n",
		"\n\n\na\n\r\n", "a\"b,c\nd,e\n", "\"a\"b,c\nd,e\n", "\"open\nx\ny", "a,b\r", "a,\"b\"\r",
		"a,b,\n,\n", "\"\"\n\"\"\"\"\n", "x\ry\n", " \"a\"\n", "a;b;\"c;d\"\n",
		// Longer than the small buffer: read whole at 4096 (plain), in
		// pieces at 16.
		"aaaaaaaaaaaaaaaaaaaa,b\n", "aaaaaaaaaaaaaaaaaaaa;\"b;c\"\r\nd;e\n",
	} {
		f.Add([]byte(s), byte(','))
		f.Add([]byte(s), byte(';'))
	}
	f.Fuzz(func(t *testing.T, data []byte, comma byte) {
		if comma == 0 || comma >= 0x80 || comma == '"' || comma == '\r' || comma == '\n' {
			return
		}
		if bytes.IndexByte(data, 0xEF) >= 0 || bytes.ContainsRune(data, '\uFFFD') {
			return // encoding/csv rejects some invalid UTF-8 delimiters; not our concern
		}
		want := stdRecords(data, rune(comma))
		for _, size := range []int{16, 4096} {
			if got := scanRecords(data, comma, size); !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("buffer %d, input %q:\n got %q\nwant %q", size, data, got, want)
			}
		}
		// A line longer than the buffer is read in pieces, never as one
		// plain line: the two readings give the same lines and sizes.
		if a, b := scanShapes(data, comma, 16), scanShapes(data, comma, 4096); !slices.Equal(a, b) {
			t.Fatalf("input %q: lines and sizes differ with the buffer:\n 16: %q\n4096: %q", data, a, b)
		}
	})
}

// readsLikeEncodingCSV fails t unless the scanner reads data, one record
// a line, as encoding/csv does, naming the first line read otherwise.
func readsLikeEncodingCSV(t *testing.T, data []byte, comma byte) {
	t.Helper()
	got, want := scanRecords(data, comma, 4096), stdRecords(data, rune(comma))
	if slices.EqualFunc(got, want, slices.Equal) {
		return
	}
	for i := range min(len(got), len(want)) {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("delimiter %q, line %d (%q): got %q, want %q", comma, i+1, bytes.Split(data, []byte("\n"))[i], got[i], want[i])
		}
	}
	t.Fatalf("delimiter %q: %d records, want %d", comma, len(got), len(want))
}

// TestPlainLineEveryByte: a line read eight bytes at a time finds its
// delimiters and its quotes whatever byte stands beside them and wherever
// they fall in a word: each byte value after and before a delimiter, at
// each offset of a 24-byte line, read as encoding/csv reads it, with ','
// and with ';'.
func TestPlainLineEveryByte(t *testing.T) {
	for _, comma := range []byte{',', ';'} {
		var b bytes.Buffer
		for v := range 256 {
			if v == '\n' || v == '\r' {
				continue
			}
			for at := range 16 {
				line := []byte("abcdefghijklmnopqrstuvwx")
				line[at], line[at+1], line[at+2] = byte(v), comma, byte(v)
				b.Write(line)
				b.WriteByte('\n')
			}
		}
		readsLikeEncodingCSV(t, b.Bytes(), comma)
	}
}

// TestPlainLineQuotedEveryByte: a quoted field on a plain line reads as
// encoding/csv reads it whatever byte stands inside it, just after its
// closing quote or just before its opening one, and wherever its quotes
// fall in a word: each byte value at each offset of a 24-byte line, with
// ',' and with ';'.
func TestPlainLineQuotedEveryByte(t *testing.T) {
	for _, comma := range []byte{',', ';'} {
		var b bytes.Buffer
		for v := range 256 {
			if v == '\n' {
				continue
			}
			for at := range 16 {
				for _, form := range []string{"x\"a%cb\"%cy", "x\"%c\"%cy", "x%c\"ab\"%cy"} {
					line := []byte("abcdefghijklmnopqrstuvwx")
					f := strings.ReplaceAll(strings.ReplaceAll(form, "%c", "\x00"), "x", string(comma))
					for k, c := range []byte(f) {
						if c == 0 {
							c = byte(v)
						}
						line[at+k] = c
					}
					b.Write(line)
					b.WriteByte('\n')
				}
			}
		}
		readsLikeEncodingCSV(t, b.Bytes(), comma)
	}
}

// TestPlainLineReadsQuotedFields: a line whose quoted fields hold no quote
// is read as a plain line, delimiters inside the quotes kept; a doubled
// quote, a quote inside an unquoted field or a quoted field not closed on
// its line is left to the general scanner, which reads it as encoding/csv
// does.
func TestPlainLineReadsQuotedFields(t *testing.T) {
	for _, tt := range []struct {
		line  string
		plain bool
		want  []string
	}{
		{`u1,c2c,"p,1",,"[1, 2]",,"note",`, true, []string{"u1", "c2c", "p,1", "", "[1, 2]", "", "note", ""}},
		{`"a","",""`, true, []string{"a", "", ""}},
		{"\"a\",b\r", true, []string{"a", "b"}},
		{`a,"b""c",d`, false, []string{"a", `b"c`, "d"}},
		{`a,b"c,d`, false, nil},
		{`a,"b"c,d`, false, nil},
		{`a, "b",d`, false, nil},
	} {
		s := newCSVScanner(bufio.NewReader(strings.NewReader("")), ',')
		var rec record
		if got := s.plainLine([]byte(tt.line), &rec); got != tt.plain {
			t.Errorf("%q: plain line %v, want %v", tt.line, got, tt.plain)
		}
		if tt.plain && !slices.Equal(rec.fields, tt.want) {
			t.Errorf("%q: plain line read %q, want %q", tt.line, rec.fields, tt.want)
		}
		if (len(s.ends) != 0 || len(s.starts) != 0) && !tt.plain {
			t.Errorf("%q: refused, but left %d field ends and %d starts for the general scanner", tt.line, len(s.ends), len(s.starts))
		}
		if got := scanRecords([]byte(tt.line+"\n"), ',', 4096); !slices.EqualFunc(got, [][]string{tt.want}, slices.Equal) {
			t.Errorf("%q: read %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestQuotedLinesTriedWhilePlain: lines that start with a quote are read
// as plain lines while most of them are: a file quoted throughout whose
// fields hold doubled quotes stops being tried after its first lines, and
// comes back to plain lines within a retry when its lines become simple;
// every record reads as encoding/csv reads it all along.
func TestQuotedLinesTriedWhilePlain(t *testing.T) {
	var b bytes.Buffer
	const hard, simple = 3000, 5000
	for i := range hard {
		fmt.Fprintf(&b, "\"u%d\",\"c2c\",\"a \"\"note\"\"\"\n", i)
	}
	for i := range simple {
		fmt.Fprintf(&b, "\"u%d\",\"c2c\",\"[1, 3]\"\n", i)
	}
	data := b.Bytes()
	s := newCSVScanner(bufio.NewReaderSize(bytes.NewReader(data), 4096), ',')
	var rec record
	want := stdRecords(data, ',')
	for i := 0; ; i++ {
		err := s.next(&rec)
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d records, want %d", i, len(want))
			}
			break
		}
		if err != nil || rec.err != nil || !slices.Equal(rec.fields, want[i]) {
			t.Fatalf("record %d: %q (%v, %v), want %q", i+1, rec.fields, err, rec.err, want[i])
		}
		if i == hard-1 {
			// The trial, and one retry after each quotedRetry lines skipped.
			if q := s.quoteLines; q.tried != quotedTrial+(hard-quotedTrial)/quotedRetry || q.plain != 0 {
				t.Fatalf("after %d lines with doubled quotes: %d tried as plain lines, %d plain", hard, q.tried, q.plain)
			}
		}
	}
	if q := s.quoteLines; q.plain < simple-quotedRetry {
		t.Fatalf("of %d simple lines after those, %d read as plain lines", simple, q.plain)
	}
}

// TestScannerBoundsMemory: a record of a million fields and a field of
// 8 MB come out as one record each, keeping what the limits allow, with the
// real sizes counted, and the next record reads normally.
func TestScannerBoundsMemory(t *testing.T) {
	var b strings.Builder
	b.WriteString(strings.Repeat(",", 1_000_000) + "\n")
	b.WriteString("x,\"" + strings.Repeat("q", 8<<20) + "\"\n")
	b.WriteString("a,b\n")
	s := newCSVScanner(bufio.NewReaderSize(strings.NewReader(b.String()), 4096), ',')
	s.maxFields = 10
	s.keepOf = []int{4, 4}
	var rec record
	if err := s.next(&rec); err != nil {
		t.Fatal(err)
	}
	if rec.nfields != 1_000_001 || len(rec.fields) != 10 {
		t.Fatalf("first record: %d fields, %d kept; want 1000001 and 10", rec.nfields, len(rec.fields))
	}
	if err := s.next(&rec); err != nil {
		t.Fatal(err)
	}
	if rec.nfields != 2 || rec.fields[1] != "qqqq" || rec.sizes[1] != 8<<20 || !rec.cut(1) || rec.line != 2 {
		t.Fatalf("second record: %d fields %q sizes %v line %d", rec.nfields, rec.fields, rec.sizes, rec.line)
	}
	if err := s.next(&rec); err != nil || !slices.Equal(rec.fields, []string{"a", "b"}) || rec.line != 3 {
		t.Fatalf("third record: %q %v", rec.fields, err)
	}
	if err := s.next(&rec); err != io.EOF {
		t.Fatalf("after the last record: %v", err)
	}
}

// TestRecordsKeepTheirText: the fields of a record are strings carved from
// a slab shared with the records after it; reading on never changes the
// text of a record kept, across slabs and beside records too long for one.
func TestRecordsKeepTheirText(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		switch i % 997 {
		case 5:
			fmt.Fprintf(&b, "u%d,%s,\"q,%d\"\n", i, strings.Repeat("x", slabSize/8), i)
		default:
			fmt.Fprintf(&b, "u%d,p%d,\"q,%d\"\n", i, i*7, i)
		}
	}
	data := []byte(b.String())
	s := newCSVScanner(bufio.NewReaderSize(bytes.NewReader(data), 4096), ',')
	var kept [][]string
	var rec record
	for s.next(&rec) != io.EOF {
		kept = append(kept, rec.fields) // not cloned: the strings themselves
		rec.fields = nil
	}
	want := stdRecords(data, ',')
	if len(kept) != len(want) {
		t.Fatalf("%d records, want %d", len(kept), len(want))
	}
	for i := range want {
		if !slices.Equal(kept[i], want[i]) {
			t.Fatalf("record %d reads %q once the file is read, want %q", i+1, kept[i], want[i])
		}
	}
}
