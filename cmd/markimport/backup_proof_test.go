package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"markimport/pipeline/durable/durabletest"
	"markimport/sink/fakeim"
)

// TestBackupCarriageReturn: a custom mark holding "\r\n" before the run
// cannot come back from a CSV backup (a CSV reader gives "\n"), so that
// conversation is not sent; with a Parquet backup it is, and the rollback
// gives the mark back byte for byte.
func TestBackupCarriageReturn(t *testing.T) {
	const crlf = "two\r\nlines"
	p := fakeim.Conversation{Type: fakeim.C2C, Peer: "p"}
	q := fakeim.Conversation{Type: fakeim.C2C, Peer: "q"}
	for _, name := range []string{"backup.csv", "backup.parquet"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.csv")
			os.WriteFile(in, []byte("from_account,to_account,set_mark,custom_mark\nu,p,1,new\nu,q,2,\n"), 0o644)
			srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
			srv.SetMark("u", p, fakeim.Mark{Standard: 1 << 7, Custom: crlf, CustomSet: true})
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			bk, report := filepath.Join(dir, name), filepath.Join(dir, "r.csv")
			code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--backup", bk}, connArgs(url)...)...)
			rep := readReport(t, report)
			if name == "backup.csv" {
				if code != exitSomeNotOK {
					t.Errorf("exit %d, want 1\n%s", code, stderr)
				}
				if l := rep[1]; l.status != "unsent" || !strings.Contains(l.message, "parquet") {
					t.Errorf("u/p over a custom mark with \\r\\n: %+v, want unsent naming a Parquet backup", l)
				}
				if m, _ := srv.Lookup("u", p); m.Custom != crlf || m.Standard != 1<<7 {
					t.Errorf("u/p was written: %+v", m)
				}
				if rep[2].status != "ok" {
					t.Errorf("u/q: %+v", rep[2])
				}
			} else if code != exitOK {
				t.Fatalf("exit %d, want 0\n%s", code, stderr)
			}
			// The rollback gives back exactly what the run changed.
			if code, _, stderr := runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rb.csv")}, connArgs(url)...)...); code != exitOK {
				t.Fatalf("rollback: exit %d\n%s", code, stderr)
			}
			if m, _ := srv.Lookup("u", p); m.Custom != crlf || m.Standard != 1<<7 {
				t.Errorf("after the rollback u/p holds %016x %q, want %016x %q", m.Standard, m.Custom, uint64(1<<7), crlf)
			}
			if m, _ := srv.Lookup("u", q); m.Standard != 0 {
				t.Errorf("after the rollback u/q holds %016x", m.Standard)
			}
		})
	}
}

// TestBackupKeysByType: a c2c conversation and a group conversation with
// the same peer name are two conversations of the backup. The group one
// is held back by the first run (its custom mark holds "\r\n", which a CSV
// backup cannot hold), the c2c one backed up and changed; once the group's
// mark no longer holds it, the resumed run must read and back up the
// group too, not take it for the c2c one already in the backup. Rolling
// back restores both.
func TestBackupKeysByType(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,type,to_account,to_group_id,set_mark,custom_mark\nu,c2c,x,,1,c2c new\nu,group,,x,2,group new\n"), 0o644)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	c2c := fakeim.Conversation{Type: fakeim.C2C, Peer: "x"}
	group := fakeim.Conversation{Type: fakeim.Group, Peer: "x"}
	srv.SetMark("u", c2c, fakeim.Mark{Standard: 1 << 9, Custom: "c2c before", CustomSet: true})
	srv.SetMark("u", group, fakeim.Mark{Standard: 1 << 5, Custom: "group\r\nbefore", CustomSet: true})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	bk, report := filepath.Join(dir, "backup.csv"), filepath.Join(dir, "r.csv")
	args := append([]string{"run", "--input", in, "--report", report, "--backup", bk}, connArgs(url)...)
	if code, _, stderr := runCLI(t, args...); code != exitSomeNotOK {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	if rep := readReport(t, report); rep[1].status != "ok" || rep[2].status != "unsent" {
		t.Fatalf("first run: %+v", rep)
	}
	// A user changes the group's mark; the resumed run sends the group's
	// item, over the marks it reads now.
	groupBefore := fakeim.Mark{Standard: 1 << 6, Custom: "group before", CustomSet: true}
	srv.SetMark("u", group, groupBefore)
	if code, _, stderr := runCLI(t, append(args, "--resume")...); code != exitOK {
		t.Fatalf("resumed run: exit %d\n%s", code, stderr)
	}
	recs := readCSVFile(t, bk, backupHeader)
	if len(recs) != 3 {
		t.Fatalf("the backup holds %d rows, want 2 (the c2c and the group conversation): %q", len(recs)-1, recs)
	}
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rb.csv")}, connArgs(url)...)...); code != exitOK {
		t.Fatalf("rollback: exit %d\n%s", code, stderr)
	}
	if m, _ := srv.Lookup("u", c2c); m.Standard != 1<<9 || m.Custom != "c2c before" {
		t.Errorf("after the rollback the c2c x holds %016x %q", m.Standard, m.Custom)
	}
	if m, _ := srv.Lookup("u", group); m.Standard != groupBefore.Standard || m.Custom != groupBefore.Custom {
		t.Errorf("after the rollback the group x holds %016x %q, want %016x %q", m.Standard, m.Custom, groupBefore.Standard, groupBefore.Custom)
	}
}

