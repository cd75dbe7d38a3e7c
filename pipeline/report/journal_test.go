package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"markimport/pipeline/durable/durabletest"
)

// TestJournalDamageIsRefused: a journal that lost its tail, had one digit
// of a row changed, two lines swapped or a stray quote put in, or whose
// checkpoints were edited, reordered or removed, is refused with a message
// that names the file, says what is wrong and what to do; and the refused
// journal is left as it was.
func TestJournalDamageIsRefused(t *testing.T) {
	cases := []struct {
		name string
		harm func(t *testing.T, path string, b []byte)
		want []string
	}{
		{"lost tail", func(t *testing.T, path string, b []byte) {
			os.Truncate(path, int64(len(b)-100))
		}, []string{"it lost 100 bytes of its tail"}},
		{"lost tail after a checkpoint", func(t *testing.T, path string, b []byte) {
			_, end := lineAt(b, 31) // lines 1-31: header and rows 1-30, a checkpoint
			os.Truncate(path, int64(end))
		}, []string{"it lost", "bytes of its tail"}},
		{"one digit of a row", func(t *testing.T, path string, b []byte) {
			start, _ := lineAt(b, 42) // row 41: 41,u6,c2c,p41,ok
			b = slices.Clone(b)
			b[start+1] = '9' // row 49, failed in the journal, is now ok
			os.WriteFile(path, b, 0o644)
		}, []string{"changed at or before line 51", "its lines 42 to 51 are not the bytes that were written"}},
		{"two lines swapped", func(t *testing.T, path string, b []byte) {
			s1, e1 := lineAt(b, 13)
			s2, e2 := lineAt(b, 14)
			var c []byte
			c = append(c, b[:s1]...)
			c = append(c, b[s2:e2]...)
			c = append(c, b[s1:e1]...)
			c = append(c, b[e2:]...)
			os.WriteFile(path, c, 0o644)
		}, []string{"changed at or before line 21"}},
		{"a stray quote", func(t *testing.T, path string, b []byte) {
			start, _ := lineAt(b, 8)
			b = slices.Clone(b)
			b[start+4] = '"' // in from_account of row 7
			os.WriteFile(path, b, 0o644)
		}, []string{"changed at or before line 11"}},
		{"a checkpoint edited", func(t *testing.T, path string, b []byte) {
			c, _ := os.ReadFile(checkpointsOf(path))
			c[recordLen+19] ^= 1 // the size of the second record
			os.WriteFile(checkpointsOf(path), c, 0o644)
		}, []string{checkpointsOf(filepath.Base("r.csv.journal.csv")), "its record 2 (bytes 61 to 120) fails its own check"}},
		{"checkpoints reordered", func(t *testing.T, path string, b []byte) {
			c, _ := os.ReadFile(checkpointsOf(path))
			r2 := slices.Clone(c[recordLen : 2*recordLen])
			copy(c[recordLen:], c[2*recordLen:3*recordLen])
			copy(c[2*recordLen:], r2)
			os.WriteFile(checkpointsOf(path), c, 0o644)
		}, []string{"its record 3 goes back from record 2"}},
		{"checkpoints removed", func(t *testing.T, path string, b []byte) {
			os.Remove(checkpointsOf(path))
		}, []string{"it has no checkpoints to prove it"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, b := writeJournal(t, 95)
			tc.harm(t, path, b)
			before, _ := os.ReadFile(path)
			_, _, err := resumeCSV(path, nil)
			if err == nil {
				t.Fatal("a damaged journal was resumed")
			}
			for _, w := range append(tc.want, "cannot resume", "is not what markimport wrote", "--overwrite") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			var de *damagedError
			if !errors.As(err, &de) {
				t.Errorf("error %T is not a *damagedError", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("the refused journal was changed")
			}
			if _, err := os.Stat(path + ".resume.tmp"); err == nil {
				t.Error("the refused resume left its temporary journal")
			}
		})
	}
}

// TestJournalTailAfterTheLastCheckpoint: lines written after the last
// checkpoint (complete or torn) are dropped, their rows not done, and the
// log is told how many; a last checkpoint record cut short by a crash is
// left out, said, and the one before proves the journal.
func TestJournalTailAfterTheLastCheckpoint(t *testing.T) {
	t.Run("lines after the last sync", func(t *testing.T) {
		path, _ := writeJournal(t, 20)
		appendTo(t, path, "21,u0,c2c,p21,ok,0,,1\n23,u2,c2c,p23,ok,0,,1\n25,u4,c2")
		_, done, err := resumeCSV(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if done.Len() != 10 || done.Has(21) || done.Has(23) || !done.Has(19) {
			t.Errorf("%d rows done, 21: %v, 23: %v, 19: %v", done.Len(), done.Has(21), done.Has(23), done.Has(19))
		}
		if len(done.Notes) != 1 || !strings.Contains(done.Notes[0], "3 lines (52 bytes) at the end of "+path) || !strings.Contains(done.Notes[0], "planned again") {
			t.Errorf("notes %q", done.Notes)
		}
	})
	t.Run("a torn checkpoint", func(t *testing.T) {
		path, b := writeJournal(t, 20) // checkpoints: header, row 10, row 20, close (same as row 20)
		cp := checkpointsOf(path)
		c, _ := os.ReadFile(cp)
		// The last two records gone and the one before cut short, as a
		// power cut while it was appended leaves it.
		os.WriteFile(cp, c[:2*recordLen-25], 0o644)
		_, done, err := resumeCSV(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if done.Len() != 0 {
			t.Errorf("%d rows done on the header's checkpoint alone", done.Len())
		}
		_, end := lineAt(b, 1)
		if len(done.Notes) != 2 || !strings.Contains(done.Notes[0], "the last record of "+cp+" was cut short (35 of 60 bytes") ||
			!strings.Contains(done.Notes[1], fmt.Sprintf("20 lines (%d bytes)", len(b)-end)) {
			t.Errorf("notes %q", done.Notes)
		}
	})
}

// TestResumeAfterACrashBetweenRenames: a crash between renaming the
// rewritten journal and renaming its checkpoints into place leaves a
// journal the old checkpoints do not prove; the next resume finds the
// new checkpoints and continues, saying so.
func TestResumeAfterACrashBetweenRenames(t *testing.T) {
	path, _ := writeJournal(t, 40)
	files := Files{Journal: path, Checkpoints: checkpointsOf(path)}
	rec := &durabletest.Recorder{Fail: func(op durabletest.Op) error {
		if op.Kind == durabletest.Rename && op.To == files.Checkpoints {
			return errors.New("the crash")
		}
		return nil
	}}
	files.FS = rec
	if _, _, err := resumeInto(files, journalSource(files), nil); err == nil {
		t.Fatal("the injected crash did not happen")
	}
	cps, _, err := readCheckpoints(files.Checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readProven(proof{cps: cps, path: path}, reportHeader, func(int64, []string) error { return nil }); err == nil {
		t.Fatal("the old checkpoints prove the rewritten journal")
	}
	// A second crash, while the next resume writes the checkpoints of its
	// rewrite under the same temporary name, leaves the journal proven
	// too: the interrupted rename was done first.
	files.FS = &durabletest.Recorder{Fail: func(op durabletest.Op) error {
		if op.Kind == durabletest.Write && strings.HasSuffix(op.Path, ".resume.tmp.checkpoints") {
			return errors.New("the second crash")
		}
		return nil
	}}
	_, done, err := resumeInto(files, journalSource(files), nil)
	if err == nil {
		t.Fatal("the second injected crash did not happen")
	}
	if done != nil {
		t.Fatal("a failed resume returned rows")
	}
	rep, done, err := resumeCSV(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep.Close()
	// (The second rewrite holds the same bytes as the first: its pending
	// checkpoints prove the journal as well, and are taken.)
	if done.Len() != 20 || len(done.Notes) > 1 || len(done.Notes) == 1 && !strings.Contains(done.Notes[0], "an interrupted --resume rewrote") {
		t.Fatalf("%d rows done, notes %q", done.Len(), done.Notes)
	}
}

// TestFinishedReportProvesItself: a finished report (CSV, Parquet) is
// resumed only when its bytes are those its .meta.json records; a changed
// byte, a lost tail, a line added, or a record without a checksum is
// refused.
func TestFinishedReportProvesItself(t *testing.T) {
	for _, name := range []string{"r.csv", "r.parquet"} {
		t.Run(name, func(t *testing.T) {
			files, fp := finishedReport(t, name, nil)
			if _, err := os.Stat(files.Journal); err == nil {
				t.Fatal("the journal outlived the finished report")
			}
			j, done, err := ResumeJournal(files, fp, nil)
			if err != nil {
				t.Fatal(err)
			}
			j.Abandon()
			if done.Len() != 20 {
				t.Fatalf("%d rows done, want 20", done.Len())
			}
			// Back to the finished report alone.
			for _, p := range []string{files.Journal, files.Checkpoints, files.JournalMeta} {
				os.Remove(p)
			}
			good, _ := os.ReadFile(files.Final)
			meta, _ := os.ReadFile(files.Meta)
			for what, harm := range map[string]func(){
				"a changed byte": func() {
					b := slices.Clone(good)
					b[len(b)/2] ^= 0x10
					os.WriteFile(files.Final, b, 0o644)
				},
				"a lost tail": func() { os.WriteFile(files.Final, good[:len(good)-7], 0o644) },
				"a line added": func() {
					os.WriteFile(files.Final, append(slices.Clone(good), "31,u,c2c,p31,ok,0,,1\n"...), 0o644)
				},
				"no checksum": func() {
					os.WriteFile(files.Meta, bytes.Replace(meta, []byte(`"report"`), []byte(`"other"`), 1), 0o644)
				},
			} {
				harm()
				_, _, err := ResumeJournal(files, fp, nil)
				if err == nil || !strings.Contains(err.Error(), "is not what markimport wrote") || !strings.Contains(err.Error(), "--overwrite") {
					t.Errorf("%s: %v", what, err)
				}
				if _, err := os.Stat(files.Journal); err == nil {
					t.Errorf("%s: the refused resume left a journal", what)
				}
				os.WriteFile(files.Final, good, 0o644)
				os.WriteFile(files.Meta, meta, 0o644)
			}
		})
	}
}

// TestJournalOrder proves with the calls recorded, in order: a checkpoint
// is written only after the journal bytes it vouches for were synced; the
// journal is synced before it is renamed to the report (CSV) or converted
// (Parquet); the report's record (.meta.json) is written once the report's
// bytes are durable, and for CSV before the journal takes the report's
// name (a crash in between leaves the journal, which --resume takes
// first).
func TestJournalOrder(t *testing.T) {
	for _, name := range []string{"r.csv", "r.parquet"} {
		t.Run(name, func(t *testing.T) {
			rec := &durabletest.Recorder{}
			files, _ := finishedReport(t, name, rec)
			ops := rec.Ops()
			// The journal and its checkpoints were opened under their new
			// names: the recorder names a file's calls by them.
			journal, cps := files.NewJournal, files.NewCheckpoints
			var synced bool
			for i, o := range ops {
				switch {
				case o.Kind == durabletest.Write && o.Path == journal:
					synced = false
				case o.Kind == durabletest.Sync && o.Path == journal:
					synced = true
				case o.Kind == durabletest.Write && o.Path == cps:
					if !synced {
						t.Fatalf("op %d: a checkpoint written before the journal was synced:\n%s", i, durabletest.Render(ops))
					}
				}
			}
			lastSync := lastIndex(ops, is(durabletest.Sync, journal))
			metaIn := opIndex(ops, func(o durabletest.Op) bool { return o.Kind == durabletest.Rename && o.To == files.Meta })
			if lastSync < 0 || metaIn < lastSync {
				t.Fatalf("the report's record (op %d) before the journal's last sync (op %d):\n%s", metaIn, lastSync, durabletest.Render(ops))
			}
			if name == "r.csv" {
				renamed := opIndex(ops, func(o durabletest.Op) bool { return o.Kind == durabletest.Rename && o.To == files.Final })
				if renamed < lastSync || renamed < metaIn {
					t.Fatalf("the journal renamed to the report (op %d) before its last sync (op %d) or the record (op %d):\n%s", renamed, lastSync, metaIn, durabletest.Render(ops))
				}
				return
			}
			converted := opIndex(ops, is(durabletest.Open, files.Final+".tmp"))
			finalIn := opIndex(ops, func(o durabletest.Op) bool { return o.Kind == durabletest.Rename && o.To == files.Final })
			finalDir := opIndex(ops[max(finalIn, 0):], is(durabletest.SyncDir, filepath.Dir(files.Final))) + finalIn
			gone := opIndex(ops, is(durabletest.Remove, files.Journal))
			switch {
			case converted < lastSync:
				t.Fatalf("converted (op %d) before the journal's last sync (op %d):\n%s", converted, lastSync, durabletest.Render(ops))
			case finalIn < 0 || finalDir < finalIn || metaIn < finalDir:
				t.Fatalf("the record (op %d) before the Parquet report was in place (ops %d, %d):\n%s", metaIn, finalIn, finalDir, durabletest.Render(ops))
			case gone < metaIn:
				t.Fatalf("the journal removed (op %d) before the report's record (op %d):\n%s", gone, metaIn, durabletest.Render(ops))
			}
		})
	}
}

// TestProvenLinesAreReadStrictly: a line the checkpoints prove (so
// markimport wrote it) that is not a report line (fields missing, a bare
// quote, an unknown status, a row that is not a number, an ok row twice)
// is an error naming the line, never skipped.
func TestProvenLinesAreReadStrictly(t *testing.T) {
	for name, line := range map[string]string{
		"fields missing": "3,u,c2c,p3,ok,0\n",
		"a bare quote":   "3,u\"x,c2c,p3,ok,0,,1\n",
		"unknown status": "3,u,c2c,p3,done,0,,1\n",
		"not a row":      "x3,u,c2c,p3,ok,0,,1\n",
		"ok twice":       "1,u,c2c,p1,ok,0,,1\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.csv.journal.csv")
			rep, err := createCSV(nil, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			rep.Write(Line{Row: 1, From: "u", Type: "c2c", Peer: "p1", Status: StatusOK, Attempts: 1})
			rep.WriteLines([]byte(line))
			rep.Write(Line{Row: 2, From: "u", Type: "c2c", Peer: "p2", Status: StatusOK, Attempts: 1})
			if err := rep.Close(); err != nil {
				t.Fatal(err)
			}
			_, _, err = resumeCSV(path, nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 3") {
				t.Fatalf("resume: %v; want an error naming line 3 of %s", err, path)
			}
		})
	}
}

// TestNothingWrittenAfterAFailure: once a write or sync of the journal or
// of its checkpoints failed, nothing more is written to either, even when
// the disk takes writes again: a checkpoint after a torn one, or lines
// after a gap, would make the journal lie.
func TestNothingWrittenAfterAFailure(t *testing.T) {
	for _, suffix := range []string{".journal.csv", ".journal.csv.checkpoints"} {
		t.Run(suffix, func(t *testing.T) {
			var failed atomic.Bool
			rec := &durabletest.Recorder{}
			rec.Fail = func(op durabletest.Op) error {
				if op.Kind == durabletest.Write && strings.HasSuffix(op.Path, suffix) && len(rec.On(".checkpoints")) > 3 && !failed.Swap(true) {
					return durabletest.ErrNoSpace // once: then the disk has room again
				}
				return nil
			}
			path := filepath.Join(t.TempDir(), "r.csv.journal.csv")
			rep, err := createCSV(rec, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			var errs int
			for i := int64(1); i <= 40; i++ {
				rep.Write(Line{Row: i, From: "u", Type: "c2c", Peer: fmt.Sprint("p", i), Status: StatusOK, Attempts: 1})
				if err := rep.Sync(); err != nil {
					errs++
				}
			}
			if err := rep.Close(); err == nil || errs == 0 || !failed.Load() {
				t.Fatalf("close: %v after %d failed syncs: the failure was not injected or not returned", err, errs)
			}
			ops := rec.Ops()
			at := slices.IndexFunc(ops, func(o durabletest.Op) bool { return o.Err != nil })
			for _, o := range ops[at+1:] {
				if o.Kind == durabletest.Write || o.Kind == durabletest.Sync {
					t.Fatalf("%s after the failure:\n%s", o, durabletest.Render(ops))
				}
			}
			if _, _, err := resumeCSV(path, nil); err != nil {
				t.Errorf("the journal left does not resume: %v", err)
			}
		})
	}
}
