package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

// TestEveryOutputKeepsWhatExists: every output (summary, rejects, backup,
// state, profiles, the emulator's state, verify's report) is refused over
// an existing file without --overwrite, with exit 2 naming the flag and
// the file; over a backup (or beside a backup's journal) every output is
// refused with --overwrite too, and the message does not suggest it; a
// --state that is a file or a folder of other files is refused; validate
// is never told to pass --resume, which it does not take (a killed run's
// journal is said to be run --resume's). No file changes.
func TestEveryOutputKeepsWhatExists(t *testing.T) {
	dir, in, _ := newInput(t, 81, 300)
	t.Chdir(dir)
	// A finished report and a backup with rows, from a rehearsal.
	if code, _, stderr := runCLI(t, "run", "--fake", "--input", in, "--report", "report.csv", "--backup", "backup.csv", "--summary", "s.json", "--quiet"); code != exitSomeNotOK {
		t.Fatalf("rehearsal: exit %d: %s", code, stderr)
	}
	if recs := readCSVFile(t, "backup.csv", backupHeader); len(recs) < 2 {
		t.Fatal("the rehearsal's backup holds no row")
	}
	b, _ := os.ReadFile("backup.csv")
	// The journal of a backup being written (its final file not yet there).
	os.WriteFile("running.csv.journal.csv", b, 0o644)
	os.WriteFile("empty-backup.csv", []byte(backupHeader+"\n"), 0o644)
	os.WriteFile("notes.txt", []byte("precious\n"), 0o644)
	os.Mkdir("photos", 0o755)
	os.WriteFile(filepath.Join("photos", "cat.jpg"), []byte("meow"), 0o644)
	_, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	fake := []string{"run", "--fake", "--input", in, "--quiet"}
	verify := append([]string{"verify", "--input", in}, connArgs(url)...)

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"rejects over a finished report", []string{"validate", "--input", in, "--rejects", "report.csv", "--quiet"}, []string{"--rejects report.csv exists", "--overwrite"}},
		{"summary over a summary", []string{"validate", "--input", in, "--summary", "s.json", "--quiet"}, []string{"--summary s.json exists", "--overwrite"}},
		{"summary over a backup", []string{"validate", "--input", in, "--summary", "backup.csv", "--quiet"}, []string{"--summary backup.csv", "is a backup"}},
		{"summary over a backup, --overwrite", []string{"validate", "--input", in, "--summary", "backup.csv", "--overwrite", "--quiet"}, []string{"is a backup"}},
		{"rejects over a backup's journal", []string{"validate", "--input", in, "--rejects", "running.csv.journal.csv", "--overwrite", "--quiet"}, []string{"--rejects", "is a backup"}},
		{"report over a backup", slices.Concat(fake, []string{"--report", "backup.csv"}), []string{"--report backup.csv", "is a backup"}},
		{"report over a backup, --overwrite", slices.Concat(fake, []string{"--report", "backup.csv", "--overwrite"}), []string{"is a backup"}},
		{"report beside a backup's journal", slices.Concat(fake, []string{"--report", "running.csv", "--overwrite"}), []string{"running.csv.journal.csv is a backup"}},
		{"validate report over a backup", []string{"validate", "--input", in, "--report", "empty-backup.csv", "--overwrite", "--quiet"}, []string{"empty-backup.csv is a backup"}},
		{"a backup without rows", slices.Concat(fake, []string{"--report", "new.csv", "--backup", "empty-backup.csv"}), []string{"--backup empty-backup.csv", "--overwrite"}},
		{"state is a file", slices.Concat(fake, []string{"--report", "new.csv", "--state", "notes.txt"}), []string{"--state notes.txt", "not a folder"}},
		{"state is a folder of other files", slices.Concat(fake, []string{"--report", "new.csv", "--state", "photos", "--overwrite"}), []string{"--state photos", "cat.jpg"}},
		{"cpuprofile over a summary", slices.Concat(fake, []string{"--report", "new.csv", "--cpuprofile", "s.json"}), []string{"--cpuprofile s.json exists"}},
		{"fake-state over a backup", slices.Concat(fake, []string{"--report", "new.csv", "--fake-state", "backup.csv", "--overwrite"}), []string{"--fake-state backup.csv", "is a backup"}},
		{"verify report over a backup", slices.Concat(verify, []string{"--report", "backup.csv", "--overwrite"}), []string{"--report backup.csv", "is a backup"}},
		{"verify summary over a summary", slices.Concat(verify, []string{"--report", "v.csv", "--summary", "s.json"}), []string{"--summary s.json exists"}},
		{"verify report over a run's journal", slices.Concat(verify, []string{"--report", "killed.csv", "--overwrite"}), []string{"killed.csv.journal.csv", "did not finish"}},
		{"validate report over a report", []string{"validate", "--input", in, "--report", "report.csv", "--quiet"}, []string{"the report report.csv exists", "--overwrite"}},
		{"validate report over a journal", []string{"validate", "--input", in, "--report", "killed.csv", "--quiet"}, []string{"killed.csv.journal.csv", "did not finish", "run --resume continues it", "--overwrite"}},
	}
	os.WriteFile("killed.csv.journal.csv", []byte("row,from_account,type,peer,status,code,message,attempts\n"), 0o644)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, dir)
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "is a backup") && strings.Contains(stderr, "pass --overwrite") {
				t.Errorf("message %q suggests --overwrite over a backup", stderr)
			}
			if tc.args[0] == "validate" && strings.Contains(stderr, "pass --resume") {
				t.Errorf("message %q tells validate to take --resume, which it does not", stderr)
			}
			sameFiles(t, dir, before)
			if entries, _ := os.ReadDir("photos"); len(entries) != 1 {
				t.Errorf("the folder given as --state holds %d entries, want its one file", len(entries))
			}
		})
	}

	// What --overwrite may replace, it does.
	if code, _, stderr := runCLI(t, "validate", "--input", in, "--rejects", "report.csv", "--summary", "s.json", "--overwrite", "--quiet"); code != exitSomeNotOK {
		t.Fatalf("validate --overwrite: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile("report.csv"); strings.HasPrefix(string(b), "row,") {
		t.Error("--rejects report.csv --overwrite left the report")
	}
	if code, _, stderr := runCLI(t, slices.Concat(fake, []string{"--report", "new.csv", "--backup", "empty-backup.csv", "--overwrite"})...); code != exitSomeNotOK {
		t.Fatalf("run --backup over a backup without rows, --overwrite: exit %d: %s", code, stderr)
	}
}

