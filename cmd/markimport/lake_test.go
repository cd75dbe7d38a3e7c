package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// Inputs as data lakes write them: folders of part files, Hive partitions,
// globs, --input repeated. The oracle of each test is the same rows in one
// file, in natural file order, as expect (helpers_test.go) applies them.

// lakeRow is a row of a multi-file input with the file and the row within
// it it comes from.
type lakeRow struct {
	testRow
	file string
	row  int64
}

// readExpected reads an expected_*.csv of testdata/lake: the rows of a
// DuckDB export in the order markimport must read them, each with its file
// and row, written by scripts/lake-fixtures.mjs independently of
// markimport.
func readExpected(t *testing.T, path string) []lakeRow {
	t.Helper()
	recs := readCSVFile(t, path, "from_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type,file,file_row")
	var rows []lakeRow
	for _, r := range recs[1:] {
		row, _ := strconv.ParseInt(r[9], 10, 64)
		tr := testRow{fields: r[:8]}
		if strings.TrimSpace(r[0]) == "" {
			tr.invalid = "from_account: empty"
		}
		rows = append(rows, lakeRow{tr, r[8], row})
	}
	return rows
}

// checkLake checks a run of a multi-file input: the emulator holds exactly
// what the rows in order leave, and the report has one line per row, under
// its file and row, with the row's status. With exact, the requests sent
// are the lower bound too (not after a resume, which re-sends the requests
// that were in flight).
func checkLake(t *testing.T, srv *fakeim.Server, rows []lakeRow, reportPath string, exact bool) {
	t.Helper()
	plain := make([]testRow, len(rows))
	for i, r := range rows {
		plain[i] = r.testRow
	}
	e := expect(plain)
	rep := readLakeReport(t, reportPath)
	if len(rep) != len(rows) {
		t.Fatalf("report has %d lines, the input %d rows", len(rep), len(rows))
	}
	for i, r := range rows {
		got, ok := rep[fileRow{r.file, r.row}]
		if !ok {
			t.Fatalf("no report line for %s row %d", r.file, r.row)
		}
		if want := e.status[int64(i+1)]; got.status != want {
			t.Errorf("%s row %d: %s (%d %s), want %s", r.file, r.row, got.status, got.code, got.message, want)
		}
	}
	checkState(t, srv, e)
	if got := srv.Stats().APIs[fakeim.MarkContact].Accepted; exact && got != int64(e.requests) {
		t.Errorf("%d requests, want the lower bound %d", got, e.requests)
	}
}

type fileRow struct {
	file string
	row  int64
}

// readLakeReport reads the report of a multi-file input by file and row,
// failing on a line reported twice.
func readLakeReport(t *testing.T, path string) map[fileRow]reportLine {
	t.Helper()
	recs := readCSVFile(t, path, "file,row,from_account,type,peer,status,code,message,attempts")
	out := map[fileRow]reportLine{}
	for _, r := range recs[1:] {
		row, _ := strconv.ParseInt(r[1], 10, 64)
		k := fileRow{r[0], row}
		if _, dup := out[k]; dup {
			t.Fatalf("%s row %d reported twice", r[0], row)
		}
		code, _ := strconv.Atoi(r[6])
		att, _ := strconv.Atoi(r[8])
		out[k] = reportLine{r[2], r[3], r[4], r[5], r[7], code, att}
	}
	return out
}

// TestDuckDBExportsImportLikeOneFile: DuckDB's Hive-partitioned exports
// (Parquet and CSV; from_account only in the folder names, URL-encoded,
// null as __HIVE_DEFAULT_PARTITION__) and its export split in 15 files,
// given as a folder and as a glob, leave the server exactly as the same
// rows in one file in natural file order.
func TestDuckDBExportsImportLikeOneFile(t *testing.T) {
	lake := filepath.Join("..", "..", "testdata", "lake")
	cases := []struct{ name, input, expected string }{
		{"hive parquet folder", "duckdb_hive_parquet", "expected_hive_parquet.csv"},
		{"hive parquet glob", "duckdb_hive_parquet/from_account=*/*.parquet", "expected_hive_parquet.csv"},
		{"hive csv folder", "duckdb_hive_csv", "expected_hive_csv.csv"},
		{"split parquet folder", "duckdb_split_parquet", "expected_split_parquet.csv"},
		{"split parquet glob", "duckdb_split_parquet/data_*.parquet", "expected_split_parquet.csv"},
	}
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows := readExpected(t, filepath.Join(lake, tc.expected))
			srv, url := startEmulator(t, fakeim.Config{})
			rep := filepath.Join(t.TempDir(), "report.csv")
			code, _, stderr := runCLI(t, runArgs(url, "--input", filepath.Join(lake, tc.input), "--report", rep)...)
			if code != exitSomeNotOK { // the rows of the null partition are invalid
				t.Fatalf("exit %d: %s", code, stderr)
			}
			checkLake(t, srv, rows, rep, true)
		})
	}
}

