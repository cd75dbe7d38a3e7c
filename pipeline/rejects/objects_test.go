package rejects

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"markimport/pipeline/durable"
	"markimport/pipeline/report"
	"markimport/readers"
	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
)

// An input in a bucket is read again for its rejects the way the readers
// read it (a Parquet object by ranged reads, a CSV object streamed): its
// rejects file is byte for byte the one the same files on local disk
// give.

// startBucket starts a server with the bucket "lake" holding every file
// beneath each local folder under its prefix, and points the environment
// the readers make their client from at it.
func startBucket(t *testing.T, trees map[string]string) {
	t.Helper()
	srv := s3test.Start(t)
	srv.MakeBucket(t, "lake")
	srv.SetEnv(t)
	for key, dir := range trees {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			srv.PutFile(t, objstore.Location{Bucket: "lake", Key: key + filepath.ToSlash(rel)}, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// rejectsOf writes the rejects file of the input spec with rows, and
// returns its bytes.
func rejectsOf(t *testing.T, spec, out string, rows []want, cfg parquetConfig) []byte {
	t.Helper()
	in, err := readers.ResolveInput([]string{spec}, "")
	if err != nil {
		t.Fatal(err)
	}
	// A run reads the input before its rejects are written: the rows of
	// each file are known then.
	rd, err := in.Open(readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := rd.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("read %s: %v", spec, err)
		}
	}
	rd.Close()
	n, err := write(context.Background(), durable.Disk(nil), out, in, readers.Options{}, newTestRejects(rows), cfg)
	if err != nil {
		t.Fatalf("rejects of %s: %v", spec, err)
	}
	if n != int64(len(rows)) {
		t.Fatalf("rejects of %s: %d rows written, want %d", spec, n, len(rows))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRejectsOfObjectsAreThoseOfLocalFiles: a Parquet file of several row
// groups, and DuckDB's Hive exports of Parquet and of CSV files (a column
// from the folder names, rows in many files), read from a bucket, give
// the rejects files of the same files on local disk, byte for byte.
func TestRejectsOfObjectsAreThoseOfLocalFiles(t *testing.T) {
	one := t.TempDir()
	writeRejectsInput(t, filepath.Join(one, "marks.parquet"), 40000, 7000)
	lake := filepath.Join("..", "..", "testdata", "lake")
	startBucket(t, map[string]string{
		"one/":     one,
		"exports/": lake,
	})
	out := t.TempDir()
	for _, tc := range []struct {
		name, local, bucket, ext string
		rows                     []want
	}{
		{"parquet file", filepath.Join(one, "marks.parquet"), "s3://lake/one/marks.parquet", ".parquet", []want{
			{1, report.StatusInvalid, 50002, "from_account: empty"},
			{7001, report.StatusRejected, 40301, "peer unknown"},
			{16385, report.StatusFailed, 50300, "timeout"},
			{39999, report.StatusUnsent, 0, ""},
		}},
		{"hive parquet", filepath.Join(lake, "duckdb_hive_parquet"), "s3://lake/exports/duckdb_hive_parquet/", ".parquet", spread()},
		{"hive csv", filepath.Join(lake, "duckdb_hive_csv"), "s3://lake/exports/duckdb_hive_csv/", ".csv", spread()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := rejectsOf(t, tc.local, filepath.Join(out, tc.name+"-local"+tc.ext), tc.rows, testConfig(t))
			bucket := rejectsOf(t, tc.bucket, filepath.Join(out, tc.name+"-bucket"+tc.ext), tc.rows, testConfig(t))
			if !bytes.Equal(local, bucket) {
				t.Fatalf("the rejects of the objects (%d bytes) differ from those of the local files (%d bytes)", len(bucket), len(local))
			}
		})
	}
}

// spread is rows across a 3000-row input of many files.
func spread() []want {
	var rows []want
	for row := int64(1); row <= 3000; row += 211 {
		rows = append(rows, want{row, report.StatusInvalid, 50002, "row " + strconv.FormatInt(row, 10)})
	}
	return rows
}
