package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// TestPreflightFromConfigAndEnvironment: preflight takes every flag from
// MARKIMPORT_<FLAG> and the config file's top level and [preflight]
// table, as run does: given only --config, it checks the emulator and
// writes the profile the file names.
func TestPreflightFromConfigAndEnvironment(t *testing.T) {
	_, url := startEmulator(t, fakeim.Config{})
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.json")
	cfg := filepath.Join(dir, "markimport.toml")
	if err := os.WriteFile(cfg, []byte(`endpoint = "`+url+`"
state = "a setting of validate and run: left alone by preflight"
latency = "1ms"   # fake-server's: left alone too
[preflight]
scratch = "test_a:c2c:test_b"
profile = '`+profile+`'
[fake-server]
bit-order = "first"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	t.Setenv("MARKIMPORT_SDKAPPID", strconv.Itoa(testAppID))
	t.Setenv("MARKIMPORT_ADMIN", testAdmin)
	t.Setenv("MARKIMPORT_QUIET", "true")
	code, stdout, stderr := runCLI(t, "preflight", "--config", cfg)
	if code != exitOK {
		t.Fatalf("preflight: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(profile); err != nil {
		t.Errorf("no profile where the config file says: %v", err)
	}

	// A mistake in preflight's table is refused, by every command.
	if err := os.WriteFile(cfg, []byte("[preflight]\nscrach = \"a:c2c:b\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"preflight", "--config", cfg}, {"validate", "--input", filepath.Join(legacyDir, "marks.csv"), "--config", cfg}} {
		code, _, stderr = runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, `"scrach" is not a setting (did you mean "scratch"?)`) {
			t.Errorf("%s: exit %d\n%s", args[0], code, stderr)
		}
	}
}

// TestFakeServerFromConfigAndEnvironment: fake-server's flags come from
// the command line, then MARKIMPORT_<FLAG>, then its [fake-server] table,
// then the file's top level.
func TestFakeServerFromConfigAndEnvironment(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "markimport.toml")
	if err := os.WriteFile(cfg, []byte(`sdkappid = 1400000123
seed = 5
max-conversations = 10
[fake-server]
bit-order = "first"
latency = "20ms"
seed = 7
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MARKIMPORT_CONFIG", cfg)
	t.Setenv("MARKIMPORT_LATENCY", "3ms")
	t.Setenv("MARKIMPORT_LISTEN", "127.0.0.1:0")
	c, listen, code, ok := parseFakeServer([]string{"--max-conversations", "20"}, io.Discard, io.Discard)
	if !ok {
		t.Fatalf("exit %d", code)
	}
	if c.SDKAppID != 1400000123 || c.Seed != 7 || !c.BitZeroFirst || c.Latency != 3*time.Millisecond || c.MaxConversations != 20 || listen != "127.0.0.1:0" {
		t.Errorf("sdkappid %d (file), seed %d ([fake-server]), bit zero first %v ([fake-server]), latency %v (env), max conversations %d (flag), listen %q (env)",
			c.SDKAppID, c.Seed, c.BitZeroFirst, c.Latency, c.MaxConversations, listen)
	}

	t.Setenv("MARKIMPORT_RATE_LIMIT", "many")
	var stderr strings.Builder
	if _, _, code, ok := parseFakeServer(nil, io.Discard, &stderr); ok || code != exitUsage || !strings.Contains(stderr.String(), `MARKIMPORT_RATE_LIMIT="many"`) {
		t.Errorf("a bad value in the environment: ok %v, exit %d\n%s", ok, code, stderr.String())
	}
}
