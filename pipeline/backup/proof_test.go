package backup

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"

	"markimport/pipeline/report"
)

// damages are what may happen to a backup's CSV bytes between the run
// and the rollback, each with what the refusal says.
var damages = []struct {
	name string
	do   func(b []byte) []byte
	want string
}{
	{"ten rows cut off", func(b []byte) []byte { return cutRows(b, 10) }, "lost"},
	{"a letter changed", func(b []byte) []byte { return bytes.Replace(b, []byte("\nuser0,"), []byte("\nusex0,"), 1) }, "changed"},
	{"two rows swapped", swapRows, "moved"},
	{"a row added", func(b []byte) []byte { return append(bytes.Clone(b), "intruder,c2c,x,,1,,,1\n"...) }, "added"},
}

// recordEnds are the offsets where the records of a CSV form end.
func recordEnds(b []byte) []int {
	r := bytes.NewReader(b)
	br := bufio.NewReader(r)
	var ends []int
	var rec []string
	var err error
	for {
		if rec, err = exactRecord(br, rec); err != nil {
			return ends
		}
		ends = append(ends, len(b)-r.Len()-br.Buffered())
	}
}

// cutRows cuts the last n rows off a CSV form.
func cutRows(b []byte, n int) []byte {
	ends := recordEnds(b)
	return b[:ends[len(ends)-1-n]]
}

// swapRows swaps the first two rows of a CSV form.
func swapRows(b []byte) []byte {
	ends := recordEnds(b)
	h, r1, r2 := b[:ends[0]], b[ends[0]:ends[1]], b[ends[1]:ends[2]]
	return append(append(append(append([]byte{}, h...), r2...), r1...), b[ends[2]:]...)
}

// TestJournalProvesItself: a journal that lost its end, had a row changed,
// moved or added, or lost its check file is refused by --resume and as an
// input, naming what is wrong; with force it is continued as it is and
// proves itself from then on.
func TestJournalProvesItself(t *testing.T) {
	for _, tc := range append(damages, struct {
		name string
		do   func(b []byte) []byte
		want string
	}{"check file removed", nil, "no check file"}) {
		t.Run(tc.name, func(t *testing.T) {
			files := FilesOf(filepath.Join(t.TempDir(), "b.csv"))
			w, err := Create(files)
			if err != nil {
				t.Fatal(err)
			}
			writeBatches(t, w, 6, 5)
			w.Keep()
			if err := CheckInput(files.Journal, false); err != nil {
				t.Fatalf("the journal as written: %v", err)
			}
			whole, _ := os.ReadFile(files.Journal)
			if tc.do != nil {
				os.WriteFile(files.Journal, tc.do(whole), 0o644)
			} else {
				os.Remove(files.JournalCheck)
			}
			var pe *ProofError
			if err := CheckInput(files.Journal, false); !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), files.Journal) {
				t.Errorf("as an input: %v, want a refusal naming the file and saying %q", err, tc.want)
			}
			damaged, _ := os.ReadFile(files.Journal)
			want := int64(len(recordEnds(damaged)) - 1)
			if tc.name == "a row added" {
				// After the last checkpoint, as by a kill before it: never
				// proven, so dropped.
				want--
			} else if _, err := Resume(files, false, nil); !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("--resume: %v, want a refusal saying %q", err, tc.want)
			}
			w, err = Resume(files, true, nil)
			if err != nil {
				t.Fatalf("with force: %v", err)
			}
			if w.Kept() != want {
				t.Errorf("with force: %d rows kept, the journal holds %d", w.Kept(), want)
			}
			writeBatches(t, w, 1, 1)
			w.Keep()
			if err := CheckInput(files.Journal, false); err != nil {
				t.Errorf("continued with force, the journal does not prove itself: %v", err)
			}
		})
	}
}

