package readers

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The interop fixtures in testdata/parquet are written by other Parquet
// writers (xitongsys/parquet-go, arrow's pqarrow and its low-level column
// writer with legacy list layouts); see testdata/parquetgen, which also
// regenerates them. Each NAME.parquet must read as the same records as
// NAME.csv, or fail with an *InputError containing the text of NAME.err.

const fixtureDir = "../testdata/parquet"

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d fixtures in %s; run `cd testdata/parquetgen && go run .`", len(files), fixtureDir)
	}
	return files
}

func TestParquetFixtures(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		base := strings.TrimSuffix(path, ".parquet")
		t.Run(filepath.Base(base), func(t *testing.T) {
			if want, err := os.ReadFile(base + ".err"); err == nil {
				checkFixtureError(t, path, strings.TrimSpace(string(want)))
				return
			}
			if _, err := os.Stat(base + ".csv"); err != nil {
				t.Fatalf("no golden: %v", err)
			}
			want := readAll(t, base+".csv", Options{})
			got := readAll(t, path, Options{})
			diffRecords(t, got, want)
		})
	}
}

func checkFixtureError(t *testing.T, path, want string) {
	r, err := Open(path, Options{})
	if err == nil {
		defer r.Close()
		for err == nil {
			_, err = r.Next()
		}
		if errors.Is(err, io.EOF) {
			t.Fatalf("read to the end; want an error containing %q", want)
		}
	}
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %#v; want *InputError", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
