package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
