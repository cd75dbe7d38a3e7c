package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

// TestNightlyFromConfigAndEnvironment: a nightly run given only a config
// file and the environment (no flag but --config) imports exactly; the
// command line beats the environment, which beats the file, whose
// command table beats its top level; markimport config says where each
// value came from and never shows a secret.
func TestNightlyFromConfigAndEnvironment(t *testing.T) {
	dir, in, rows := newInput(t, 95, 1500)
	srv, url := startEmulator(t, fakeim.Config{})
	report := filepath.Join(dir, "night.csv")
	cfg := filepath.Join(dir, "markimport.toml")
	writeFile := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(cfg, `# the nightly job's settings
endpoint = "`+url+`"
admin = "`+testAdmin+`"
profile = "`+testProfile()+`"
quiet = true
rate = 50
backup = "a setting validate does not take: left alone for it"

[run]
input = ["`+in+`"]
report = "`+report+`"
rate = 150
`)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	t.Setenv("MARKIMPORT_SDKAPPID", strconv.Itoa(testAppID))
	t.Setenv("MARKIMPORT_CONFIG", cfg)
	t.Setenv("MARKIMPORT_READ_RATE", "120")

	code, stdout, stderr := runCLI(t, "config", "run", "--read-rate", "90")
	if code != exitOK {
		t.Fatalf("config: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		`--rate               "150"                        ` + cfg + ` [run]`,
		`--read-rate          "90"                         flag`,
		`--endpoint           "` + url + `"`,
		`--sdkappid           "` + strconv.Itoa(testAppID) + `"`,
		"env MARKIMPORT_SDKAPPID",
		"MARKIMPORT_SECRET_KEY set (not shown)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("config output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, testKey) {
		t.Error("markimport config printed the secret key")
	}
	code, stdout, _ = runCLI(t, "config", "validate")
	if !strings.Contains(stdout, `--rate               "50"`) || strings.Contains(stdout, "--backup") || strings.Contains(stdout, "night.csv") {
		t.Errorf("validate's settings: the top level alone, no flag validate does not take:\n%s", stdout)
	}
	t.Setenv("MARKIMPORT_RATE", "80")
	if _, stdout, _ = runCLI(t, "config", "run"); !strings.Contains(stdout, `--rate               "80"                         env MARKIMPORT_RATE`) {
		t.Errorf("the environment does not beat the file:\n%s", stdout)
	}

	// validate under the same file: the settings it does not take (the
	// backup) and the connection it uses only with --online are left alone.
	code, stdout, stderr = runCLI(t, "validate", "--input", in)
	if code != exitSomeNotOK || strings.Contains(stdout+stderr, "backup") {
		t.Fatalf("validate under the nightly file: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat("a setting validate does not take: left alone for it"); !os.IsNotExist(err) {
		t.Errorf("validate wrote the run's backup: %v", err)
	}

	// The run itself, from the file and the environment alone.
	writeFile(cfg, strings.Replace(mustRead(t, cfg), `backup = "a setting validate does not take: left alone for it"`, "", 1))
	code, stdout, stderr = runCLI(t, "run")
	if code != exitSomeNotOK { // the generated invalid and rejected rows
		t.Fatalf("run from the config file: exit %d\n%s%s", code, stdout, stderr)
	}
	checkImport(t, srv, rows, report)
}

// TestSettingsRefusals: a setting that is no flag (with the nearest one),
// a table that is no command, a flag in a command's table that the
// command does not take, and a value the flag refuses, from the file or
// the environment: exit 2, naming where it came from.
func TestSettingsRefusals(t *testing.T) {
	dir, in, _ := newInput(t, 96, 50)
	for _, tc := range []struct {
		name, file, env, want string
	}{
		{"unknown key", "repot = \"r.csv\"\n", "", `"repot" is not a setting (did you mean "report"?)`},
		{"unknown table", "[nightly]\nrate = 5\n", "", "[nightly] is not a command's table"},
		{"foreign flag in a table", "[validate]\nbackup = \"b.csv\"\n", "", "[validate] backup: --backup belongs to run"},
		{"bad value in the file", "rate = \"fast\"\n", "", ": rate: "},
		{"bad value in the environment", "", "MARKIMPORT_RATE=abc", `MARKIMPORT_RATE="abc"`},
		{"not TOML", "rate = = 5\n", "", "--config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "c.toml")
			if err := os.WriteFile(cfg, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			if name, value, ok := strings.Cut(tc.env, "="); ok {
				t.Setenv(name, value)
			}
			code, _, stderr := runCLI(t, "validate", "--input", in, "--config", cfg)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 2 and %q\n%s", code, tc.want, stderr)
			}
		})
	}
}

// TestConfigCommand: markimport config -h says what config does (not the
// help of the command it shows), and config refuses a flag that the
// command it shows would refuse, rather than show that command's
// settings without it.
func TestConfigCommand(t *testing.T) {
	for _, args := range [][]string{{"config", "-h"}, {"config", "verify", "--rate", "5", "--help"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitOK || !strings.Contains(stdout, "markimport config [validate|run|verify] [flags]") || strings.Contains(stdout, "imports the marks") || strings.Contains(stdout, "reads back the marks") {
			t.Errorf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "verify", "--state", "s"}, "--state belongs to validate and run"},
		{[]string{"config", "validate", "--backup", "b.csv"}, "--backup belongs to run"},
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Contains(stdout, "settings") {
			t.Errorf("%v: exit %d, want 2 and %q\n%s%s", tc.args, code, tc.want, stdout, stderr)
		}
	}
	if code, stdout, stderr := runCLI(t, "config", "run", "--state", "s"); code != exitOK || !strings.Contains(stdout, "--state") {
		t.Errorf("config run --state: exit %d\n%s%s", code, stdout, stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