// writeParts writes rows as CSV part files of n rows each, named name(i),
// and returns the rows with their files, in the order given.
func writeParts(t *testing.T, dir string, rows []testRow, n int, name func(int) string) []lakeRow {
	t.Helper()
	var out []lakeRow
	for i := 0; i*n < len(rows); i++ {
		part := rows[i*n : min(len(rows), (i+1)*n)]
		p := filepath.Join(dir, filepath.FromSlash(name(i)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeCSV(t, p, part)
		for j, r := range part {
			out = append(out, lakeRow{r, name(i), int64(j + 1)})
		}
	}
	return out
}

// TestSplitPartsEveryForm: the same part files as a folder (with the
// markers and hidden files Spark and Hadoop leave, and a nested folder),
// as a glob, and as --input repeated, each leave the server as the rows in
// one file do; the report names each row's file and its row there.
func TestSplitPartsEveryForm(t *testing.T) {
	rows := genRows(41, 2400)
	dir := t.TempDir()
	exp := filepath.Join(dir, "export")
	// data_0 ... data_10: natural order differs from byte order (data_10
	// sorts before data_2 byte by byte), and generated rows over many files
	// put a user's rows in several files, so order matters.
	parts := writeParts(t, exp, rows[:2200], 200, func(i int) string { return fmt.Sprintf("data_%d.csv", i) })
	nested := writeParts(t, exp, rows[2200:], 100, func(i int) string { return fmt.Sprintf("more/part-%05d.csv", i) })
	for name, body := range map[string]string{
		"_SUCCESS": "", "._SUCCESS.crc": "x", ".data_0.csv.crc": "x", "_committed_123": "{}",
		"_temporary/0/part-0.csv": "junk", ".hidden/x.csv": "junk", "empty.csv": "",
	} {
		p := filepath.Join(exp, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	all := append(append([]lakeRow(nil), parts...), nested...)
	withRoot := func(rows []lakeRow, root string) []lakeRow {
		out := make([]lakeRow, len(rows))
		for i, r := range rows {
			out[i] = r
			out[i].file = filepath.ToSlash(filepath.Join(root, r.file))
		}
		return out
	}
	var repeated []string
	for i := range 11 {
		repeated = append(repeated, "--input", filepath.Join(exp, fmt.Sprintf("data_%d.csv", i)))
	}
	// As they are given: data_0 ... data_10, each named as given.
	repeatedRows := withRoot(parts, exp)
	cases := []struct {
		name  string
		input []string
		rows  []lakeRow
	}{
		{"folder", []string{"--input", exp}, all},
		{"glob", []string{"--input", filepath.Join(exp, "data_*.csv")}, parts},
		{"glob with **", []string{"--input", filepath.Join(exp, "**", "*.csv")}, all},
		{"repeated", repeated, repeatedRows},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := startEmulator(t, fakeim.Config{})
			rep := filepath.Join(t.TempDir(), "report.csv")
			code, _, stderr := runCLI(t, runArgs(url, append(tc.input, "--report", rep)...)...)
			if code != exitSomeNotOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			checkLake(t, srv, tc.rows, rep, true)
		})
	}
}

// TestLakeResume: a multi-file run interrupted in the middle and resumed
// ends exact, every row reported once under its file; a part changed,
// added or removed since is refused, naming it.
func TestLakeResume(t *testing.T) {
	bin := buildBinary(t)
	rows := genRows(43, 6000)
	dir := t.TempDir()
	exp := filepath.Join(dir, "export")
	parts := writeParts(t, exp, rows, 500, func(i int) string { return fmt.Sprintf("part-%05d.csv", i) })
	srv, url := startEmulator(t, fakeim.Config{Latency: 50 * time.Millisecond})
	rep := filepath.Join(dir, "report.csv")
	// The run's requests past the 100th are held until the signal is
	// taken: the run cannot end first.
	held := holdFrom(t, url, string(fakeim.MarkContact), 101)
	cmd, out := startRun(t, bin, held.url, "--input", exp, "--report", rep)
	waitRequests(t, srv, 100)
	cmd.Process.Signal(syscall.SIGINT)
	waitOutput(t, out, "finishing requests in flight")
	held.release()
	if code := exitCode(cmd.Wait()); code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, out)
	}
	cmd, out = startRun(t, bin, url, "--input", exp, "--report", rep, "--resume")
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	checkLake(t, srv, parts, rep, false)

	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	resume := runArgs(url, "--input", exp, "--report", rep, "--resume")
	for _, change := range []struct {
		what string
		do   func() func()
	}{
		{"part-00003.csv changed", func() func() {
			p := filepath.Join(exp, "part-00003.csv")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "x,1,p,,1,,,,extra\n"...), 0o644)
			return func() { os.WriteFile(p, b, 0o644) }
		}},
		{"part-00099.csv was added", func() func() {
			p := filepath.Join(exp, "part-00099.csv")
			writeCSV(t, p, rows[:3])
			return func() { os.Remove(p) }
		}},
		{"part-00005.csv was removed", func() func() {
			p := filepath.Join(exp, "part-00005.csv")
			b, _ := os.ReadFile(p)
			os.Remove(p)
			return func() { os.WriteFile(p, b, 0o644) }
		}},
	} {
		undo := change.do()
		code, _, stderr := runCLI(t, resume...)
		undo()
		if code != exitUsage || !strings.Contains(stderr, change.what) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming it", change.what, code, stderr)
		}
	}
}