// mutate replaces a file's content by what change makes of it.
func mutate(t *testing.T, path string, change func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, change(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestImportRefusesUnprovenBackup: a backup cut by ten lines, edited, or
// without its check file is refused as the input of run and verify
// (exit 2, nothing sent, the message naming the file and what is wrong);
// --force imports it as it is. Without the check, ten conversations were
// silently not restored.
func TestImportRefusesUnprovenBackup(t *testing.T) {
	dir, in, rows := newInput(t, 65, 600)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	initialState(t, srv, rows, 11)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	bk := filepath.Join(dir, "backup.csv")
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--backup", bk}, connArgs(url)...)...); code != exitSomeNotOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	whole, _ := os.ReadFile(bk)
	check, _ := os.ReadFile(bk + ".check")
	n := len(readCSVFile(t, bk, backupHeader)) - 1
	for _, tc := range []struct {
		name   string
		damage func()
		want   string
	}{
		{"ten lines cut off", func() {
			mutate(t, bk, func(b []byte) []byte {
				lines := strings.SplitAfter(string(b), "\n")
				return []byte(strings.Join(lines[:len(lines)-11], ""))
			})
		}, "lost its end"},
		{"a bit changed", func() {
			mutate(t, bk, func(b []byte) []byte { return []byte(strings.Replace(string(b), ",1|", ",2|", 1)) })
		}, "changed"},
		{"check file missing", func() { os.Remove(bk + ".check") }, "no check file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(bk, whole, 0o644)
			os.WriteFile(bk+".check", check, 0o644)
			tc.damage()
			writes := srv.Stats().APIs[fakeim.MarkContact].Requests
			for _, args := range [][]string{
				{"run", "--input", bk, "--report", filepath.Join(dir, "rb.csv"), "--overwrite"},
				{"verify", "--input", bk, "--report", filepath.Join(dir, "v.csv"), "--overwrite"},
			} {
				code, _, stderr := runCLI(t, append(args, connArgs(url)...)...)
				if code != exitUsage || !strings.Contains(stderr, bk) || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "--force") {
					t.Errorf("%s of the damaged backup: exit %d %q, want 2 naming the file, saying %q and offering --force", args[0], code, stderr, tc.want)
				}
			}
			if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != writes {
				t.Errorf("%d requests sent by refused commands", got-writes)
			}
			if tc.name != "ten lines cut off" {
				return
			}
			// Knowingly: the ten conversations cut off are not restored.
			code, _, stderr := runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rb.csv"), "--overwrite", "--force"}, connArgs(url)...)...)
			if code != exitOK {
				t.Fatalf("--force: exit %d\n%s", code, stderr)
			}
			if got := len(readReport(t, filepath.Join(dir, "rb.csv"))); got != n-10 {
				t.Errorf("--force imported %d rows, want the %d left", got, n-10)
			}
		})
	}
}

