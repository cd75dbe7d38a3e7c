package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// legacyDir holds the legacy table, its Parquet form, the mapping file and
// the import file DuckDB's recipe makes of it.
var legacyDir = filepath.Join("..", "..", "testdata", "legacy")

// TestLegacyMapFile: the legacy table imported straight through
// testdata/legacy/map.toml, as CSV and as Parquet, leaves the emulator in
// exactly the state the DuckDB recipe's marks.csv leaves it, with the same
// report line for every row (TestLegacyRecipe checks that state against
// the table).
func TestLegacyMapFile(t *testing.T) {
	dir := t.TempDir()
	importFile := func(name string, args ...string) (state, report string) {
		t.Helper()
		st, rep := filepath.Join(dir, name+".json"), filepath.Join(dir, name+".csv")
		code, stdout, stderr := runCLI(t, append([]string{"run", "--fake", "--fake-state", st, "--report", rep, "--quiet"}, args...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", name, code, stdout, stderr)
		}
		// Report lines come as results arrive: compare them sorted.
		lines := strings.Split(readFile(t, rep), "\n")
		slices.Sort(lines)
		return readFile(t, st), strings.Join(lines, "\n")
	}
	wantState, wantReport := importFile("recipe", "--input", filepath.Join(legacyDir, "marks.csv"))
	if n := strings.Count(wantReport, ",ok,"); n != 600 {
		t.Fatalf("the recipe's import: %d rows ok, want 600", n)
	}
	for _, in := range []string{"legacy.csv", "legacy.parquet"} {
		state, report := importFile(in, "--input", filepath.Join(legacyDir, in), "--map-file", filepath.Join(legacyDir, "map.toml"))
		if state != wantState {
			t.Errorf("%s through map.toml: the emulator's state differs from the recipe's", in)
		}
		if report != wantReport {
			t.Errorf("%s through map.toml: the report differs from the recipe's:\n%s", in, firstDiff(report, wantReport))
		}
	}

	// The README shows map.toml's rules.
	readme := readFile(t, filepath.Join("..", "..", "README.md"))
	for _, line := range strings.Split(readFile(t, filepath.Join(legacyDir, "map.toml")), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.Contains(readme, "\n"+line+"\n") {
			t.Errorf("README.md does not show map.toml's line %q", line)
		}
	}
}

// TestMapFileRefusals: what a mapping cannot use is refused before
// anything is sent (exit 2), naming the mapping file's line and key; a
// source value it cannot read makes its row invalid, the report showing
// the row as the file wrote it.
func TestMapFileRefusals(t *testing.T) {
	dir := t.TempDir()
	legacy := filepath.Join(legacyDir, "legacy.csv")
	mapFile := filepath.Join(legacyDir, "map.toml")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badColumn := write("bad-column.toml", strings.Replace(readFile(t, mapFile), `"peer_id"`, `"peer"`, 1))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown source column", []string{"--input", legacy, "--map-file", badColumn},
			`bad-column.toml line 5 (peer): the file has no column "peer" (its columns: "user_id", "peer_id"`},
		{"target mapped twice", []string{"--input", legacy, "--map-file", write("twice.toml", "from_account = \"user_id\"\n[marks]\nstarred = \"star\"\n[clear_mark]\nvalue = \"1\"\n")},
			`twice.toml line 4 (clear_mark): clear_mark is mapped twice: by "marks" and by "clear_mark"`},
		{"unknown kind", []string{"--input", legacy, "--map-file", write("kind.toml", "type = { flag = \"is_group\" }\n")},
			`kind.toml line 1 (type.flag): "flag" is not a kind of rule`},
		{"bit out of range", []string{"--input", legacy, "--map-file", write("range.toml", "marks = { pinned = 64 }\n")},
			`range.toml line 1 (marks.pinned): bit 64 is out of range: want 0–63`},
		{"with --map", []string{"--input", legacy, "--map-file", mapFile, "--map", "user_id=from_account"},
			`--map and --map-file: give one`},
		{"no such file", []string{"--input", legacy, "--map-file", filepath.Join(dir, "none.toml")},
			`--map-file: open `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report := filepath.Join(dir, "r.csv")
			code, _, stderr := runCLI(t, append([]string{"run", "--fake", "--report", report, "--quiet"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, exitUsage, tc.want, stderr)
			}
			if _, err := os.Stat(report); !os.IsNotExist(err) {
				t.Errorf("a refused run left a report (%v)", err)
			}
		})
	}

	// A value that is not a boolean: that row invalid, the others sent.
	in := write("bad-bool.csv", "user_id,peer_id,is_group,starred,pinned,label\nu1,p1,0,true,false,\nu2,g2,1,maybe,false,\nu3,p3,2,true,true,\n")
	report := filepath.Join(dir, "bad-bool-report.csv")
	code, _, stderr := runCLI(t, "run", "--fake", "--input", in, "--map-file", mapFile, "--report", report, "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want %d\n%s", code, exitSomeNotOK, stderr)
	}
	got := readReport(t, report)
	if r := got[1]; r.status != "ok" {
		t.Errorf("row 1: %+v", r)
	}
	if r := got[2]; r.status != "invalid" || r.from != "u2" || r.typ != "group" || r.peer != "g2" ||
		!strings.Contains(r.message, `starred: "maybe" is not true or false (true/false, t/f, yes/no, y/n or 1/0, any case) (a mark's column: `+mapFile+` line 6 (marks))`) {
		t.Errorf("row 2: %+v", r)
	}
	if r := got[3]; r.status != "invalid" || r.typ != "2" || !strings.Contains(r.message, `is_group: "2" is not true or false`) {
		t.Errorf("row 3: %+v", r)
	}
}

// TestMapFileSettings: --map-file comes from MARKIMPORT_MAP_FILE or the
// config file as every flag does, and markimport config shows the file in
// effect and where it came from.
func TestMapFileSettings(t *testing.T) {
	mapFile := filepath.Join(legacyDir, "map.toml")
	t.Setenv("MARKIMPORT_MAP_FILE", mapFile)
	code, stdout, stderr := runCLI(t, "config", "validate")
	if code != exitOK || !strings.Contains(stdout, "--map-file") || !strings.Contains(stdout, mapFile) || !strings.Contains(stdout, "env MARKIMPORT_MAP_FILE") {
		t.Fatalf("config: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "validate", "--input", filepath.Join(legacyDir, "legacy.parquet"))
	if code != exitOK || !strings.Contains(stdout, "600") {
		t.Errorf("validate with MARKIMPORT_MAP_FILE: exit %d\n%s%s", code, stdout, stderr)
	}

	t.Setenv("MARKIMPORT_MAP_FILE", "")
	os.Unsetenv("MARKIMPORT_MAP_FILE")
	cfg := filepath.Join(t.TempDir(), "markimport.toml")
	if err := os.WriteFile(cfg, []byte("[validate]\nmap-file = "+quoteTOML(mapFile)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "config", "validate", "--config", cfg)
	if code != exitOK || !strings.Contains(stdout, mapFile) || !strings.Contains(stdout, cfg+" [validate]") {
		t.Errorf("config from a file: exit %d\n%s%s", code, stdout, stderr)
	}
}

// quoteTOML is s as a TOML literal string.
func quoteTOML(s string) string { return "'" + s + "'" }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return "line " + strconv.Itoa(i+1) + ":\n got " + g[i] + "\nwant " + w[i]
		}
	}
	return "lengths differ"
}
