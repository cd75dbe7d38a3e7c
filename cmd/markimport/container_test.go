package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
)

// staticBuild is the command built as the Dockerfile builds it: no cgo,
// no build paths, no symbol table.
func staticBuild(t *testing.T) string {
	t.Helper()
	return buildWith(t, []string{"CGO_ENABLED=0"}, "-trimpath", "-ldflags=-s -w")
}

// TestStaticBinary: the binary the image ships needs no libc (no ELF
// interpreter, no shared library), so it runs on an empty base image, and
// still names its commit in --version, with an empty environment.
func TestStaticBinary(t *testing.T) {
	bin := staticBuild(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an ELF interpreter: it is linked dynamically", bin)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v)", bin, libs, err)
	}
	cmd := exec.Command(bin, "--version")
	cmd.Env = []string{}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("--version in an empty environment: %v", err)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`vcs\.revision=([0-9a-f]+)`).FindSubmatch(info); m != nil && !strings.Contains(string(out), string(m[1])) {
		t.Errorf("--version %q does not name the commit %s", out, m[1])
	}
}

// TestContainer: the binary runs the way a container runs it: with no
// HOME and an environment holding nothing but TMPDIR (and, to read a
// bucket, the AWS variables), in a working folder it may not write and
// with a TMPDIR it may not write either (a read-only root file system),
// with one writable folder for --temp-dir and the outputs (an emptyDir).
// validate and three nights of run --fake with --state succeed (the
// second sends nothing, nor does the third, which reads the file from a
// bucket), and nothing is written but the outputs named: the working
// folder, the input's folder and TMPDIR stay as they were. As root, which
// may write anywhere, the same runs again as a user other than root,
// which a folder's mode can stop.
func TestContainer(t *testing.T) {
	bin := staticBuild(t)
	t.Run("this user", func(t *testing.T) { runAsContainer(t, bin, nil) })
	t.Run("non-root user", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skipf("the tests run as uid %d, not root: the case above ran as a user other than root", os.Getuid())
		}
		runAsContainer(t, bin, &syscall.Credential{Uid: 65534, Gid: 65534})
	})
}

// runAsContainer runs validate and two nights of run --fake as the user
// cred (nil: the test's own) in the folders a container gives, and checks
// what they wrote.
func runAsContainer(t *testing.T, bin string, cred *syscall.Credential) {
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := func(name string) string {
		p := filepath.Join(root, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(p, 0o755) })
		return p
	}
	in, cwd, tmp, w := dir("in"), dir("cwd"), dir("tmp"), dir("w")
	input := filepath.Join(in, "marks.csv")
	var b strings.Builder
	b.WriteString("from_account,to_account,set_mark\n")
	const users, peers = 40, 3
	for u := range users {
		for p := range peers {
			fmt.Fprintf(&b, "user%d,peer%d,%d\n", u, p, p)
		}
	}
	if err := os.WriteFile(input, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{in: 0o555, cwd: 0o555, tmp: 0o555, w: 0o777} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	inputBefore := snapshot(t, in)

	// The same file in a bucket, reached with the AWS variables alone: no
	// shared config file, no HOME to find one in, no instance metadata.
	bucket := s3test.Start(t)
	bucket.MakeBucket(t, "marks")
	bucket.PutFile(t, objstore.Location{Bucket: "marks", Key: "marks.csv"}, input)
	s3env := []string{"AWS_ENDPOINT_URL_S3=" + bucket.URL, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=" + s3test.Region, "AWS_EC2_METADATA_DISABLED=true"}

	out := func(name string) string { return filepath.Join(w, name) }
	local := []string{"--input", input, "--temp-dir", w, "--quiet"}
	remote := []string{"--input", "s3://marks/marks.csv", "--temp-dir", w, "--quiet"}
	steps := []struct {
		args     []string
		env      []string
		summary  string
		requests float64
	}{
		{append([]string{"validate", "--report", out("v.csv"), "--summary", out("v.json")}, local...), nil, out("v.json"), 0},
		{append([]string{"run", "--fake", "--state", out("state"), "--report", out("r1.csv"), "--summary", out("s1.json")}, local...), nil, out("s1.json"), users},
		{append([]string{"run", "--fake", "--state", out("state"), "--report", out("r2.csv"), "--summary", out("s2.json")}, local...), nil, out("s2.json"), 0},
		{append([]string{"run", "--fake", "--state", out("state"), "--report", out("r3.csv"), "--summary", out("s3.json")}, remote...), s3env, out("s3.json"), 0},
	}
	for _, s := range steps {
		cmd := exec.Command(bin, s.args...)
		cmd.Dir = cwd
		cmd.Env = append([]string{"TMPDIR=" + tmp}, s.env...)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		output, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Skipf("cannot start a process as uid %d: %v", cred.Uid, err)
		}
		if code := exitCode(err); code != exitOK {
			t.Fatalf("%s: exit %d, want 0\n%s", s.args[0], code, output)
		}
		sum := readSummary(t, s.summary)
		if sum["rows"] != float64(users*peers) || sum["requests_sent"] != s.requests {
			t.Errorf("%s: summary rows %v requests_sent %v, want %d and %v", s.args[0], sum["rows"], sum["requests_sent"], users*peers, s.requests)
		}
	}
	for night, want := range map[string]string{"r1.csv": "ok", "r2.csv": "unchanged", "r3.csv": "unchanged"} {
		report := readReport(t, out(night))
		for row := range int64(users * peers) {
			if got := report[row+1].status; got != want {
				t.Fatalf("%s row %d: %q, want %s", night, row+1, got, want)
			}
		}
	}

	for _, empty := range []string{cwd, tmp} {
		if entries, _ := os.ReadDir(empty); len(entries) > 0 {
			t.Errorf("%s: %d files written there, first %s", empty, len(entries), entries[0].Name())
		}
	}
	sameFiles(t, in, inputBefore)
	entries, err := os.ReadDir(w)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !regexp.MustCompile(`^(v\.csv|v\.json|r[123]\.csv|s[123]\.json|state)($|\.)`).MatchString(e.Name()) {
			t.Errorf("%s: %s is no output the commands were given", w, e.Name())
		}
	}
}