// TestResumeRefusesBackupWithoutOkRows: after an interrupted run, a
// backup journal that lost its end together with its checks (so that it
// proves itself) lacks the rows of conversations the report has ok:
// --resume --backup refuses (exit 2), naming how many and the first ones,
// and sends nothing; --force continues.
func TestResumeRefusesBackupWithoutOkRows(t *testing.T) {
	dir, in, rows := newInput(t, 66, 1500)
	srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, RateLimit: -1})
	initialState(t, srv, rows, 12)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var requests atomic.Int64
	url := serveChecked(t, srv, func(string, []fakeim.Conversation) {
		if requests.Add(1) == 20 {
			cancel()
		}
	})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	bk, report := filepath.Join(dir, "backup.csv"), filepath.Join(dir, "r.csv")
	args := append([]string{"run", "--input", in, "--report", report, "--backup", bk}, connArgs(url)...)
	if code, _, stderr := runCLIContext(t, ctx, args...); code != exitInterrupted {
		t.Fatalf("interrupted run: exit %d\n%s", code, stderr)
	}
	ok := 0
	for _, l := range readReport(t, report) {
		if l.status == "ok" {
			ok++
		}
	}
	if ok == 0 {
		t.Fatal("the interrupted run reported no row ok: the test proves nothing")
	}
	// The journal and its checks lose their ends together: what is left is
	// the header and its checkpoint, which prove each other.
	journal := bk + ".journal.csv"
	mutate(t, journal, func([]byte) []byte { return []byte(backupHeader + "\n") })
	mutate(t, journal+".check", func(b []byte) []byte { return b[:123] })
	writes := srv.Stats().APIs[fakeim.MarkContact].Requests
	code, _, stderr := runCLI(t, append(args, "--resume")...)
	if code != exitUsage || !strings.Contains(stderr, fmt.Sprintf("%d rows the report has ok", ok)) || !strings.Contains(stderr, "(user") || !strings.Contains(stderr, "--force") {
		t.Fatalf("--resume --backup: exit %d %q, want 2 naming the %d ok rows without a backup row", code, stderr, ok)
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != writes {
		t.Errorf("the refused resume sent %d requests", got-writes)
	}
	if code, _, stderr := runCLI(t, append(args, "--resume", "--force")...); code != exitSomeNotOK {
		t.Fatalf("--resume --backup --force: exit %d\n%s", code, stderr)
	}
}

// TestBackupFullDiskStops: when the backup journal cannot be written (a
// full disk), no request is sent, the run stops with exit 3 and the
// summary's stopped "backup", every row is reported, and the journal stays
// for --resume, which finishes the run once there is room; the rollback
// then restores every conversation.
func TestBackupFullDiskStops(t *testing.T) {
	dir, in, rows := newInput(t, 67, 800)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	before := initialState(t, srv, rows, 13)
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	bk, report, summary := filepath.Join(dir, "backup.csv"), filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json")
	full := hooks{backupFS: &durabletest.Recorder{Fail: durabletest.FailWritesTo(".journal.csv", int64(len(backupHeader)+1))}}
	args := append([]string{"run", "--input", in, "--report", report, "--backup", bk, "--summary", summary}, connArgs(url)...)
	code, _, stderr := runCLIHooked(t, context.Background(), full, args...)
	if code != exitFatal || !strings.Contains(stderr, "no space left") || !strings.Contains(stderr, "--resume") {
		t.Fatalf("exit %d %q, want 3 naming the full disk and --resume", code, stderr)
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != 0 {
		t.Errorf("%d requests sent without their backup", got)
	}
	if sum := readSummary(t, summary); sum["stopped"] != "backup" || !strings.Contains(sum["stop_message"].(string), "backup journal") {
		t.Errorf("summary stopped %v %v, want backup", sum["stopped"], sum["stop_message"])
	}
	rep := readReport(t, report)
	if len(rep) != len(rows) {
		t.Fatalf("%d report lines, want %d", len(rep), len(rows))
	}
	for row, l := range rep {
		if l.status == "ok" || l.status == "unsent" && !strings.Contains(l.message, "backup journal") {
			t.Fatalf("row %d: %+v", row, l)
		}
	}
	if _, err := os.Stat(bk); err == nil {
		t.Errorf("a finished backup after the failure")
	}
	if code, _, stderr := runCLI(t, append(args, "--resume")...); code != exitSomeNotOK {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	checkImportedOver(t, srv, rows, before)
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rb.csv")}, connArgs(url)...)...); code != exitOK {
		t.Fatalf("rollback: exit %d\n%s", code, stderr)
	}
	checkRolledBack(t, srv, rows, before)
}
