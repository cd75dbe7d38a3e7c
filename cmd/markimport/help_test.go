package main

import (
	"encoding/json"
	"flag"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// helpFlags are the flags a command's -h lists, and its whole text.
func helpFlags(t *testing.T, command string) (map[string]bool, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, command, "-h")
	if code != exitOK || stderr != "" {
		t.Fatalf("%s -h: exit %d, stderr %q", command, code, stderr)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z0-9-]+)`).FindAllStringSubmatch(stdout, -1) {
		flags[m[1]] = true
	}
	return flags, stdout
}

// TestHelpListsWhatCommandTakes: each command's -h lists its flags with
// two dashes, and exactly those it does not refuse: every flag of the
// shared flag set missing from the help is refused (exit 2) naming the
// commands it belongs to, and none listed is.
func TestHelpListsWhatCommandTakes(t *testing.T) {
	dir, in, _ := newInput(t, 95, 5)
	// Flags given "x" write files named x (--cpuprofile=x): in the test's
	// folder, not in the source tree.
	t.Chdir(dir)
	report := filepath.Join(dir, "r.csv")
	base := map[string][]string{
		"validate": {"validate", "--input", in},
		"run":      {"run", "--input", in, "--report", report},
		"verify":   {"verify", "--input", in, "--report", report},
	}
	fs, _ := newImportFlags("all")
	for _, command := range []string{"validate", "run", "verify"} {
		listed, text := helpFlags(t, command)
		if regexp.MustCompile(`(?m)^\s+-[a-z]`).MatchString(text) {
			t.Errorf("%s -h prints a flag with one dash:\n%s", command, text)
		}
		if !strings.Contains(text, "Exit codes:") {
			t.Errorf("%s -h says nothing of exit codes", command)
		}
		fs.VisitAll(func(f *flag.Flag) {
			arg := "--" + f.Name
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				arg += "=" + map[bool]string{true: "x", false: f.DefValue}[f.DefValue == ""]
			}
			code, stdout, stderr := runCLI(t, append(append([]string{}, base[command]...), arg, "--quiet")...)
			refused := strings.Contains(stderr, "--"+f.Name+" belongs to ")
			switch {
			case listed[f.Name] && refused:
				t.Errorf("%s -h lists --%s, which %s refuses: %s", command, f.Name, command, stderr)
			case !listed[f.Name] && (!refused || code != exitUsage || stdout != ""):
				t.Errorf("%s -h does not list --%s, yet %s %s: exit %d\n%s", command, f.Name, command, arg, code, stderr)
			}
		})
	}
	// What the issue found listed and refused.
	verify, _ := helpFlags(t, "verify")
	for _, name := range []string{"backup", "mode", "resume", "state", "full", "rejects", "max-invalid", "read-rate"} {
		if verify[name] {
			t.Errorf("verify -h lists --%s", name)
		}
	}
	validate, _ := helpFlags(t, "validate")
	for _, name := range []string{"backup", "mode"} {
		if validate[name] {
			t.Errorf("validate -h lists --%s", name)
		}
	}
}

// TestUnknownFlag: a mistyped flag is one line naming it, with the flag
// of the command closest to it when one is close, and one line pointing
// to -h; exit 2, no usage dump. With --log-format json, one JSON object.
func TestUnknownFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--reprot", "r.csv"}, "markimport run: unknown flag --reprot; did you mean --report?"},
		{[]string{"validate", "--input", "x.csv", "--alow-empty"}, "markimport validate: unknown flag --alow-empty; did you mean --allow-empty?"},
		{[]string{"verify", "--sumary=s.json"}, "markimport verify: unknown flag --sumary; did you mean --summary?"},
		// --backup is run's: verify does not suggest it.
		{[]string{"verify", "--bakup", "b.csv"}, "markimport verify: unknown flag --bakup"},
		{[]string{"run", "--zzz"}, "markimport run: unknown flag --zzz"},
		{[]string{"run", "--rate", "fast"}, `markimport run: invalid value "fast" for flag --rate: parse error`},
		{[]string{"preflight", "--scrach", "a:c2c:b"}, "markimport preflight: unknown flag --scrach; did you mean --scratch?"},
		{[]string{"fake-server", "--listn", "127.0.0.1:0"}, "markimport fake-server: unknown flag --listn; did you mean --listen?"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		hint := `See "markimport ` + c.args[0] + ` -h" for its flags.`
		if code != exitUsage || stdout != "" || len(lines) != 2 || lines[0] != c.want || lines[1] != hint {
			t.Errorf("%v: exit %d, stderr\n%s\nwant exit 2 and\n%s\n%s", c.args, code, stderr, c.want, hint)
		}
	}
	code, stdout, stderr := runCLI(t, "run", "--log-format", "json", "--reprot", "r.csv")
	var line map[string]any
	if err := json.Unmarshal([]byte(stderr), &line); code != exitUsage || stdout != "" || err != nil || strings.Count(stderr, "\n") != 1 ||
		line["level"] != "ERROR" || line["msg"] != "unknown flag --reprot; did you mean --report?" || line["command"] != "run" {
		t.Errorf("--log-format json: exit %d, stderr %q (%v)", code, stderr, err)
	}
}

// TestVersion: --version and version print the version, the commit the
// binary was built from (when go build recorded it) and the Go that built
// it.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, stdout, _ := runCLI(t, arg)
		if code != exitOK || !strings.HasPrefix(stdout, "markimport ") || !strings.Contains(stdout, "commit ") || !strings.Contains(stdout, runtime.Version()) {
			t.Errorf("markimport %s: exit %d, %q", arg, code, stdout)
		}
	}
	bin := buildBinary(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`vcs\.revision=([0-9a-f]+)`).FindSubmatch(info); m != nil && !strings.Contains(string(out), string(m[1])) {
		t.Errorf("--version %q does not name the commit %s", out, m[1])
	}
}