// TestFinishedBackupProvesItself: a finished backup, CSV or Parquet, that
// lost rows, had one changed, moved or added, or (CSV) lost its check
// file, is refused as an input and by --resume; a file of the backup's
// columns plus others (a rejects file of a backup) does not claim to be
// one.
func TestFinishedBackupProvesItself(t *testing.T) {
	for _, name := range []string{"b.csv", "b.parquet"} {
		for _, tc := range damages {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				files := FilesOf(filepath.Join(t.TempDir(), name))
				w, err := Create(files)
				if err != nil {
					t.Fatal(err)
				}
				writeBatches(t, w, 20, 5)
				// The journal's bytes, as the CSV form the proof is of.
				csvForm, _ := os.ReadFile(files.Journal)
				if err := w.Finish(); err != nil {
					t.Fatal(err)
				}
				parquet := name == "b.parquet"
				if err := CheckInput(files.Final, parquet); err != nil {
					t.Fatalf("the backup as written: %v", err)
				}
				for _, p := range []string{files.Journal, files.JournalCheck} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("%s left behind", p)
					}
				}
				if parquet {
					rewriteParquet(t, files.Final, tc.do(csvForm), true)
				} else {
					os.WriteFile(files.Final, tc.do(csvForm), 0o644)
				}
				var pe *ProofError
				if err := CheckInput(files.Final, parquet); !errors.As(err, &pe) || !strings.Contains(err.Error(), files.Final) {
					t.Errorf("as an input: %v, want a refusal naming the file", err)
				} else if tc.name == "ten rows cut off" && !strings.Contains(err.Error(), "90 rows") {
					t.Errorf("as an input: %v, want it to say 90 rows of 100", err)
				}
				if _, err := Resume(files, false, nil); !errors.As(err, &pe) {
					t.Errorf("--resume: %v, want a refusal", err)
				}
				if _, err := Resume(files, true, nil); err != nil {
					t.Errorf("--resume with force: %v", err)
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
		if err := CheckInput(files.Final, false); err == nil || !strings.Contains(err.Error(), "no check file") {
			t.Errorf("as an input: %v", err)
		}
	})
	t.Run("not claimed", func(t *testing.T) {
		dir := t.TempDir()
		rejects := filepath.Join(dir, "rejects.csv")
		os.WriteFile(rejects, []byte(bom+strings.Join(header, ",")+",status,code,message\nu,c2c,p,,1,,,1,failed,51012,x\n"), 0o644)
		// An export with the backup's columns in its order, without the
		// byte-order mark, or written by Excel (a mark, "\r\n").
		export := filepath.Join(dir, "export.csv")
		os.WriteFile(export, []byte(strings.Join(header, ",")+"\nu,c2c,p,,1,,,1\n"), 0o644)
		excel := filepath.Join(dir, "excel.csv")
		os.WriteFile(excel, []byte(bom+strings.Join(header, ",")+"\r\nu,c2c,p,,1,,,1\r\n"), 0o644)
		plain := filepath.Join(dir, "plain.parquet")
		rewriteParquet(t, plain, []byte(headerLine+"u,c2c,p,,1,,,1\n"), false)
		for _, p := range []string{rejects, export, excel, plain} {
			if err := CheckInput(p, strings.HasSuffix(p, ".parquet")); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	})
}

// rewriteParquet writes the rows of a backup's CSV form to a Parquet file
// at path, with the checkpoint the file there holds when keepMeta (a
// Parquet backup damaged as its CSV form was).
func rewriteParquet(t *testing.T, path string, csvForm []byte, keepMeta bool) {
	t.Helper()
	var md *arrow.Metadata
	if keepMeta {
		m := arrow.NewMetadata([]string{parquetMetaKey}, []string{parquetMeta(t, path)})
		md = &m
	}
	w, err := report.CreateParquet(nil, path, arrow.NewSchema(fields, md))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bytes.NewReader(csvForm))
	var rec []string
	for n := 0; ; n++ {
		if rec, err = exactRecord(br, rec); err != nil {
			break
		}
		if n == 0 {
			continue
		}
		for i, v := range rec {
			w.B.Field(i).(*array.StringBuilder).Append(v)
		}
		w.Row()
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// parquetMeta is the checkpoint in a Parquet backup's metadata.
func parquetMeta(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	v := pf.MetaData().KeyValueMetadata().FindValue(parquetMetaKey)
	if v == nil {
		t.Fatalf("%s holds no %s", path, parquetMetaKey)
	}
	return *v
}

// TestParquetVouchesOnlyForProvenRows: the conversion to Parquet reads
// the journal back and checks it against its last checkpoint, so that a
// journal damaged on disk during the run never becomes a Parquet backup
// whose metadata vouches for it; the journal stays.
func TestParquetVouchesOnlyForProvenRows(t *testing.T) {
	files := FilesOf(filepath.Join(t.TempDir(), "b.parquet"))
	w, err := Create(files)
	if err != nil {
		t.Fatal(err)
	}
	writeBatches(t, w, 3, 3)
	b, _ := os.ReadFile(files.Journal)
	os.WriteFile(files.Journal, bytes.Replace(b, []byte("\nuser1,"), []byte("\nusex1,"), 1), 0o644)
	var pe *ProofError
	if err := w.Finish(); !errors.As(err, &pe) {
		t.Fatalf("Finish over a damaged journal: %v, want a refusal", err)
	}
	if _, err := os.Stat(files.Final); err == nil {
		t.Errorf("a Parquet backup was written")
	}
	if _, err := os.Stat(files.Journal); err != nil {
		t.Errorf("the journal is gone: %v", err)
	}
}
