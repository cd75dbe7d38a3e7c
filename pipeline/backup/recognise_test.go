package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"markimport/pipeline/report"
)

// TestRecognise: backups as the writer leaves them (finished CSV and
// Parquet, with or without rows, a journal of a run in progress beside a
// path that does not exist yet) are recognised; a report, a summary, an
// input with other columns, a Parquet file of other columns, an empty file
// and a missing path are not.
func TestRecognise(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, name := range []string{"b.csv", "b.parquet", "empty.csv", "empty.parquet"} {
		w, err := Create(FilesOf(p(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "empty") {
			writeRows(t, w, 3, 2)
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	running, err := Create(FilesOf(p("running.csv")))
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, running, 2, 2)
	defer running.Abandon()

	line := strings.Join(header, ",")
	os.WriteFile(p("bom-crlf.csv"), []byte("\xef\xbb\xbf"+line+"\r\nu,c2c,p,,1,,,1\r\n"), 0o644)
	os.WriteFile(p("report.csv"), []byte("row,from_account,type,peer,status,code,message,attempts\n1,u,c2c,p,ok,0,,1\n"), 0o644)
	os.WriteFile(p("summary.json"), []byte("{\n  \"rows\": 1\n}\n"), 0o644)
	os.WriteFile(p("input.csv"), []byte(line+",note\nu,c2c,p,,1,,,1,x\n"), 0o644)
	os.WriteFile(p("header-prefix.csv"), []byte(line+"x\n"), 0o644)
	os.WriteFile(p("zero.csv"), nil, 0o644)
	os.WriteFile(p("not-parquet.parquet"), []byte("PAR1 and then nothing a Parquet reader takes"), 0o644)
	other, err := report.CreateParquet(nil, p("other.parquet"), arrow.NewSchema([]arrow.Field{{Name: "from_account", Type: arrow.BinaryTypes.String}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		path, want string
	}{
		{p("b.csv"), p("b.csv")},
		{p("b.parquet"), p("b.parquet")},
		{p("empty.csv"), p("empty.csv")},
		{p("empty.parquet"), p("empty.parquet")},
		{p("running.csv"), p("running.csv.journal.csv")},
		{p("running.csv.journal.csv"), p("running.csv.journal.csv")},
		{p("bom-crlf.csv"), p("bom-crlf.csv")},
		{p("report.csv"), ""},
		{p("summary.json"), ""},
		{p("input.csv"), ""},
		{p("header-prefix.csv"), ""},
		{p("zero.csv"), ""},
		{p("not-parquet.parquet"), ""},
		{p("other.parquet"), ""},
		{p("absent.csv"), ""},
		{dir, ""},
	} {
		got, err := Recognise(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("Recognise(%s) = %q, %v; want %q", filepath.Base(tc.path), got, err, tc.want)
		}
	}
	// A file that cannot be read cannot be told apart from a backup.
	if os.Getuid() != 0 {
		os.Chmod(p("report.csv"), 0)
		if _, err := Recognise(p("report.csv")); err == nil {
			t.Error("an unreadable file was taken for no backup")
		}
	}
}
