package backup

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storedOf is the local file path as a Stored named name, read from
// memory: the check file's bytes, or none when it is not there.
func storedOf(t *testing.T, path, name string) Stored {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	check, checkErr := os.ReadFile(checkOf(path))
	if errors.Is(checkErr, fs.ErrNotExist) {
		checkErr = fs.ErrNotExist
	}
	return Stored{
		Name:  name,
		Size:  int64(len(b)),
		At:    bytes.NewReader(b),
		Open:  func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		Check: func() ([]byte, error) { return check, checkErr },
	}
}

// TestStoredBackupProvesItself: a backup kept elsewhere (an object) is
// judged exactly as the same file on disk: accepted as written, and each
// damage (or its check file missing) refused with the same words, naming
// the stored file; files that do not claim to be a backup pass.
func TestStoredBackupProvesItself(t *testing.T) {
	const name = "s3://night/b/backup"
	same := func(t *testing.T, path string, parquet bool) {
		t.Helper()
		local := CheckInput(path, parquet)
		got := CheckStored(storedOf(t, path, name), parquet)
		if local == nil {
			if got != nil {
				t.Fatalf("accepted on disk, stored: %v", got)
			}
			return
		}
		var pe *ProofError
		if !errors.As(got, &pe) || pe.Path != name {
			t.Fatalf("refused on disk (%v), stored: %v", local, got)
		}
		if want := strings.ReplaceAll(local.Error(), path, name); got.Error() != want {
			t.Fatalf("stored: %v\n   on disk: %v", got, want)
		}
	}
	for _, ext := range []string{".csv", ".parquet"} {
		parquet := ext == ".parquet"
		finished := func(t *testing.T) (Files, []byte) {
			files := FilesOf(filepath.Join(t.TempDir(), "b"+ext))
			w, err := Create(files)
			if err != nil {
				t.Fatal(err)
			}
			writeBatches(t, w, 20, 5)
			csvForm, _ := os.ReadFile(files.Journal)
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			return files, csvForm
		}
		t.Run(ext+"/as written", func(t *testing.T) {
			files, _ := finished(t)
			if err := CheckStored(storedOf(t, files.Final, name), parquet); err != nil {
				t.Fatal(err)
			}
		})
		for _, tc := range damages {
			t.Run(ext+"/"+tc.name, func(t *testing.T) {
				files, csvForm := finished(t)
				if parquet {
					rewriteParquet(t, files.Final, tc.do(csvForm), true)
				} else {
					os.WriteFile(files.Final, tc.do(csvForm), 0o644)
				}
				same(t, files.Final, parquet)
				if CheckInput(files.Final, parquet) == nil {
					t.Fatal("the damage went unseen on disk too")
				}
			})
		}
	}
	t.Run("check file missing", func(t *testing.T) {
		files := FilesOf(filepath.Join(t.TempDir(), "b.csv"))
		w, _ := Create(files)
		writeBatches(t, w, 2, 2)
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		os.Remove(files.Check)
		same(t, files.Final, false)
		if err := CheckStored(storedOf(t, files.Final, name), false); err == nil || !strings.Contains(err.Error(), "no check file "+name+".check") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a journal", func(t *testing.T) {
		files := FilesOf(filepath.Join(t.TempDir(), "b.csv"))
		w, _ := Create(files)
		writeBatches(t, w, 3, 2)
		w.Keep()
		same(t, files.Journal, false)
		b, _ := os.ReadFile(files.Journal)
		os.WriteFile(files.Journal, cutRows(b, 1), 0o644)
		same(t, files.Journal, false)
	})
	t.Run("not claimed", func(t *testing.T) {
		dir := t.TempDir()
		export := filepath.Join(dir, "export.csv")
		os.WriteFile(export, []byte(strings.Join(header, ",")+"\nu,c2c,p,,1,,,1\n"), 0o644)
		short := filepath.Join(dir, "short.csv")
		os.WriteFile(short, []byte("a\n"), 0o644)
		plain := filepath.Join(dir, "plain.parquet")
		rewriteParquet(t, plain, []byte(headerLine+"u,c2c,p,,1,,,1\n"), false)
		for _, p := range []string{export, short, plain} {
			if err := CheckStored(storedOf(t, p, name), strings.HasSuffix(p, ".parquet")); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	})
}
