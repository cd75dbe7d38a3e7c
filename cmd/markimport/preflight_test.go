package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"markimport/pipeline/durable"
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
		name           string
		cfg            fakeim.Config
		order, unknown string
	}{
		{"bit 0 last", fakeim.Config{}, "bit-0-last", "accepted"},
		{"bit 0 first", fakeim.Config{BitZeroFirst: true, ShortStandardMark: true}, "bit-0-first", "accepted"},
		{"set wins, unknown accounts refused", fakeim.Config{SetAndClear: fakeim.SetClearSetWins, Users: []string{"test_a", "test_b"}}, "bit-0-last", "refused 50001"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, url := startEmulator(t, tt.cfg)
			seedScratch(t, url)
			before := srv.Conversations("test_a")[scratch]
			profile := filepath.Join(t.TempDir(), "profile.json")
			code, out, errOut := runCLI(t, append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", profile}, preflightConn(url)...)...)
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
			if p.Findings.BitOrder != tt.order || p.Endpoint != url || p.Findings.UnknownFrom != tt.unknown {
				t.Errorf("profile %+v", p)
			}
			if strings.Contains(out+errOut, testKey) {
				t.Error("the secret key was printed")
			}
			// A second preflight does not replace the profile unasked.
			code, _, errOut = runCLI(t, append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", profile}, preflightConn(url)...)...)
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
	if code, _, errOut := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv")}, preflightConn(url)...)...); code != exitOK {
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
		if code, _, _ := runCLI(t, append(args, preflightConn(url)...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent by refused commands", n)
	}
	_, other := startEmulator(t, fakeim.Config{Admins: []string{"someone-else"}})
	code, _, errOut := runCLI(t, append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", filepath.Join(t.TempDir(), "p.json")}, preflightConn(other)...)...)
	if code != exitFatal || !strings.Contains(errOut, "50003") {
		t.Errorf("wrong admin: exit %d, %s", code, errOut)
	}
	_ = context.Background
}

// preflightConn are the connection flags of the test emulator for
// preflight, whose --profile is its output.
func preflightConn(url string) []string {
	return []string{"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet"}
}

// TestRehearsalAgainstEachService runs the whole rehearsal against the
// emulator playing each service the documentation allows: preflight, an
// import with --backup guided by its profile, the rollback, and verify of
// the backup; every conversation ends exactly as before the import.
func TestRehearsalAgainstEachService(t *testing.T) {
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	for _, tc := range []struct {
		name string
		cfg  fakeim.Config
	}{
		{"bit 0 last, padded", fakeim.Config{RateLimit: -1}},
		{"bit 0 first, padded", fakeim.Config{RateLimit: -1, BitZeroFirst: true}},
		{"bit 0 first, short", fakeim.Config{RateLimit: -1, BitZeroFirst: true, ShortStandardMark: true}},
		{"set wins, unknown accounts accepted", fakeim.Config{RateLimit: -1, SetAndClear: fakeim.SetClearSetWins, AcceptUnknownFrom: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, 71, 600)
			srv, url := startEmulator(t, tc.cfg)
			before := initialState(t, srv, rows, 5)
			profile := filepath.Join(dir, "profile.json")
			if code, out, errOut := runCLI(t, append([]string{"preflight", "--scratch", "pf_a:c2c:pf_b", "--profile", profile}, preflightConn(url)...)...); code != exitOK {
				t.Fatalf("preflight: exit %d\n%s\n%s", code, out, errOut)
			}
			conn := append(preflightConn(url), "--profile", profile)
			bk := filepath.Join(dir, "backup.csv")
			if code, _, errOut := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--backup", bk}, conn...)...); code != exitSomeNotOK {
				t.Fatalf("import: exit %d\n%s", code, errOut)
			}
			checkImportedOver(t, srv, rows, before)
			if code, _, errOut := runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rollback.csv")}, conn...)...); code != exitOK {
				t.Fatalf("rollback: exit %d\n%s", code, errOut)
			}
			checkRolledBack(t, srv, rows, before)
			if code, _, errOut := verifyCLI(t, context.Background(), append(conn, "--input", bk, "--report", filepath.Join(dir, "verify.csv"))...); code != exitOK {
				t.Fatalf("verify of the backup: exit %d\n%s", code, errOut)
			}
		})
	}
}

// TestReadsNeedAProfile: verify, --backup and --mode insert against an
// endpoint (a fake-server on loopback too) refuse to start without a
// profile, before any request, naming preflight; a profile of another app
// is refused too.
func TestReadsNeedAProfile(t *testing.T) {
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	dir, in, _ := newInput(t, 72, 50)
	srv, url := startEmulator(t, fakeim.Config{})
	for i, args := range [][]string{
		{"verify", "--input", in, "--report", filepath.Join(dir, "v.csv")},
		{"run", "--input", in, "--report", filepath.Join(dir, "b.csv"), "--backup", filepath.Join(dir, "backup.csv")},
		{"run", "--input", in, "--report", filepath.Join(dir, "i.csv"), "--mode", "insert"},
	} {
		code, _, errOut := runCLI(t, append(args, preflightConn(url)...)...)
		if code != exitUsage || !strings.Contains(errOut, "markimport preflight --scratch") || !strings.Contains(errOut, "--profile") {
			t.Errorf("case %d: exit %d, %s", i, code, errOut)
		}
	}
	other := filepath.Join(dir, "other.json")
	p, err := preflight.ReadProfile(testProfile(), testAppID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.SDKAppID = testAppID + 1
	if err := preflight.WriteProfile(durable.Local, other, p); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, append([]string{"verify", "--input", in, "--report", filepath.Join(dir, "v2.csv"), "--profile", other}, preflightConn(url)...)...)
	if code != exitUsage || !strings.Contains(errOut, "made for SDKAppID") {
		t.Errorf("another app's profile: exit %d, %s", code, errOut)
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests reached the emulator", n)
	}
}

// TestPreflightInterrupted: Ctrl-C (SIGINT to the process) at several
// points of the probing: preflight lets the write in flight finish,
// restores the scratch conversation, writes no profile and exits 130.
func TestPreflightInterrupted(t *testing.T) {
	bin := buildBinary(t)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	scratch := fakeim.Conversation{Type: fakeim.C2C, Peer: "test_b"}
	for _, after := range []int64{1, 3, 7} {
		srv, url := startEmulator(t, fakeim.Config{Latency: 40 * time.Millisecond})
		seedScratch(t, url)
		before := srv.Conversations("test_a")[scratch]
		profile := filepath.Join(t.TempDir(), "profile.json")
		// The write after the after-th is held until the signal is taken:
		// the probing cannot end first.
		next := holdFrom(t, url, string(fakeim.MarkContact), int(after)+1)
		cmd := exec.Command(bin, append([]string{"preflight", "--scratch", "test_a:c2c:test_b", "--profile", profile}, preflightConn(next.url)...)...)
		cmd.Env = append(os.Environ(), "MARKIMPORT_SECRET_KEY="+testKey)
		out := &childOutput{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitRequests(t, srv, 1+after) // the seed's request first
		cmd.Process.Signal(os.Interrupt)
		waitOutput(t, out, "finishing requests in flight")
		next.release()
		if code := exitCode(cmd.Wait()); code != exitInterrupted {
			t.Fatalf("SIGINT after %d writes: exit %d, want 130\n%s", after, code, out)
		}
		if got := srv.Conversations("test_a")[scratch]; got != before {
			t.Errorf("SIGINT after %d writes: scratch conversation %+v, was %+v\n%s", after, got, before, out)
		}
		if _, err := os.Stat(profile); !os.IsNotExist(err) {
			t.Errorf("SIGINT after %d writes: a profile was written (%v)", after, err)
		}
		if !strings.Contains(out.String(), "interrupted; no profile written") {
			t.Errorf("SIGINT after %d writes: output\n%s", after, out)
		}
	}
}
