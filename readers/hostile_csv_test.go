package readers

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// repeatReader yields n bytes of b repeated: a huge input without the
// memory of one.
type repeatReader struct {
	b   []byte
	n   int64
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:min(len(p), k+int(min(r.n, int64(len(r.b)-r.off))))], r.b[r.off:])
		k += c
		r.n -= int64(c)
		r.off = (r.off + c) % len(r.b)
	}
	return k, nil
}

// readAllAllocs drains a CSV input and returns its records and the bytes
// allocated meanwhile: a count of allocations, not of time, so the bound
// holds on any machine.
func readAllAllocs(t *testing.T, r io.Reader) ([]Record, uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cr, err := newCSVReader("big.csv", r, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	for {
		rec, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	runtime.ReadMemStats(&after)
	return out, after.TotalAlloc - before.TotalAlloc
}

// TestHostileRecordsTakeBoundedMemory: a row of 16 million fields and a
// field of 300 MB are each one invalid record, read allocating a few
// megabytes, with a message that names the problem and a short prefix; the
// rows around them read normally.
func TestHostileRecordsTakeBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 300 MB")
	}
	cases := []struct {
		name      string
		middle    io.Reader
		problem   string
		column    string
		maxProblm int
	}{
		{"16M empty fields", io.MultiReader(strings.NewReader("u,p"), &repeatReader{b: []byte(","), n: 16_000_000}, strings.NewReader("\n")),
			"row has 16000002 fields, the header has 3", "", 100},
		{"300 MB custom mark", io.MultiReader(strings.NewReader("u,p,\""), &repeatReader{b: []byte("x\x1b"), n: 300 << 20}, strings.NewReader("\"\n")),
			"314572800 bytes, longer than any valid value (starts \"x\\x1bx", "custom_mark", 200},
		{"300 MB ignored column", io.MultiReader(strings.NewReader("u,p,c,"), &repeatReader{b: []byte("y"), n: 300 << 20}, strings.NewReader("\n")),
			"column 4 (\"notes\"): 314572800 bytes", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := "from_account,to_account,custom_mark\n"
			if strings.Contains(tc.name, "ignored") {
				header = "from_account,to_account,custom_mark,notes\n"
			}
			in := io.MultiReader(strings.NewReader(header+"a,b,c"+strings.Repeat(",", strings.Count(header, ",")-2)+"\n"), tc.middle, strings.NewReader("z,w,v"+strings.Repeat(",", strings.Count(header, ",")-2)+"\n"))
			recs, alloc := readAllAllocs(t, in)
			if len(recs) != 3 {
				t.Fatalf("%d records, want 3", len(recs))
			}
			if recs[0].Problem != "" || recs[2].Problem != "" || recs[2].Fields[FromAccount] != "z" || recs[2].Row != 3 {
				t.Errorf("the rows around it: %+v / %+v", recs[0], recs[2])
			}
			got := recs[1]
			if !strings.Contains(got.Problem, tc.problem) || got.ProblemColumn != tc.column {
				t.Errorf("problem %q column %q, want %q in column %q", got.Problem, got.ProblemColumn, tc.problem, tc.column)
			}
			if len(got.Problem) > tc.maxProblm || strings.ContainsAny(got.Problem, "\x1b") {
				t.Errorf("the message is %d bytes or holds raw control characters: %q", len(got.Problem), got.Problem)
			}
			if alloc > 64<<20 {
				t.Errorf("reading allocated %d MiB", alloc>>20)
			}
		})
	}
}

func gzipped(t *testing.T, parts ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts {
		w := gzip.NewWriter(&b)
		w.Write([]byte(p))
		w.Close()
	}
	return b.Bytes()
}