// TestEveryOutputIsLocked: every file a command writes is locked while it
// writes it, by validate, run and verify alike: a command that would write
// a file another holds is refused with exit 2 naming the holder, with
// --overwrite too, and sends nothing.
func TestEveryOutputIsLocked(t *testing.T) {
	dir, in, _ := newInput(t, 82, 200)
	t.Chdir(dir)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	run := append([]string{"run", "--input", in, "--report", "r.csv", "--overwrite"}, connArgs(url)...)
	verify := append([]string{"verify", "--input", in, "--report", "v.csv", "--overwrite"}, connArgs(url)...)
	for _, tc := range []struct {
		held string // the output another command is writing
		args []string
	}{
		{"s.json", []string{"validate", "--input", in, "--summary", "s.json", "--overwrite", "--quiet"}},
		{"j.csv", []string{"validate", "--input", in, "--rejects", "j.csv", "--overwrite", "--quiet"}},
		{"s.json", slices.Concat(run, []string{"--summary", "s.json"})},
		{"b.csv", slices.Concat(run, []string{"--backup", "b.csv"})},
		{"cpu.prof", slices.Concat(run, []string{"--cpuprofile", "cpu.prof"})},
		{"v.csv", verify},
		{"s.json", slices.Concat(verify, []string{"--summary", "s.json"})},
	} {
		t.Run(tc.args[0]+" "+tc.held, func(t *testing.T) {
			release, err := lockFile(tc.held+".lock", tc.held, "--x")
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			sent := srv.Stats().Requests
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, "another markimport run is using") || !strings.Contains(stderr, tc.held+" (markimport pid "+strconv.Itoa(os.Getpid())) {
				t.Fatalf("exit %d, stderr %q: want 2 naming %s and its holder", code, stderr, tc.held)
			}
			if got := srv.Stats().Requests - sent; got != 0 {
				t.Errorf("%d requests sent", got)
			}
		})
	}
}

// TestVerifyWaitsForTheRun: verify --report R --overwrite while a run (a
// real process) writes the report R is refused, naming the run's process;
// the run's report survives.
func TestVerifyWaitsForTheRun(t *testing.T) {
	bin := buildBinary(t)
	dir, in, rows := newInput(t, 83, 3000)
	// Served apart from the test's emulators (startEmulator), whose
	// arrivals runCLI checks against the in-process command's own.
	srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, Latency: 50 * time.Millisecond})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	url := hs.URL
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(dir, "r.csv")
	// The run's requests from the 21st are held until verify is done:
	// the run cannot end first.
	held := holdFrom(t, url, string(fakeim.MarkContact), 21)
	cmd, out := startRun(t, bin, held.url, "--input", in, "--report", report)
	waitRequests(t, srv, 20)
	code, _, stderr := verifyCLI(t, t.Context(), append([]string{"--input", in, "--report", report, "--overwrite"}, connArgs(url)...)...)
	held.release()
	if code != exitUsage || !strings.Contains(stderr, "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("verify onto a report being written: exit %d, stderr %q; want 2 naming pid %d", code, stderr, cmd.Process.Pid)
	}
	if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	checkImport(t, srv, rows, report)
}

