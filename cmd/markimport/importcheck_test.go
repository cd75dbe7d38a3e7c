package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagRefusals: every combination of flags validate, run and verify
// refuse is refused with exit 2 before anything is opened or written, in
// the words that name the flag and what to do; when two checks would
// refuse, the one the user sees is the earlier.
func TestFlagRefusals(t *testing.T) {
	dir, in, _ := newInput(t, 91, 20)
	p := func(name string) string { return filepath.Join(dir, name) }
	report := p("r.csv")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"validate without input", []string{"validate"}, "--input is required"},
		{"run without report", []string{"run", "--input", in}, "--report is required"},
		{"resume and overwrite", []string{"run", "--input", in, "--report", report, "--resume", "--overwrite"}, "--resume continues the report and --overwrite replaces it: give one of them"},
		{"resume of stdin", []string{"run", "--input", "-", "--report", report, "--resume"}, "--resume needs an input file, not standard input"},
		{"rejects of stdin", []string{"validate", "--input", "-", "--rejects", p("x.csv")}, "--rejects needs an input file: standard input cannot be read twice"},
		{"state and sorted", []string{"validate", "--input", in, "--state", p("st"), "--sorted"}, "plans user by user in file order: drop --sorted"},
		{"full without state", []string{"validate", "--input", in, "--full"}, "--full refreshes the state: it needs --state"},
		{"fake-state without fake", []string{"run", "--input", in, "--report", report, "--fake-state", p("im.json")}, "--fake-state keeps the built-in emulator's marks between rehearsals: it needs --fake"},
		{"run-report to run", []string{"run", "--input", in, "--report", report, "--run-report", p("x.csv")}, "--run-report belongs to verify"},
		{"unknown mode", []string{"run", "--input", in, "--report", report, "--mode", "merge"}, `--mode "merge": upsert (write every item) or insert`},
		{"validate insert", []string{"validate", "--input", in, "--mode", "insert"}, "--mode belongs to run: validate cannot know which conversations already hold marks"},
		{"validate backup", []string{"validate", "--input", in, "--backup", p("b.csv")}, "--backup belongs to run: validate sends nothing"},
		{"compressed backup", []string{"run", "--input", in, "--report", report, "--backup", p("b.csv.gz")}, "the backup is written as plain CSV or Parquet (.parquet): drop the compression suffix"},
		{"max-invalid of stdin", []string{"validate", "--input", "-", "--max-invalid", "5"}, "--max-invalid needs an input file: standard input cannot be read twice"},
		{"bad delimiter", []string{"validate", "--input", in, "--delimiter", "ab"}, `--delimiter "ab": want one ASCII character or "tab"`},
		{"bad format", []string{"validate", "--input", in, "--format", "xls"}, "--format:"},
		{"rejects named parquet", []string{"validate", "--input", in, "--rejects", p("x.parquet")}, "a CSV input gives a CSV rejects file: do not name it .parquet"},
		{"bad max-invalid", []string{"validate", "--input", in, "--max-invalid", "many"}, "--max-invalid:"},
		{"bad memory-limit", []string{"validate", "--input", in, "--memory-limit", "lots"}, "--memory-limit:"},
		{"huge memory-limit", []string{"validate", "--input", in, "--memory-limit", "1e7TiB"}, `--memory-limit: "1e7TiB" is too large`},
		{"NaN memory-limit", []string{"validate", "--input", in, "--memory-limit", "NaN"}, `--memory-limit: "NaN" is not a size`},
		{"small memory-limit", []string{"validate", "--input", in, "--memory-limit", "1MiB"}, `--memory-limit: "1MiB" is too small: at least 16MiB`},
		{"bad rate", []string{"validate", "--input", in, "--rate", "0"}, "--rate 0:"},
		{"mode before backup", []string{"validate", "--input", in, "--mode", "insert", "--backup", p("b.csv")}, "--mode belongs to run: validate cannot know"},
		{"rejects before max-invalid", []string{"validate", "--input", "-", "--max-invalid", "5", "--rejects", p("x.csv")}, "--rejects needs an input file"},
		{"delimiter before memory-limit", []string{"validate", "--input", in, "--memory-limit", "lots", "--delimiter", "ab"}, "--delimiter"},

		{"verify without input", []string{"verify"}, "--input is required"},
		{"verify without report", []string{"verify", "--input", in}, "--report is required"},
		{"verify of an empty emulator", []string{"verify", "--input", in, "--report", report, "--fake"}, "--fake: the built-in emulator starts empty, so there is nothing to read back"},
		{"verify fake-state without fake", []string{"verify", "--input", in, "--report", report, "--fake-state", p("im.json")}, "it needs --fake"},
		{"verify rejects", []string{"verify", "--input", in, "--report", report, "--rejects", p("x.csv")}, "--rejects belongs to validate and run: verify reports every row in --report"},
		{"verify resume", []string{"verify", "--input", in, "--report", report, "--resume"}, "--resume belongs to run: verify reads every row again; there is nothing to resume"},
		{"verify mode", []string{"verify", "--input", in, "--report", report, "--mode", "insert"}, "--mode belongs to run: to verify an insert-only run, give its report with --run-report"},
		{"verify backup", []string{"verify", "--input", in, "--report", report, "--backup", p("b.csv")}, "--backup belongs to run: verify changes nothing"},
		{"verify strict-bits", []string{"verify", "--input", in, "--report", report, "--strict-bits"}, "--strict-bits belongs to validate and run: verify checks the marks"},
		{"verify state", []string{"verify", "--input", in, "--report", report, "--state", p("st")}, "--state belongs to validate and run: verify reads every row back"},
		{"verify missing run-report", []string{"verify", "--input", in, "--report", report, "--run-report", p("none.csv")}, "--run-report:"},
		{"verify bad delimiter", []string{"verify", "--input", in, "--report", report, "--delimiter", "ab"}, "--delimiter"},
		{"verify bad memory-limit", []string{"verify", "--input", in, "--report", report, "--memory-limit", "lots"}, "--memory-limit:"},
		{"verify report is the input", []string{"verify", "--input", in, "--report", in}, "--report"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, dir)
			code, stdout, stderr := runCLI(t, c.args...)
			if code != exitUsage || !strings.Contains(stderr, "markimport "+c.args[0]+": ") || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, c.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q: a refused command prints no summary", stdout)
			}
			sameFiles(t, dir, before)
		})
	}
}
