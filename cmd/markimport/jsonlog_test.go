package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

// jsonLines parses every line of out as one JSON object, failing on a line
// that is not one.
func jsonLines(t *testing.T, name, stream, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" && out == "" {
			break
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: a line of %s is not a JSON object: %q", name, stream, l)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestJSONLogs: with --log-format json every line every command writes on
// stdout and on stderr is one JSON object, --quiet or not, whether it
// ends well, refused or stopped: the summary is one object ("msg":
// "summary"), the refusals and stops are log lines, and the first line of
// stderr is "run started", the last "run finished" with the exit code
// (and, once there is a summary, its counts).
func TestJSONLogs(t *testing.T) {
	dir, in, _ := newInput(t, 96, 30)
	p := func(name string) string { return filepath.Join(dir, name) }
	empty := p("empty.csv")
	if err := os.WriteFile(empty, []byte("from_account,to_account,set_mark\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	_, url := startEmulator(t, fakeim.Config{})
	seedScratch(t, url)
	fakeState := p("im.json")
	for _, c := range []struct {
		name    string
		args    []string
		code    int
		summary bool // a summary object on stdout and counts in "run finished"
		want    string
	}{
		{"validate", []string{"validate", "--input", in}, exitSomeNotOK, true, ""},
		{"run", []string{"run", "--fake", "--fake-state", fakeState, "--input", in, "--report", p("r.csv")}, exitSomeNotOK, true, ""},
		{"verify", []string{"verify", "--fake", "--fake-state", fakeState, "--input", in, "--report", p("v.csv")}, exitOK, true, ""},
		{"preflight", append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", p("profile.json")}, preflightConn(url)...), exitOK, false, "service profile written"},
		{"refused", []string{"validate", "--input", in, "--backup", p("b.csv")}, exitUsage, false, "--backup belongs to run"},
		{"input error", []string{"run", "--fake", "--input", empty, "--report", p("e.csv")}, exitUsage, false, "no data rows"},
		{"max-invalid", []string{"validate", "--input", in, "--max-invalid", "0"}, exitMaxInvalid, true, "exceed --max-invalid"},
		{"unreachable", []string{"run", "--endpoint", "http://127.0.0.1:1", "--sdkappid", "1400000000", "--admin", "a", "--max-attempts", "1", "--input", in, "--report", p("u.csv")}, exitFatal, true, "Fix the cause"},
	} {
		for _, quiet := range []bool{false, true} {
			args := append(append([]string{}, c.args...), "--log-format", "json", "--overwrite")
			name := c.name
			if quiet {
				args, name = append(args, "--quiet"), name+" --quiet"
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != c.code {
				t.Fatalf("%s: exit %d, want %d\n%s%s", name, code, c.code, stdout, stderr)
			}
			out, errs := jsonLines(t, name, "stdout", stdout), jsonLines(t, name, "stderr", stderr)
			if len(errs) < 2 || errs[0]["msg"] != "run started" || errs[len(errs)-1]["msg"] != "run finished" {
				t.Fatalf("%s: stderr does not go from run started to run finished:\n%s", name, stderr)
			}
			last := errs[len(errs)-1]
			if last["exit_code"] != float64(c.code) || last["command"] != c.args[0] || (c.summary && last["rows"] == nil) {
				t.Errorf("%s: run finished %v, want exit_code %d and the counts", name, last, c.code)
			}
			var sum map[string]any
			for _, l := range out {
				if l["msg"] == "summary" {
					sum = l
				}
			}
			if rows, ok := sum["rows"].(float64); c.summary && (!ok || rows == 0 || rows != last["rows"]) {
				t.Errorf("%s: no summary object with the rows on stdout:\n%s", name, stdout)
			}
			if c.want != "" && !strings.Contains(stdout+stderr, c.want) {
				t.Errorf("%s: nothing says %q:\n%s%s", name, c.want, stdout, stderr)
			}
		}
	}
}
