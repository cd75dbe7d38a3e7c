package backup

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"markimport/pipeline/durable/durabletest"
	"markimport/pipeline/mark"
)

func TestRestore(t *testing.T) {
	c2c := mark.Conversation{Type: mark.C2C, Peer: "bob"}
	for _, tc := range []struct {
		name  string
		it    mark.Item
		prev  mark.ServerMarks
		found bool
		want  string // the record, or "" for no row
	}{
		{"bits back where they were", mark.Item{Conv: c2c, Set: 1<<1 | 1<<2, Clear: 1 << 5, Opt: mark.OptStandard},
			mark.ServerMarks{Standard: 1<<2 | 1<<5 | 1<<9}, true, "u,c2c,bob,,2|5,1,,1"},
		{"nothing changes", mark.Item{Conv: c2c, Set: 1 << 2, Clear: 1 << 3, Opt: mark.OptStandard},
			mark.ServerMarks{Standard: 1 << 2}, true, ""},
		{"custom mark back", mark.Item{Conv: c2c, Custom: "new", Opt: mark.OptCustom},
			mark.ServerMarks{Standard: 1, Custom: "old, \"q\"\n"}, true, "u,c2c,bob,,,,\"old, \"\"q\"\"\n\",2"},
		{"empty custom mark back", mark.Item{Conv: c2c, Custom: "new", Opt: mark.OptCustom},
			mark.ServerMarks{Standard: 1}, true, "u,c2c,bob,,,,,2"},
		{"same custom mark", mark.Item{Conv: c2c, Custom: "same", Opt: mark.OptCustom},
			mark.ServerMarks{Custom: "same"}, true, ""},
		{"both", mark.Item{Conv: mark.Conversation{Type: mark.Group, Peer: "g1"}, Set: 1 << 63, Custom: "", Opt: mark.OptBoth},
			mark.ServerMarks{Custom: "x"}, true, "u,group,,g1,,63,x,3"},
		{"new conversation", mark.Item{Conv: c2c, Set: 1 << 4, Clear: 1 << 6, Custom: "v", Opt: mark.OptBoth},
			mark.ServerMarks{}, false, "u,c2c,bob,,,4|6,,3"},
		{"new conversation, clears only", mark.Item{Conv: c2c, Clear: 1 << 6, Opt: mark.OptStandard},
			mark.ServerMarks{}, false, "u,c2c,bob,,,6,,1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row, ok := Restore("u", &tc.it, tc.prev, tc.found)
			got := ""
			if ok {
				var b strings.Builder
				w := newWriter(Files{}, nil, nil, nil, newTally())
				w.cw.Write(row.fields())
				w.cw.Flush()
				b.Write(w.pending.Bytes())
				got = strings.TrimSuffix(b.String(), "\n")
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriterRoundTrip(t *testing.T) {
	for _, name := range []string{"b.csv", "b.parquet"} {
		t.Run(name, func(t *testing.T) {
			files := FilesOf(filepath.Join(t.TempDir(), name))
			w, err := Create(files)
			if err != nil {
				t.Fatal(err)
			}
			writeRows(t, w, 40, 9)
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(files.Journal); !os.IsNotExist(err) {
				t.Errorf("journal left behind: %v", err)
			}
			checkRows(t, readBack(t, files.Final, ""), 40, 9)
			if _, err := Create(files); err == nil || !strings.Contains(err.Error(), "never replaced") {
				t.Errorf("a second backup over a finished one: %v", err)
			}
			// Resumed from the finished backup: its rows are known, and
			// the new ones join them.
			w, err = Resume(files, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if w.Kept() != 360 || !w.Has("user3", mark.Conversation{Type: mark.C2C, Peer: "p4"}) || w.Has("user3", mark.Conversation{Type: mark.C2C, Peer: "p9"}) {
				t.Errorf("resumed: kept %d", w.Kept())
			}
			w.Write([]Row{{From: "user3", Conv: mark.Conversation{Type: mark.C2C, Peer: "p9"}, Clear: 1, Opt: mark.OptStandard}})
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			if got := readBack(t, files.Final, ""); len(got) != 361 {
				t.Errorf("%d rows after the resumed run, want 361", len(got))
			}
		})
	}
}

// TestResumeTornJournal: a kill can leave, after the journal's last
// checkpoint, rows written (and even synced) whose checkpoint never became
// durable, cut anywhere, and a checkpoint record torn anywhere: none of
// their requests was sent. --resume continues from the last checkpoint,
// dropping the rest, whatever the cut.
func TestResumeTornJournal(t *testing.T) {
	dir := t.TempDir()
	files := FilesOf(filepath.Join(dir, "b.csv"))
	// Four checkpoints are written: the header's and three batches';
	// the fourth batch's is refused, as by a kill before it was durable.
	rec := &durabletest.Recorder{Fail: durabletest.FailWritesTo(".journal.csv.check", 4*recordLen)}
	files.FS = rec
	w, err := Create(files)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 4 {
		rows := []Row{}
		for k := range 5 {
			rows = append(rows, Row{From: "user" + strconv.Itoa(b), Conv: mark.Conversation{Type: mark.C2C, Peer: "p" + strconv.Itoa(k)},
				Set: 1 << k, Custom: hostile[(b+k)%len(hostile)], Opt: mark.OptBoth})
		}
		err := w.Write(rows)
		if (err != nil) != (b == 3) {
			t.Fatalf("batch %d: %v", b, err)
		}
	}
	w.Keep()
	files.FS = nil
	whole, _ := os.ReadFile(files.Journal)
	checks, _ := os.ReadFile(files.JournalCheck)
	if len(checks) != 4*recordLen {
		t.Fatalf("%d bytes of checkpoints, want 4 records", len(checks))
	}
	proven, _ := parseRecord(checks[3*recordLen:])
	before, _ := parseRecord(checks[2*recordLen : 3*recordLen])
	if proven.Rows != 15 || int64(len(whole)) <= proven.Size {
		t.Fatalf("the journal holds %d bytes, its last checkpoint %+v", len(whole), proven)
	}
	resume := func(journal, check []byte) (*Writer, error) {
		os.WriteFile(files.Journal, journal, 0o644)
		os.WriteFile(files.JournalCheck, check, 0o644)
		return Resume(files, false, nil)
	}
	for cut := proven.Size; cut <= int64(len(whole)); cut++ {
		for _, tc := range []struct {
			check []byte
			want  checkpoint
		}{{checks, proven}, {checks[:len(checks)-1-int(cut)%recordLen], before}} {
			w, err := resume(whole[:cut], tc.check)
			if err != nil {
				t.Fatalf("cut at %d: %v", cut, err)
			}
			if w.Kept() != tc.want.Rows || w.proven != tc.want {
				t.Fatalf("cut at %d: kept %d rows, want %d", cut, w.Kept(), tc.want.Rows)
			}
			w.Write([]Row{{From: "late", Conv: mark.Conversation{Type: mark.Group, Peer: "g"}, Set: 1, Opt: mark.OptStandard}})
			w.close()
			got := readBack(t, files.Journal, "csv")
			if _, ok := got["late/group/g"]; !ok || int64(len(got)) != tc.want.Rows+1 {
				t.Fatalf("cut at %d: %d rows after the resume, want %d and the new one", cut, len(got), tc.want.Rows)
			}
			for k, r := range got {
				if k != "late/group/g" && !w.Has(r.From, r.Conv) {
					t.Fatalf("cut at %d: %s kept but not known", cut, k)
				}
			}
			if err := CheckInput(files.Journal, false); err != nil {
				t.Fatalf("cut at %d: the continued journal does not prove itself: %v", cut, err)
			}
		}
	}
	// Cut before the last checkpoint: rows whose requests may have left
	// are gone. Refused.
	for _, cut := range []int64{0, 1, proven.Size - 1, before.Size, before.Size + 1} {
		if _, err := resume(whole[:cut], checks); err == nil || !strings.Contains(err.Error(), "lost its end") {
			t.Errorf("cut at %d, before the last checkpoint: %v", cut, err)
		}
	}
}

func TestResumeRefusesWhatIsNotABackup(t *testing.T) {
	dir := t.TempDir()
	files := FilesOf(filepath.Join(dir, "b.csv"))
	if _, err := Resume(files, false, nil); err == nil || !strings.Contains(err.Error(), "wrote none") {
		t.Errorf("no backup: %v", err)
	}
	os.WriteFile(files.Final, []byte("from_account,to_account,set_mark\nu,p,1\nu,p,x\n"), 0o644)
	var pe *ProofError
	if _, err := Resume(files, false, nil); !errors.As(err, &pe) || !strings.Contains(err.Error(), "check file") {
		t.Errorf("a file without its check: %v", err)
	}
	if _, err := Resume(files, true, nil); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("a damaged backup, with force: %v", err)
	}
}

// TestCarriageReturnLineFeed: "\r\n" in a custom mark comes back exactly
// from a Parquet backup; a CSV backup says it cannot hold it.
func TestCarriageReturnLineFeed(t *testing.T) {
	row := Row{From: "u", Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Custom: "a\r\nb\r", Opt: mark.OptCustom}
	for _, name := range []string{"b.csv", "b.parquet"} {
		files := FilesOf(filepath.Join(t.TempDir(), name))
		w, err := Create(files)
		if err != nil {
			t.Fatal(err)
		}
		if faithful := w.Faithful(&row); faithful != (name == "b.parquet") {
			t.Errorf("%s: Faithful %v", name, faithful)
		}
		if name == "b.csv" {
			w.Abandon()
			continue
		}
		w.Write([]Row{row})
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, files.Final, "")["u/c2c/p"]; got.Custom != row.Custom {
			t.Errorf("%s gives back %q, want %q", name, got.Custom, row.Custom)
		}
	}
}

// TestEmptyBackupIsReplaced: a backup without rows restores nothing, so a
// new run may take its name; one with a row never.
func TestEmptyBackupIsReplaced(t *testing.T) {
	for _, name := range []string{"b.csv", "b.parquet"} {
		files := FilesOf(filepath.Join(t.TempDir(), name))
		w, err := Create(files)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		w, err = Create(files)
		if err != nil {
			t.Fatalf("%s: an empty backup is not replaced: %v", name, err)
		}
		writeRows(t, w, 1, 1)
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		if _, err := Create(files); err == nil {
			t.Fatalf("%s: a backup with a row was replaced", name)
		}
		// An empty journal left by a kill is replaced too; one with a row
		// is not.
		os.Remove(files.Final)
		os.WriteFile(files.Journal, []byte(strings.Join(header, ",")+"\n"), 0o644)
		if w, err = Create(files); err != nil {
			t.Fatalf("%s: an empty journal is not replaced: %v", name, err)
		}
		writeRows(t, w, 1, 1)
		w.close()
		if _, err := Create(files); err == nil {
			t.Fatalf("%s: a journal with a row was replaced", name)
		}
	}
}

// TestHasKeysByType: a resumed backup knows the conversations it holds by
// user, type and peer: a group x is not the c2c x it holds.
func TestHasKeysByType(t *testing.T) {
	files := FilesOf(filepath.Join(t.TempDir(), "b.csv"))
	w, err := Create(files)
	if err != nil {
		t.Fatal(err)
	}
	c2c, group := mark.Conversation{Type: mark.C2C, Peer: "x"}, mark.Conversation{Type: mark.Group, Peer: "x"}
	if err := w.Write([]Row{{From: "u", Conv: c2c, Set: 1, Opt: mark.OptStandard}}); err != nil {
		t.Fatal(err)
	}
	w.Keep()
	if w, err = Resume(files, false, nil); err != nil {
		t.Fatal(err)
	}
	defer w.Keep()
	if !w.Has("u", c2c) || w.Has("u", group) || w.Has("v", c2c) {
		t.Errorf("Has: c2c x %v, group x %v, another user's c2c x %v; want true, false, false", w.Has("u", c2c), w.Has("u", group), w.Has("v", c2c))
	}
}
