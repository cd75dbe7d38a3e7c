package readers

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNaturalCompare(t *testing.T) {
	sorted := []string{
		"data_0.csv", "data_1.csv", "data_2.csv", "data_9.csv", "data_10.csv", "data_11.csv", "data_100.csv",
	}
	spark := []string{"part-00000-a.c000.csv", "part-00001-a.c000.csv", "part-00009-a.c000.csv", "part-00010-a.c000.csv"}
	for _, want := range [][]string{sorted, spark, {"a", "a0", "a00", "a1", "b"}, {"x1y2", "x1y10", "x2y1"}} {
		got := slices.Clone(want)
		slices.Reverse(got)
		slices.SortStableFunc(got, naturalCompare)
		if !slices.Equal(got, want) {
			t.Errorf("natural order %v, want %v", got, want)
		}
	}
	// Folder by folder: a folder's files before the next folder's.
	paths := []string{"k=10/a.csv", "k=2/b.csv", "k=2/a.csv", "k=2x/a.csv"}
	slices.SortFunc(paths, naturalPath)
	if want := []string{"k=2/a.csv", "k=2/b.csv", "k=2x/a.csv", "k=10/a.csv"}; !slices.Equal(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
}

func TestIsDataName(t *testing.T) {
	for name, want := range map[string]bool{
		"a.csv": true, "a.CSV.gz": true, "a.tsv.zst": true, "a.txt": true, "a.parquet": true, "a.pq": true,
		"000000_0": true, "part-00000": true, "part-00000-1a2b.c000": true, "part-00000-uuid-c000.snappy.parquet": true,
		"notes.md": false, "a.json": false, "x.crc": false, "a.csv.snappy": false,
	} {
		if got := isDataName(name); got != want {
			t.Errorf("isDataName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"*.csv", "a.csv", true},
		{"*.csv", "d/a.csv", false},
		{"**/*.csv", "a.csv", true},
		{"**/*.csv", "d/e/a.csv", true},
		{"k=*/*.parquet", "k=1/data_0.parquet", true},
		{"k=*/*.parquet", "k=1/x/data_0.parquet", false},
		{"data_[0-9].csv", "data_7.csv", true},
		{"data_?.csv", "data_10.csv", false},
	} {
		if got := globMatch(strings.Split(c.pattern, "/"), strings.Split(c.name, "/")); got != c.want {
			t.Errorf("%s ~ %s: %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

// TestInputRowsAcrossFiles: rows are numbered across the files, files
// without rows included, and Locate and FileRow give each back its file
// and row; Hive folder names fill the column the files lack, URL-decoded,
// null as empty, while a file's own column that disagrees with its folder
// makes the row invalid (TestHiveFolderAgreesWithColumn has the rest).
func TestInputRowsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("from_account=a%20b/part-2.csv", "to_account,set_mark\np1,1\np2,2\n")
	write("from_account=a%20b/part-10.csv", "to_account,set_mark\np3,3\n")
	write("from_account=__HIVE_DEFAULT_PARTITION__/part-0.csv", "to_account,set_mark\n")
	write("from_account=x/part-0.csv", "from_account,to_account,set_mark\nown,p4,4\n")
	write("_SUCCESS", "")
	in, err := ResolveInput([]string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range in.Parts {
		names = append(names, p.Name)
	}
	want := []string{"from_account=__HIVE_DEFAULT_PARTITION__/part-0.csv", "from_account=a%20b/part-2.csv", "from_account=a%20b/part-10.csv", "from_account=x/part-0.csv"}
	if !slices.Equal(names, want) {
		t.Fatalf("parts %v, want %v", names, want)
	}
	r, err := in.Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type got struct {
		row        int64
		from, peer string
		file       string
		local      int64
		problem    bool
	}
	var recs []got
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		file, local := in.FileRow(rec.Row)
		recs = append(recs, got{rec.Row, rec.Fields[FromAccount], rec.Fields[ToAccount], file, local, rec.Problem != ""})
	}
	wantRecs := []got{
		{1, "a b", "p1", "from_account=a%20b/part-2.csv", 1, false},
		{2, "a b", "p2", "from_account=a%20b/part-2.csv", 2, false},
		{3, "a b", "p3", "from_account=a%20b/part-10.csv", 1, false},
		{4, "own", "p4", "from_account=x/part-0.csv", 1, true},
	}
	if !slices.Equal(recs, wantRecs) {
		t.Errorf("records %+v, want %+v", recs, wantRecs)
	}
}

// TestRepeatedInputNames: with several --input values, each file is named
// by its path as the input reached it: a folder's and a glob's files by
// the folder or the glob's root and their path below it (not by the
// pattern; a folder whose name holds glob syntax is a folder), a file as
// given. Every name opens the file it names.
func TestRepeatedInputNames(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("from_account,type,to_account,set_mark\nu,1,"+filepath.Base(rel)+",1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{"g/x/part-1.csv", "g/y/part-2.csv", "f/a.csv", "h.csv", "d[1]/a.csv", "d[2]/a.csv", "k.csv/k.csv"} {
		write(rel)
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		specs, want []string
	}{
		{[]string{"g/*/part-*.csv", "f", "h.csv"}, []string{"g/x/part-1.csv", "g/y/part-2.csv", "f/a.csv", "h.csv"}},
		{[]string{"*/x/part-*.csv", "f/a.csv"}, []string{"g/x/part-1.csv", "f/a.csv"}},
		{[]string{filepath.Join(dir, "g", "*", "part-2.csv"), "h.csv"}, []string{filepath.ToSlash(filepath.Join(dir, "g/y/part-2.csv")), "h.csv"}},
		// Folders whose names hold glob syntax are folders, not globs.
		{[]string{"d[1]", "d[2]"}, []string{"d[1]/a.csv", "d[2]/a.csv"}},
		// A folder's file whose path below it is the folder's own name.
		{[]string{"k.csv", "h.csv"}, []string{"k.csv/k.csv", "h.csv"}},
	} {
		in, err := ResolveInput(tc.specs, "")
		if err != nil {
			t.Fatalf("%q: %v", tc.specs, err)
		}
		var names []string
		for _, p := range in.Parts {
			names = append(names, p.Name)
			named, err := os.Stat(filepath.FromSlash(p.Name))
			read, err2 := os.Stat(p.Path)
			if err != nil || err2 != nil || !os.SameFile(named, read) {
				t.Errorf("%q: the name %s is not the file read, %s (%v, %v)", tc.specs, p.Name, p.Path, err, err2)
			}
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("%q: names %q, want %q", tc.specs, names, tc.want)
		}
	}
}

// TestNamesOnce: two files that would have one name in the report are an
// input error naming both, never two files whose rows the report and
// --resume cannot tell apart.
func TestNamesOnce(t *testing.T) {
	if _, err := newInput(nil, []Part{{Path: "a/x.csv", Name: "x.csv"}, {Path: "b/y.csv", Name: "y.csv"}}, CSV); err != nil {
		t.Fatalf("distinct names refused: %v", err)
	}
	_, err := newInput(nil, []Part{{Path: "a/x.csv", Name: "x.csv"}, {Path: "b/x.csv", Name: "x.csv"}}, CSV)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "b/x.csv") || !strings.Contains(err.Error(), "a/x.csv") {
		t.Fatalf("one name twice: %v, want an input error naming both files", err)
	}
}

// TestDotDotAfterSymlink: a folder or a glob's root written with ".."
// after a symbolic link (lnk/../e) is the e beside the link's target,
// while lnk/../e cleaned as text is ./e: it is refused rather than read
// from ./e without a word. Written with ".." where no link is crossed, it
// is read.
func TestDotDotAfterSymlink(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	row := []byte("from_account,type,to_account,set_mark\nu,1,p,1\n")
	for _, p := range []string{"real/sub/keep", "real/e/x", "e/x", "plain/a"} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"real/e/x/in-real.csv", "e/x/in-here.csv", "plain/a/p.csv"} {
		if err := os.WriteFile(p, row, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "real", "sub"), "lnk"); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"lnk/../e", "lnk/../e/*/*.csv"} {
		_, err := ResolveInput([]string{spec}, "")
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), `a ".." after a symbolic link`) {
			t.Errorf("%s: %v, want it refused", spec, err)
		}
	}
	for _, spec := range []string{"plain/a/../a", "plain/../plain/*/*.csv"} {
		in, err := ResolveInput([]string{spec}, "")
		if err != nil || len(in.Parts) != 1 || filepath.Base(in.Parts[0].Path) != "p.csv" {
			t.Errorf("%s: %v, want plain/a/p.csv read", spec, err)
		}
	}
}