// TestLakeRejectsAndVerify: --rejects of a Hive-partitioned CSV export is
// one file, with the partition column the parts lack, holding exactly the
// rows that did not end ok, and a valid input; verify reads the same
// folder and names each row's file.
func TestLakeRejectsAndVerify(t *testing.T) {
	lake := filepath.Join("..", "..", "testdata", "lake")
	rows := readExpected(t, filepath.Join(lake, "expected_hive_csv.csv"))
	srv, url := startEmulator(t, fakeim.Config{})
	dir := t.TempDir()
	rep, rej, vrep := filepath.Join(dir, "report.csv"), filepath.Join(dir, "rejects.csv"), filepath.Join(dir, "verify.csv")
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	input := filepath.Join(lake, "duckdb_hive_csv")
	if code, _, stderr := runCLI(t, runArgs(url, "--input", input, "--report", rep, "--rejects", rej)...); code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkLake(t, srv, rows, rep, true)
	recs := readCSVFile(t, rej, "type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type,from_account,status,code,message")
	invalid := 0
	for _, r := range rows {
		if r.invalid != "" {
			invalid++
		}
	}
	if len(recs)-1 != invalid {
		t.Errorf("rejects file holds %d rows, want the %d invalid ones", len(recs)-1, invalid)
	}
	for _, r := range recs[1:] {
		if r[7] != "" || r[8] != "invalid" {
			t.Errorf("rejects row %v: want the null partition's rows, invalid", r)
		}
	}
	// The rejects file is an input: validate reads it.
	if code, _, stderr := runCLI(t, "validate", "--input", rej, "--quiet"); code != exitSomeNotOK || strings.Contains(stderr, "input error") {
		t.Errorf("validate of the rejects file: exit %d: %s", code, stderr)
	}

	code, _, stderr := runCLI(t, "verify", "--input", input, "--report", vrep, "--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--profile", testProfile())
	if code != exitOK {
		t.Fatalf("verify: exit %d: %s", code, stderr)
	}
	vrecs := readCSVFile(t, vrep, "file,row,from_account,type,peer,status,expected,actual,message")
	if len(vrecs)-1 != len(rows) {
		t.Fatalf("verify report: %d lines for %d rows", len(vrecs)-1, len(rows))
	}
	for _, r := range vrecs[1:] {
		if r[5] != "match" && r[5] != "not-checked" {
			t.Errorf("verify: %v", r)
		}
	}
}

