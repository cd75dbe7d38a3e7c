package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
)

// Inputs in object storage end to end, against a real S3 protocol server
// in the process, reached through the environment variables a user sets.

// startLakeBucket starts a server with the bucket "lake" holding
// testdata/lake's DuckDB exports under exports/, and points the
// environment at it.
func startLakeBucket(t *testing.T) *s3test.Server {
	t.Helper()
	srv := s3test.Start(t)
	srv.MakeBucket(t, "lake")
	srv.SetEnv(t)
	lake := filepath.Join("..", "..", "testdata", "lake")
	err := filepath.WalkDir(lake, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(lake, p)
		srv.PutFile(t, objstore.Location{Bucket: "lake", Key: "exports/" + filepath.ToSlash(rel)}, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Put(t, objstore.Location{Bucket: "lake", Key: "exports/duckdb_hive_parquet/_SUCCESS"}, nil)
	return srv
}

// TestS3InputLeavesTheAPIAsLocalFiles imports DuckDB's Hive export from
// the bucket and the same files from local disk, each into an emulator
// of its own: the emulators end in the same state and the reports are
// byte for byte the same.
func TestS3InputLeavesTheAPIAsLocalFiles(t *testing.T) {
	startLakeBucket(t)
	dir := t.TempDir()
	local := filepath.Join("..", "..", "testdata", "lake", "duckdb_hive_parquet")
	run := func(name, input string) (state, report []byte) {
		t.Helper()
		st, rep := filepath.Join(dir, name+"-im.json"), filepath.Join(dir, name+"-report.csv")
		code, _, stderr := runCLI(t, "run", "--fake", "--fake-state", st, "--input", input, "--report", rep, "--quiet")
		if code != exitSomeNotOK { // the rows of the null partition are invalid
			t.Fatalf("%s: exit %d: %s", input, code, stderr)
		}
		return readBytes(t, st), readBytes(t, rep)
	}
	s3State, s3Report := run("s3", "s3://lake/exports/duckdb_hive_parquet/")
	localState, localReport := run("local", local)
	if !bytes.Equal(s3State, localState) {
		t.Errorf("the emulator's state differs:\n s3 %.300s\nlocal %.300s", s3State, localState)
	}
	// The report's lines come in the order the answers came back.
	if got, want := sortedLines(s3Report), sortedLines(localReport); got != want {
		t.Errorf("the reports differ:\n s3 %.300s\nlocal %.300s", got, want)
	}
	// validate sends nothing: its report is in input order, byte for byte.
	validate := func(name, input string) []byte {
		t.Helper()
		rep := filepath.Join(dir, name+"-validate.csv")
		if code, _, stderr := runCLI(t, "validate", "--input", input, "--report", rep, "--quiet"); code != exitSomeNotOK {
			t.Fatalf("validate %s: exit %d: %s", input, code, stderr)
		}
		return readBytes(t, rep)
	}
	if s3v, localv := validate("s3", "s3://lake/exports/duckdb_hive_parquet/"), validate("local", local); !bytes.Equal(s3v, localv) {
		t.Errorf("validate's reports differ:\n s3 %.300s\nlocal %.300s", s3v, localv)
	}
	if len(localReport) < 100<<10 {
		t.Errorf("a report of %d bytes: the test reads too little", len(localReport))
	}
}

// TestS3InputResumeRefusesAChangedObject: a report started on objects
// cannot be resumed once one of them changed, as with a local file.
func TestS3InputResumeRefusesAChangedObject(t *testing.T) {
	srv := startLakeBucket(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.csv")
	args := []string{"run", "--fake", "--fake-state", filepath.Join(dir, "im.json"), "--input", "s3://lake/exports/duckdb_split_parquet/", "--report", report, "--quiet"}
	if code, _, stderr := runCLI(t, args...); code != exitSomeNotOK && code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, append(args, "--resume")...); code != exitOK && code != exitSomeNotOK {
		t.Fatalf("resume of the same objects: exit %d: %s", code, stderr)
	}
	part := objstore.Location{Bucket: "lake", Key: "exports/duckdb_split_parquet/data_3.parquet"}
	srv.PutFile(t, part, filepath.Join("..", "..", "testdata", "lake", "duckdb_split_parquet", "data_4.parquet"))
	code, _, stderr := runCLI(t, append(args, "--resume")...)
	if code != exitUsage || !strings.Contains(stderr, "changed since the report") || !strings.Contains(stderr, "data_3.parquet changed") || !strings.Contains(stderr, "ETag") {
		t.Fatalf("exit %d, stderr %q; want 2 and a message that data_3.parquet changed", code, stderr)
	}
}

// TestS3InputUnreachableIsAnInputError: an endpoint nobody answers is an
// input error (the exit code of an unreadable file) naming the object.
func TestS3InputUnreachableIsAnInputError(t *testing.T) {
	startLakeBucket(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.csv")
	wantCode, _, _ := runCLI(t, "validate", "--input", missing, "--quiet")
	code, _, stderr := runCLI(t, "validate", "--input", "s3://lake/exports/duckdb_split_parquet/", "--quiet")
	if code != wantCode || !strings.Contains(stderr, "s3://lake/exports/duckdb_split_parquet/") || !strings.Contains(stderr, "cannot reach the object store") {
		t.Fatalf("exit %d (an unreadable file: %d), stderr %q", code, wantCode, stderr)
	}
	if strings.Contains(stderr, s3test.SecretKey) {
		t.Fatalf("the secret key in %q", stderr)
	}
}

// sortedLines is b's lines in sorted order.
func sortedLines(b []byte) string {
	lines := strings.Split(string(b), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func readBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
