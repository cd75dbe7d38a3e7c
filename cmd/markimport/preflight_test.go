package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"markimport/pipeline/preflight"
	"markimport/sink/fakeim"
)

// TestPreflightVariants runs the command against the emulator playing each
// service the documentation allows: it says which one it met, leaves the
// scratch conversation as it was, and writes a profile that reads back.
func TestPreflightVariants(t *testing.T) {
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	scratch := fakeim.Conversation{Type: fakeim.C2C, Peer: "test_b"}
	for _, tt := range []struct {
		name  string
		cfg   fakeim.Config
		order string
	}{
		{"bit 0 last", fakeim.Config{}, "bit-0-last"},
		{"bit 0 first", fakeim.Config{BitZeroFirst: true, ShortStandardMark: true}, "bit-0-first"},
		{"set wins, unknown accounts refused", fakeim.Config{SetAndClear: fakeim.SetClearSetWins, Users: []string{"test_a", "test_b"}}, "bit-0-last"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, url := startEmulator(t, tt.cfg)
			seedScratch(t, url)
			before := srv.Conversations("test_a")[scratch]
			profile := filepath.Join(t.TempDir(), "profile.json")
			code, out, errOut := runCLI(t, append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", profile}, connArgs(url)...)...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if after := srv.Conversations("test_a")[scratch]; after.Standard != before.Standard || after.Custom != before.Custom {
				t.Errorf("scratch conversation %+v after, %+v before", after, before)
			}
			for _, want := range []string{"CHECK", "bit order of StandardMark", "latency", "service profile written"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			p, err := preflight.ReadProfile(profile, testAppID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if p.Findings.BitOrder != tt.order || p.Endpoint != url {
				t.Errorf("profile %+v", p)
			}
			if strings.Contains(out+errOut, testKey) {
				t.Error("the secret key was printed")
			}
			// A second preflight does not replace the profile unasked.
			code, _, errOut = runCLI(t, append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", profile}, connArgs(url)...)...)
			if code != exitUsage || !strings.Contains(errOut, "--overwrite") {
				t.Errorf("second preflight: exit %d, %s", code, errOut)
			}
		})
	}
}

// seedScratch gives the scratch conversation marks that read differently
// from each end, through the command line.
func seedScratch(t *testing.T, url string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "seed.csv")
	if err := os.WriteFile(in, []byte("from_account,to_account,set_mark,custom_mark\ntest_a,test_b,0|3|40,before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv")}, connArgs(url)...)...); code != exitOK {
		t.Fatalf("seed: exit %d %s", code, errOut)
	}
}

// TestPreflightRefusals: usage errors exit 2 before anything is sent; a
// fatal answer exits 3 naming it.
func TestPreflightRefusals(t *testing.T) {
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	srv, url := startEmulator(t, fakeim.Config{})
	for _, args := range [][]string{
		{"preflight"},
		{"preflight", "--scratch", "test_a:c2c"},
		{"preflight", "--scratch", "test_a:dm:test_b"},
		{"preflight", "--scratch", "test_a:c2c:test_a"},
	} {
		if code, _, _ := runCLI(t, append(args, connArgs(url)...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent by refused commands", n)
	}
	_, other := startEmulator(t, fakeim.Config{Admins: []string{"someone-else"}})
	code, _, errOut := runCLI(t, append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", filepath.Join(t.TempDir(), "p.json")}, connArgs(other)...)...)
	if code != exitFatal || !strings.Contains(errOut, "50003") {
		t.Errorf("wrong admin: exit %d, %s", code, errOut)
	}
	_ = context.Background
}
