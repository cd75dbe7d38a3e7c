package main

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"markimport/readers"
	"markimport/sink/fakeim"
)

// TestBackupObjectProvesItself: a backup read from a bucket is judged as
// the same file on disk is: cut by ten lines, edited, or without its
// check object, it is refused as the input of run, verify and run
// --resume (exit 2, nothing sent, the message naming the object and what
// is wrong); --force imports it as it is, with a warning; untouched, CSV
// or Parquet, it rolls back and verifies.
func TestBackupObjectProvesItself(t *testing.T) {
	s3 := startBucket(t)
	dir, in, rows := newInput(t, 78, 600)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	before := initialState(t, srv, rows, 14)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	const bk = "s3://night/b/backup.csv"
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--backup", bk}, connArgs(url)...)...); code != exitSomeNotOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	whole, check := s3.Get(t, obj(t, bk)), s3.Get(t, obj(t, bk+".check"))
	n := strings.Count(string(whole), "\n") - 1
	lines := strings.SplitAfter(string(whole), "\n")
	edited := []byte(lines[0] + "x" + strings.Join(lines[1:], ""))
	for _, tc := range []struct {
		name  string
		input string // where the damaged backup is put
		bytes []byte
		want  string
	}{
		{"ten lines cut off", "s3://night/cut/backup.csv", []byte(strings.Join(strings.SplitAfter(string(whole), "\n")[:n+1-10], "")), "lost its end"},
		{"a user changed", "s3://night/edit/backup.csv", edited, "changed"},
		{"check object missing", "s3://night/nocheck/backup.csv", whole, "no check file s3://night/nocheck/backup.csv.check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3.Put(t, obj(t, tc.input), tc.bytes)
			if tc.name != "check object missing" {
				s3.Put(t, obj(t, tc.input+".check"), check)
			}
			writes := srv.Stats().APIs[fakeim.MarkContact].Requests
			for _, args := range [][]string{
				{"run", "--input", tc.input, "--report", filepath.Join(dir, "rb.csv"), "--overwrite"},
				{"verify", "--input", tc.input, "--report", filepath.Join(dir, "v.csv"), "--overwrite"},
				{"run", "--input", tc.input, "--report", filepath.Join(dir, "r.csv"), "--resume"},
			} {
				code, _, stderr := runCLI(t, append(args, connArgs(url)...)...)
				if code != exitUsage || !strings.Contains(stderr, tc.input+" does not prove itself") || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "--force") {
					t.Errorf("%v of the damaged backup: exit %d %q, want 2 naming the object, saying %q and offering --force", args, code, stderr, tc.want)
				}
			}
			if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != writes {
				t.Errorf("%d requests sent by refused commands", got-writes)
			}
			if tc.name != "ten lines cut off" {
				return
			}
			// Knowingly: the ten conversations cut off are not restored.
			code, _, stderr := runCLI(t, append([]string{"run", "--input", tc.input, "--report", filepath.Join(dir, "rb.csv"), "--overwrite", "--force"}, runArgs(url)[1:]...)...)
			if code != exitOK || !strings.Contains(stderr, "--force: importing a backup that does not prove itself") {
				t.Fatalf("--force: exit %d, want 0 and a warning\n%s", code, stderr)
			}
			if got := len(readReport(t, filepath.Join(dir, "rb.csv"))); got != n-10 {
				t.Errorf("--force imported %d rows, want the %d left", got, n-10)
			}
		})
	}

	// Untouched, it rolls back; so does a Parquet backup in the bucket,
	// read by ranges.
	rollBack(t, srv, url, bk, filepath.Join(dir, "rollback"))
	checkRolledBack(t, srv, rows, before)
	const pq = "s3://night/p/backup.parquet"
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r2.csv"), "--backup", pq}, connArgs(url)...)...); code != exitSomeNotOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	rollBack(t, srv, url, pq, filepath.Join(dir, "rollback-parquet"))
	checkRolledBack(t, srv, rows, before)
}

// TestBackupObjectReadAsListed: the proof streams the version of the
// object the input was resolved to; one replaced since is an error, not
// another file proven in its place.
func TestBackupObjectReadAsListed(t *testing.T) {
	s3 := startBucket(t)
	s3.Put(t, obj(t, "s3://night/b/backup.csv"), []byte("from_account,to_account,set_mark\nu,p,1\n"))
	in, err := readers.ResolveInput([]string{"s3://night/b/backup.csv"}, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := storedBackup(context.Background(), &in.Parts[0])
	if err != nil {
		t.Fatal(err)
	}
	rc, err := st.Open()
	if err != nil {
		t.Fatalf("the object as listed: %v", err)
	}
	rc.Close()
	s3.Put(t, obj(t, "s3://night/b/backup.csv"), []byte("from_account,to_account,set_mark\nu,q,2\n"))
	if rc, err := st.Open(); err == nil || !strings.Contains(err.Error(), "changed since the input was listed") {
		if rc != nil {
			rc.Close()
		}
		t.Fatalf("the object replaced: %v, want it refused as changed", err)
	}
	if _, err := st.Check(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no check object: %v, want fs.ErrNotExist", err)
	}
}