// TestMessagesPointAtTheCause: each way a file is not what its name or the
// flags say gets a message naming the real cause and what to do.
func TestMessagesPointAtTheCause(t *testing.T) {
	dir := t.TempDir()
	utf16 := func(s string, bom bool) []byte {
		var b []byte
		if bom {
			b = []byte{0xFF, 0xFE}
		}
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	var zst bytes.Buffer
	zw, _ := zstd.NewWriter(&zst)
	zw.Write([]byte("from_account,to_account,set_mark\nu,p,1\n"))
	zw.Close()
	wide := make([]string, 10000)
	for i := range wide {
		wide[i] = "col\x1b[31m" + strings.Repeat("w", 20)
	}
	cases := []struct {
		name    string
		file    string
		data    []byte
		opts    Options
		want    []string
		notWant []string
	}{
		{"UTF-16 with BOM", "u16.csv", utf16("from_account,to_account\nu,p\n", true), Options{}, []string{"UTF-16 (little-endian)", "iconv"}, []string{"\x00"}},
		{"UTF-16 without BOM", "u16n.csv", utf16("from_account,to_account\nu,p\n", false), Options{}, []string{"UTF-16", "iconv"}, []string{"\x00"}},
		{"UTF-32", "u32.csv", append([]byte{0xFF, 0xFE, 0, 0}, "f\x00\x00\x00"...), Options{}, []string{"UTF-32"}, nil},
		{"semicolons", "semi.csv", []byte("from_account;to_account;set_mark\nu;p;1\n"), Options{}, []string{"--delimiter ';'"}, nil},
		{"tabs", "tab.csv", []byte("from_account\tto_account\nu\tp\n"), Options{}, []string{"--delimiter 'tab'"}, nil},
		{"wide escaped header", "wide.csv", []byte(strings.Join(wide, ",") + "\nx\n"), Options{}, []string{"from_account", "10000 columns in all", `\x1b`}, []string{"\x1b"}},
		{"Parquet named .dat", "x.dat", []byte("PAR1\x15\x00\x15\xbc\x01binary"), Options{}, []string{"Parquet", "--format parquet"}, []string{"\x15"}},
		{"encrypted Parquet as CSV", "x.csv", []byte("PARE\x00\x01"), Options{}, []string{"encrypted Parquet"}, nil},
		{"gzip named .csv.zst", "g.csv.zst", gzipped(t, "from_account\nu\n"), Options{}, []string{"not zstd", "gzip-compressed"}, []string{"magic number"}},
		{"zstd named .csv", "z.csv", zst.Bytes(), Options{}, []string{"zstd-compressed", ".csv.zst"}, nil},
		{"plain text named .gz", "t.csv.gz", []byte("from_account,to_account\nu,p\n"), Options{}, []string{"not gzip", "plain text"}, []string{"gzip: gzip"}},
		{"sep line and another delimiter", "sep.csv", []byte("sep=;\nfrom_account;to_account\nu;p\n"), Options{Delimiter: '|'}, []string{"sep=;", "--delimiter"}, nil},
		{"sep line without a delimiter", "sepcr.csv", []byte("sep=\r\nfrom_account\rto_account\r\nana\rbo\r\n\"ana\"\rbo\r\n"), Options{}, []string{`"sep=" without a delimiter`}, []string{"\r"}},
		{"--map of a missing column", "m.csv", []byte("user,peer\nu,p\n"), Options{Map: map[string]string{"nothere": "from_account"}}, []string{`no column "nothere"`, `"user", "peer"`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			os.WriteFile(path, tc.data, 0o644)
			r, err := Open(path, tc.opts)
			if err == nil {
				r.Close()
				t.Fatal("opened without an error")
			}
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("%T %v: want an *InputError naming the file", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("message %q holds %q", err, w)
				}
			}
			if len(err.Error()) > 1000 {
				t.Errorf("message of %d bytes", len(err.Error()))
			}
		})
	}
}

// TestOddButReadable: files that are fine but unusual read as the same
// records as a plain file.
func TestOddButReadable(t *testing.T) {
	dir := t.TempDir()
	want := []Record{
		{Row: 1, Fields: [NumFields]string{FromAccount: "u1", ToAccount: "p1", SetMark: "1"}},
		{Row: 2, Fields: [NumFields]string{FromAccount: "u2", ToAccount: "p2", SetMark: "2"}},
	}
	cases := []struct {
		name string
		file string
		data []byte
	}{
		{"CR-only line ends", "cr.csv", []byte("from_account,to_account,set_mark\ru1,p1,1\ru2,p2,2\r")},
		{"Excel sep line", "sep.csv", []byte("\ufeffsep=;\r\nfrom_account;to_account;set_mark\r\nu1;p1;1\r\nu2;p2;2\r\n")},
		{"concatenated gzip members", "two.csv.gz", gzipped(t, "from_account,to_account,set_mark\nu1,p1,1\n", "u2,p2,2\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			os.WriteFile(path, tc.data, 0o644)
			r, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := drain(t, r)
			if len(got) != len(want) {
				t.Fatalf("%d records %+v, want %d", len(got), got, len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("record %d: %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestCompressedStreamFaults: a truncated stream and bytes after the end of
// a gzip stream are input errors that say so, with the offset, once.
func TestCompressedStreamFaults(t *testing.T) {
	dir := t.TempDir()
	var rows strings.Builder
	rows.WriteString("from_account,to_account,set_mark\n")
	for i := range 50000 {
		rows.WriteString("user" + strings.Repeat("x", i%7) + ",peer,1\n")
	}
	full := gzipped(t, rows.String())
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"garbage after the stream", append(append([]byte{}, full...), "trailing junk\n"...), []string{"after the end of the compressed data", "byte offset", "trailing junk"}},
		{"truncated", full[:len(full)*2/3], []string{"truncated"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "x.csv.gz")
			os.WriteFile(path, tc.data, 0o644)
			r, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for {
				_, err = r.Next()
				if err != nil {
					break
				}
			}
			var ie *InputError
			if err == io.EOF || !errors.As(err, &ie) {
				t.Fatalf("ended with %v, want an input error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if strings.Count(err.Error(), "gzip:") != 1 {
				t.Errorf("message %q names gzip more than once", err)
			}
		})
	}
}
