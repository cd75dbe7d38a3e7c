package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestExitCodesREADME: the README's table of exit codes says what help
// says, code for code and word for word (the README adds backquotes).
func TestExitCodesREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Exit codes\n")
	if !ok {
		t.Fatal("README.md has no Exit codes section")
	}
	readme := map[int]string{}
	var order []int
	for _, line := range strings.Split(section, "\n")[1:] {
		if strings.HasPrefix(line, "## ") {
			break
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		code, err := strconv.Atoi(cells[0])
		if len(cells) != 2 || err != nil {
			if len(order) > 0 {
				break // the end of the first table
			}
			continue
		}
		readme[code] = strings.ReplaceAll(cells[1], "`", "")
		order = append(order, code)
	}
	if len(order) != len(exitCodes) {
		t.Fatalf("README.md lists exit codes %v, help %d of them", order, len(exitCodes))
	}
	_, stdout, stderr := runCLI(t, "validate", "-h")
	help := stdout + stderr
	for i, e := range exitCodes {
		if order[i] != e.code || readme[e.code] != e.meaning {
			t.Errorf("exit %d: README.md says\n  %q\nhelp says\n  %q", e.code, readme[e.code], e.meaning)
		}
		if !strings.Contains(strings.Join(strings.Fields(help), " "), strconv.Itoa(e.code)+" "+e.meaning) {
			t.Errorf("validate -h does not explain exit %d:\n%s", e.code, help)
		}
	}
}

// TestAllowEmpty: an input with a header and no row (a night without
// changes) is an input error (exit 2) unless --allow-empty, which makes it
// a success with a warning, an empty report and a summary of no rows, in
// validate, run and verify, for CSV and Parquet.
func TestAllowEmpty(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	csvIn := p("empty.csv")
	if err := os.WriteFile(csvIn, []byte("from_account,to_account,set_mark\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeState := p("im.json")
	if err := os.WriteFile(fakeState, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{csvIn, "../../testdata/parquet/arrow_no_rows.parquet"} {
		for _, args := range [][]string{
			{"validate", "--input", in},
			{"run", "--fake", "--input", in, "--report", p("r.csv"), "--overwrite"},
			{"verify", "--fake", "--fake-state", fakeState, "--input", in, "--report", p("v.csv"), "--overwrite"},
		} {
			name := args[0] + " " + filepath.Ext(in)
			code, _, stderr := runCLI(t, args...)
			if code != exitUsage || !strings.Contains(stderr, "no data rows") {
				t.Fatalf("%s without --allow-empty: exit %d, want 2\n%s", name, code, stderr)
			}
			sum := p("s.json")
			code, stdout, stderr := runCLI(t, append(args, "--allow-empty", "--summary", sum, "--overwrite")...)
			if code != exitOK || !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, "no rows; --allow-empty") {
				t.Fatalf("%s --allow-empty: exit %d, want 0 and a warning\n%s%s", name, code, stdout, stderr)
			}
			if strings.Contains(stdout, "stopped") {
				t.Errorf("%s --allow-empty: the summary says it stopped:\n%s", name, stdout)
			}
			if s := readSummary(t, sum); s["rows"] != 0.0 || s["exit_code"] != 0.0 {
				t.Errorf("%s --allow-empty: summary rows %v, exit_code %v", name, s["rows"], s["exit_code"])
			}
			if args[0] != "validate" {
				report := args[slices.Index(args, "--report")+1]
				if lines := readCSVFile(t, report, ""); len(lines) != 1 {
					t.Errorf("%s --allow-empty: report %s has %d lines, want its header only", name, report, len(lines))
				}
			}
		}
	}
}