// TestOutputsCheckedBeforeSending: an output in a folder that takes no new
// file, a temporary folder that takes none, and an output in a folder that
// does not exist are each refused with exit 2 naming the flag and the
// folder, before any request is sent.
func TestOutputsCheckedBeforeSending(t *testing.T) {
	bin := buildBinary(t)
	dir, in, _ := newInput(t, 84, 300)
	openToAll(t, dir)
	ro := filepath.Join(dir, "read-only")
	os.Mkdir(ro, 0o755)
	os.Mkdir(filepath.Join(ro, "state"), 0o755)
	os.Chmod(ro, 0o555)
	os.Chmod(filepath.Join(ro, "state"), 0o555)
	srv, url := startEmulator(t, fakeim.Config{})
	missing := filepath.Join(dir, "no-such-folder")
	n := 0
	for _, tc := range []struct {
		name  string
		env   []string
		extra []string
		want  []string
	}{
		{"summary", nil, []string{"--summary", filepath.Join(ro, "s.json")}, []string{"--summary", ro}},
		{"rejects", nil, []string{"--rejects", filepath.Join(ro, "j.csv")}, []string{"--rejects", ro}},
		{"backup", nil, []string{"--backup", filepath.Join(ro, "b.csv")}, []string{"--backup", ro}},
		{"state", nil, []string{"--state", filepath.Join(ro, "state")}, []string{"--state", ro}},
		{"new state", nil, []string{"--state", filepath.Join(ro, "new-state")}, []string{"--state", ro}},
		{"memprofile", nil, []string{"--memprofile", filepath.Join(ro, "mem.prof")}, []string{"--memprofile", ro}},
		{"temp-dir", nil, []string{"--temp-dir", ro}, []string{"--temp-dir", ro}},
		{"TMPDIR", []string{"TMPDIR=" + ro}, nil, []string{"TMPDIR", ro}},
		{"missing temp-dir", nil, []string{"--temp-dir", missing}, []string{"--temp-dir", missing}},
		{"missing summary folder", nil, []string{"--summary", filepath.Join(missing, "s.json")}, []string{"--summary", missing, "does not exist"}},
		{"missing report folder", nil, []string{"--report", filepath.Join(missing, "r.csv")}, []string{"--report", missing, "does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n++
			args := append([]string{"--input", in, "--report", filepath.Join(dir, "r"+strconv.Itoa(n)+".csv")}, tc.extra...)
			cmd, out := startRunAs(t, bin, url, tc.env, args...)
			code := exitCode(cmd.Wait())
			if code != exitUsage {
				t.Fatalf("exit %d, want 2\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("message %q lacks %q", out, w)
				}
			}
			if strings.Contains(out.String(), "pace file") {
				t.Errorf("message %q speaks of the pace file", out)
			}
			if got := srv.Stats().Requests; got != 0 {
				t.Fatalf("%d requests sent before the refusal", got)
			}
		})
	}
}

// openToAll lets every user into dir and the folder that holds it, so
// that a command run as another user (startRunAs) reads the input and
// writes its report there.
func openToAll(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
}

// startRunAs is startRunEnv for a process that a folder's mode can keep
// from writing: when the tests run as root (which writes in any folder),
// the process runs as the user nobody.
func startRunAs(t *testing.T, bin, url string, env []string, extra ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	args := append([]string{"run", "--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--profile", testProfile()}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "MARKIMPORT_SECRET_KEY="+testKey), env...)
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start a process as another user: %v", err)
	}
	return cmd, &out
}

// TestVerifyChecksItsOutputsFirst: verify, like run, refuses a temporary
// folder or an output folder that does not exist before it reads anything
// back.
func TestVerifyChecksItsOutputsFirst(t *testing.T) {
	dir, in, _ := newInput(t, 85, 200)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	missing := filepath.Join(dir, "no-such-folder")
	for _, extra := range [][]string{
		{"--report", filepath.Join(dir, "v.csv"), "--temp-dir", missing},
		{"--report", filepath.Join(dir, "v.csv"), "--summary", filepath.Join(missing, "s.json")},
		{"--report", filepath.Join(missing, "v.csv")},
	} {
		code, _, stderr := verifyCLI(t, t.Context(), slices.Concat([]string{"--input", in}, extra, connArgs(url))...)
		if code != exitUsage || !strings.Contains(stderr, extra[len(extra)-2]) || !strings.Contains(stderr, missing) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming the flag and %s", extra, code, stderr, missing)
		}
	}
	if got := srv.Stats().Requests; got != 0 {
		t.Errorf("%d requests sent", got)
	}
}
