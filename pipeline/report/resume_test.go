package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

func TestResumeCSVKeepsOKRowsAndDropsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	rep, err := createCSV(nil, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Line{
		{Row: 1, From: "u", Type: "c2c", Peer: "p", Status: StatusOK, Attempts: 1},
		{Row: 2, From: "u", Type: "c2c", Peer: "q", Status: StatusFailed, Code: 51007, Message: "gone", Attempts: 1},
		{Row: 3, From: "u", Type: "group", Peer: "g,1", Status: StatusOK, Attempts: 2},
		{Row: 4, From: "u", Type: "c2c", Peer: "r", Status: StatusUnsent, Message: "not sent"},
		{Row: 5, From: "v", Type: "c2c", Peer: "p", Status: StatusOK, Attempts: 1},
	} {
		rep.Write(l)
	}
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, "6,v,c2c,q,o") // torn by a crash, after the last checkpoint
	rep, done, err := resumeCSV(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []int64{1, 3, 5} {
		if !done.Has(r) {
			t.Errorf("row %d not kept", r)
		}
	}
	for _, r := range []int64{2, 4, 6} {
		if done.Has(r) {
			t.Errorf("row %d kept", r)
		}
	}
	if len(done.Notes) != 1 || !strings.Contains(done.Notes[0], "1 lines (11 bytes) at the end of "+path+" were written after its last checkpoint") {
		t.Errorf("notes %q: the torn line is not said", done.Notes)
	}
	rep.Write(Line{Row: 2, From: "u", Type: "c2c", Peer: "q", Status: StatusOK, Attempts: 1})
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "row,from_account,type,peer,status,code,message,attempts\n1,u,c2c,p,ok,0,,1\n3,u,group,\"g,1\",ok,0,,2\n5,v,c2c,p,ok,0,,1\n2,u,c2c,q,ok,0,,1\n"
	if string(b) != want {
		t.Fatalf("report after resume:\n%s\nwant:\n%s", b, want)
	}
	// The resumed journal proves itself in turn.
	if _, done, err := resumeCSV(path, nil); err != nil || done.Len() != 4 || len(done.Notes) != 0 {
		t.Fatalf("second resume: %v, %d rows, notes %q", err, done.Len(), done.Notes)
	}
}

func TestReportMetaRefusesChangedInput(t *testing.T) {
	dir := t.TempDir()
	in, rep := filepath.Join(dir, "in.csv"), filepath.Join(dir, "r.csv")
	os.WriteFile(in, []byte("from_account,to_account,set_mark\nu,p,1\n"), 0o644)
	fp, err := DigestFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeJournalMeta(nil, metaPath(rep), fp); err != nil {
		t.Fatal(err)
	}
	if _, err := checkMeta(metaPath(rep), rep, fp); err != nil {
		t.Fatalf("same input refused: %v", err)
	}
	os.WriteFile(in, []byte("from_account,to_account,set_mark\nu,p,2\n"), 0o644) // same size
	fp2, _ := DigestFile(in)
	if _, err := checkMeta(metaPath(rep), rep, fp2); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("changed input accepted: %v", err)
	}
}

func TestRowSet(t *testing.T) {
	var s mark.RowSet
	for _, r := range []int64{1, 64, 65, 1 << 20, 64} {
		s.Add(r)
	}
	if s.Len() != 4 || !s.Has(64) || !s.Has(1<<20) || s.Has(2) || s.Has(-1) || (*mark.RowSet)(nil).Has(1) {
		t.Fatalf("mark.RowSet wrong: len %d", s.Len())
	}
}

// TestResumeBeforeTheFirstLine: a run killed before its header reached the
// disk (an empty or torn first line, no checkpoint yet) resumes with
// nothing done, and says it dropped what it could not prove; and a new
// report has its header and a checkpoint of it on disk before any line is
// written.
func TestResumeBeforeTheFirstLine(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"empty": "", "torn header": "row,from_acc"} {
		path := filepath.Join(dir, name+".csv")
		os.WriteFile(path, []byte(content), 0o644)
		os.WriteFile(checkpointsOf(path), nil, 0o644)
		rep, done, err := resumeCSV(path, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if done.Len() != 0 {
			t.Fatalf("%s: %d rows done", name, done.Len())
		}
		if (content == "") != (len(done.Notes) == 0) {
			t.Errorf("%s: notes %q", name, done.Notes)
		}
		rep.Write(Line{Row: 1, From: "u", Type: "c2c", Peer: "p", Status: StatusOK, Attempts: 1})
		rep.Close()
		if b, _ := os.ReadFile(path); string(b) != "row,from_account,type,peer,status,code,message,attempts\n1,u,c2c,p,ok,0,,1\n" {
			t.Fatalf("%s: report after resume:\n%s", name, b)
		}
	}
	path := filepath.Join(dir, "new.csv")
	rep, err := createCSV(nil, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	if b, _ := os.ReadFile(path); string(b) != "row,from_account,type,peer,status,code,message,attempts\n" {
		t.Fatalf("a new report holds %q before its first line, want the header", b)
	}
	cps, _, err := readCheckpoints(checkpointsOf(path))
	if err != nil || len(cps) != 1 || cps[0].Size != 56 || cps[0].Lines != 1 {
		t.Fatalf("a new report's checkpoints: %+v, %v; want one of its header", cps, err)
	}
}