// TestUnusualInputs: folders and globs that hold nothing to read, or
// something that is not data, and outputs inside the input's folder give
// exit 2 and a message that names the cause.
func TestUnusualInputs(t *testing.T) {
	dir := t.TempDir()
	mk := func(files map[string]string) string {
		d, err := os.MkdirTemp(dir, "in")
		if err != nil {
			t.Fatal(err)
		}
		for name, body := range files {
			p := filepath.Join(d, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	good := "from_account,to_account,set_mark\nu,p,1\n"
	cases := []struct {
		name string
		args func() []string
		want []string
	}{
		{"empty folder", func() []string { return []string{"--input", mk(nil)} }, []string{"holds no data file"}},
		{"only _SUCCESS", func() []string { return []string{"--input", mk(map[string]string{"_SUCCESS": ""})} }, []string{"holds no data file", "_SUCCESS"}},
		{"only empty files", func() []string { return []string{"--input", mk(map[string]string{"a.csv": "", "sub/b.csv": ""})} }, []string{"holds no data file", "a.csv (empty)"}},
		{"a file that is not data", func() []string {
			return []string{"--input", mk(map[string]string{"a.csv": good, "notes.md": "# x"})}
		}, []string{"notes.md", "not a data file"}},
		{"parts of two formats", func() []string {
			return []string{"--input", mk(map[string]string{"a.csv": good, "b.parquet": "PAR1"})}
		}, []string{"b.parquet", "a.csv", "one format"}},
		{"a glob matching nothing", func() []string {
			return []string{"--input", filepath.Join(mk(map[string]string{"a.csv": good}), "*.parquet")}
		}, []string{"no data file matches"}},
		{"a glob's folder missing", func() []string { return []string{"--input", filepath.Join(dir, "nope", "*.csv")} }, []string{"does not exist"}},
		{"a bad glob", func() []string { return []string{"--input", filepath.Join(dir, "[a.csv")} }, []string{"bad glob"}},
		{"the same file twice", func() []string {
			d := mk(map[string]string{"a.csv": good})
			return []string{"--input", d, "--input", filepath.Join(d, "a.csv")}
		}, []string{"a.csv: the same file as", "and again by --input", "read twice"}},
		{"a hard link beside its file", func() []string {
			d := mk(map[string]string{"a.csv": good})
			if err := os.Link(filepath.Join(d, "a.csv"), filepath.Join(d, "b.csv")); err != nil {
				t.Fatal(err)
			}
			return []string{"--input", d}
		}, []string{"b.csv: the same file as", "a.csv", "read twice"}},
		{"a symlink loop", func() []string {
			d := mk(map[string]string{"a.csv": good, "sub/b.csv": good})
			if err := os.Symlink("..", filepath.Join(d, "sub", "up")); err != nil {
				t.Fatal(err)
			}
			return []string{"--input", d}
		}, []string{filepath.Join("sub", "up") + ": a symlink loop"}},
		{"the report inside a folder the input reaches through a symlink", func() []string {
			d, elsewhere := mk(map[string]string{"a.csv": good}), mk(map[string]string{"b.csv": good})
			if err := os.Symlink(elsewhere, filepath.Join(d, "more")); err != nil {
				t.Fatal(err)
			}
			return []string{"--input", d, "--report", filepath.Join(elsewhere, "report.csv"), "--overwrite"}
		}, []string{"--report", "inside the input folder", "more"}},
		{"a GB18030 file", func() []string {
			// 张三 in GB18030.
			return []string{"--input", mk(map[string]string{"a.csv": "from_account,to_account,custom_mark\nu,p,\xd5\xc5\xc8\xfd\n"})}
		}, []string{"a.csv: the file is not UTF-8", "GB18030", "iconv -f GB18030 -t UTF-8"}},
		{"an unquoted glob", func() []string {
			d := mk(map[string]string{"a.csv": good, "b.csv": good})
			return []string{"--input", filepath.Join(d, "a.csv"), filepath.Join(d, "b.csv")}
		}, []string{"quote a glob"}},
		{"the report inside the input folder", func() []string {
			d := mk(map[string]string{"a.csv": good})
			return []string{"--input", d, "--report", filepath.Join(d, "report.csv"), "--overwrite"}
		}, []string{"inside the input folder"}},
		{"the rejects matched by the input's glob", func() []string {
			d := mk(map[string]string{"a.csv": good})
			return []string{"--input", filepath.Join(d, "*.csv"), "--rejects", filepath.Join(d, "rejects.csv")}
		}, []string{"matched by the input's glob"}},
		{"the report in a folder the glob matches", func() []string {
			d := mk(map[string]string{"k=1/a.csv": good})
			return []string{"--input", filepath.Join(d, "k=*"), "--report", filepath.Join(d, "k=1", "report.txt"), "--overwrite"}
		}, []string{"matched by the input's glob"}},
		{"the state inside the input folder", func() []string {
			d := mk(map[string]string{"a.csv": good})
			return []string{"--input", d, "--state", filepath.Join(d, "state")}
		}, []string{"--state", "inside the input folder"}},
		{"a Hive folder name that is not URL-encoded", func() []string {
			return []string{"--input", mk(map[string]string{"from_account=%zz/a.csv": "to_account,set_mark\np,1\n"})}
		}, []string{"from_account=%zz", "Hive"}},
		{"parts whose headers differ, with --rejects", func() []string {
			d := mk(map[string]string{"a.csv": good, "b.csv": "from_account,to_group_id,set_mark\nu,g,x\n"})
			return []string{"--input", d, "--rejects", filepath.Join(dir, "rej.csv"), "--overwrite"}
		}, []string{"b.csv", "other columns"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"validate", "--quiet"}, tc.args()...)
			code, _, stderr := runCLI(t, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

// TestLakeSymlinksAndHiveConflicts: a folder reached through a symlink is
// read like one inside the input folder, and a row whose own column
// disagrees with its Hive folder is invalid, the report naming both
// values, the column and the folder, while the rest is read as usual.
func TestLakeSymlinksAndHiveConflicts(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("in/from_account=alice/part-0.csv", "from_account,to_account,set_mark\nalice,p1,1\nbob,p2,1\n")
	write("elsewhere/part-0.csv", "to_account,set_mark\np3,1\n")
	if err := os.Symlink(filepath.Join("..", "elsewhere"), filepath.Join(root, "in", "from_account=carol")); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(root, "report.csv")
	code, _, stderr := runCLI(t, "validate", "--input", filepath.Join(root, "in"), "--report", rep, "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	lines := readCSVFile(t, rep, "file,row,from_account,type,peer,status,code,message,attempts")[1:]
	got := map[string][]string{}
	for _, l := range lines {
		got[l[0]+":"+l[1]] = l
	}
	want := map[string][]string{
		"from_account=alice/part-0.csv:1": {"alice", "c2c", "p1", "valid"},
		"from_account=alice/part-0.csv:2": {"bob", "", "p2", "invalid"},
		"from_account=carol/part-0.csv:1": {"carol", "c2c", "p3", "valid"},
	}
	if len(lines) != len(want) {
		t.Fatalf("report %q, want %d lines", lines, len(want))
	}
	for k, w := range want {
		if l := got[k]; l == nil || !slices.Equal(l[2:6], w) {
			t.Errorf("%s: %q, want %q", k, l, w)
		}
	}
	if msg := got["from_account=alice/part-0.csv:2"][7]; !strings.Contains(msg, `from_account: "bob"`) || !strings.Contains(msg, `"alice" from its folder from_account=alice`) {
		t.Errorf("message %q: want both values, the column and the folder", msg)
	}
}

// TestOutputBesideAGlob: an output in the glob's folder that the glob does
// not match is fine.
func TestOutputBesideAGlob(t *testing.T) {
	dir, _, _ := newInput(t, 45, 200) // in.csv
	rep := filepath.Join(dir, "report.csv")
	if code, _, stderr := runCLI(t, "validate", "--input", filepath.Join(dir, "in*.csv"), "--report", rep, "--quiet"); code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestLakeOneFileFolder: a folder of one file reports as a file does: no
// file column.
func TestLakeOneFileFolder(t *testing.T) {
	dir, _, rows := newInput(t, 44, 300)
	rep := filepath.Join(t.TempDir(), "report.csv")
	if code, _, stderr := runCLI(t, "validate", "--input", dir, "--report", rep, "--quiet"); code != exitSomeNotOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := readReport(t, rep); len(got) != len(rows) {
		t.Errorf("%d lines for %d rows", len(got), len(rows))
	}
}
