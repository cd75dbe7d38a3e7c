package readers

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

const sampleCSV = "\ufeffFrom_Account;To-Account;set mark;custom_mark;ignored\n" +
	"u1;p1;[1, 2];\"a;b \"\"q\"\"\nnext\";x\n" +
	" u2 ;p2;3;  spaced  ;y\n" +
	"u3;p3\n"

func TestCSVReader(t *testing.T) {
	r, err := newCSVReader("x.csv", strings.NewReader(sampleCSV), nil, Options{Delimiter: ';'})
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, r)
	want := []Record{
		{Row: 1, Fields: [NumFields]string{FromAccount: "u1", ToAccount: "p1", SetMark: "[1, 2]", CustomMark: "a;b \"q\"\nnext"}},
		{Row: 2, Fields: [NumFields]string{FromAccount: " u2 ", ToAccount: "p2", SetMark: "3", CustomMark: "  spaced  "}},
		{Row: 3, Fields: [NumFields]string{FromAccount: "u3", ToAccount: "p3"}, Problem: "row has 2 fields, the header has 5"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestCSVMapAndMissingColumn(t *testing.T) {
	r, err := newCSVReader("x.csv", strings.NewReader("legacy_user,peer\nu,p\n"), nil, Options{Map: map[string]string{"legacy_user": "from_account", "PEER": "to_account"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, r); len(got) != 1 || got[0].Fields[FromAccount] != "u" || got[0].Fields[ToAccount] != "p" {
		t.Fatalf("%+v", got)
	}
	_, err = newCSVReader("x.csv", strings.NewReader("user,to_account\nu,p\n"), nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "x.csv") || !strings.Contains(err.Error(), "from_account") {
		t.Fatalf("missing column: %v", err)
	}
	_, err = newCSVReader("x.csv", strings.NewReader("from_account,FromAccount\nu,p\n"), nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "both match") {
		t.Fatalf("duplicate column: %v", err)
	}
}

// TestCompressedAndStdin: .csv.gz and .csv.zst are decompressed by
// extension, "-" reads standard input, and all give the same records.
func TestCompressedAndStdin(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "in.csv")
	os.WriteFile(plain, []byte(sampleCSV), 0o644)
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write([]byte(sampleCSV))
	gw.Close()
	os.WriteFile(filepath.Join(dir, "in.csv.gz"), gz.Bytes(), 0o644)
	var zs bytes.Buffer
	zw, _ := zstd.NewWriter(&zs)
	zw.Write([]byte(sampleCSV))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "in.CSV.ZST"), zs.Bytes(), 0o644)
	opts := Options{Delimiter: ';'}
	r, err := Open(plain, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := drain(t, r)
	for _, name := range []string{"in.csv.gz", "in.CSV.ZST"} {
		r, err := Open(filepath.Join(dir, name), opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := drain(t, r)
		if !slices.Equal(got, want) {
			t.Errorf("%s gives other records", name)
		}
	}
	old := os.Stdin
	defer func() { os.Stdin = old }()
	f, _ := os.Open(plain)
	defer f.Close()
	os.Stdin = f
	r, err = Open("-", opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, r); !slices.Equal(got, want) {
		t.Errorf("stdin gives other records")
	}
	os.WriteFile(filepath.Join(dir, "bad.csv.gz"), []byte("not gzip"), 0o644)
	if _, err := Open(filepath.Join(dir, "bad.csv.gz"), opts); err == nil || !strings.Contains(err.Error(), "bad.csv.gz") {
		t.Errorf("bad gzip: %v", err)
	}
}
