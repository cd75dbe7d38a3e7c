package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"markimport/pipeline/durable/durabletest"
	"markimport/sink/fakeim"
)

// TestBackupAndRollback imports over a non-empty state with --backup,
// then imports the backup: every touched bit and custom mark is back,
// verify of the backup says all match, and nothing else was written. The
// same with a Parquet backup, and with transient faults on both APIs.
func TestBackupAndRollback(t *testing.T) {
	for _, tc := range []struct {
		name, backup string
		cfg          fakeim.Config
	}{
		{"csv", "backup.csv", fakeim.Config{RateLimit: -1}},
		{"parquet", "backup.parquet", fakeim.Config{RateLimit: -1}},
		// Faults on both APIs, at rates that leave no call failing all of
		// its --max-attempts (a read that does leaves its user unsent:
		// TestBackupReadFailureSendsNothing).
		{"faults", "backup.csv", fakeim.Config{RateLimit: -1, TransientRate: 0.05, HTTP502Rate: 0.02, LostResponseRate: 0.02, Seed: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, 61, 1500)
			srv, url := startEmulator(t, tc.cfg)
			before := initialState(t, srv, rows, 3)
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			bk := filepath.Join(dir, tc.backup)
			summary := filepath.Join(dir, "summary.json")
			code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"),
				"--summary", summary, "--backup", bk, "--max-attempts", "12"}, connArgs(url)...)...)
			if code != exitSomeNotOK { // the file has invalid and rejected rows
				t.Fatalf("import: exit %d\n%s", code, stderr)
			}
			checkImportedOver(t, srv, rows, before)
			if st := srv.Stats().APIs; tc.name == "faults" && (st[fakeim.SearchContactGroup].Faults == 0 || st[fakeim.MarkContact].Faults == 0) {
				t.Errorf("faults on reads %d, on writes %d: want both", st[fakeim.SearchContactGroup].Faults, st[fakeim.MarkContact].Faults)
			}
			sum := readSummary(t, summary)
			want := len(changedConversations(rows, before))
			if got := int(sum["backup_rows"].(float64)); got != want {
				t.Errorf("backup_rows %d, want %d (the conversations the import changed)", got, want)
			}
			if got, want := int(sum["read_requests"].(float64)), searchLowerBound(expect(rows).state); got < want {
				t.Errorf("%d read requests, fewer than the %d the conversations need", got, want)
			} else if tc.name != "faults" && got != want {
				t.Errorf("%d read requests, want ceil(conversations/300) per user = %d", got, want)
			}
			if _, err := os.Stat(bk + ".journal.csv"); err == nil {
				t.Errorf("the journal is still there after the run")
			}

			// Roll back: the backup is the input.
			code, _, stderr = runCLI(t, append([]string{"run", "--input", bk, "--report", filepath.Join(dir, "rollback.csv")}, connArgs(url)...)...)
			if code != exitOK {
				t.Fatalf("rollback: exit %d\n%s", code, stderr)
			}
			checkRolledBack(t, srv, rows, before)
			code, _, stderr = verifyCLI(t, context.Background(), append(connArgs(url), "--input", bk, "--report", filepath.Join(dir, "verify.csv"))...)
			if code != exitOK {
				t.Fatalf("verify of the backup after the rollback: exit %d\n%s", code, stderr)
			}
		})
	}
}

// TestBackupBeforeEveryWrite: every mark_contact request that reaches the
// server finds the rows of its conversations durable in the backup: the
// journal written and synced, and a checkpoint proving them synced after,
// as the backup's file layer recorded its calls at that moment (not what
// the page cache holds). Where each row lies is read from the finished
// backup afterwards.
func TestBackupBeforeEveryWrite(t *testing.T) {
	dir, in, rows := newInput(t, 62, 800)
	bk := filepath.Join(dir, "backup.csv")
	srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey, RateLimit: -1})
	before := initialState(t, srv, rows, 4)
	changed := changedConversations(rows, before)
	var mu sync.Mutex
	var written, synced, proven int64
	rec := &durabletest.Recorder{Hook: func(op durabletest.Op) {
		mu.Lock()
		defer mu.Unlock()
		switch base := filepath.Base(op.Path); {
		case op.Err != nil:
		case base == "backup.csv.journal.csv" && op.Kind == durabletest.Write:
			written += int64(op.N)
		case base == "backup.csv.journal.csv" && op.Kind == durabletest.Sync:
			synced = written
		case base == "backup.csv.journal.csv.check" && op.Kind == durabletest.Sync:
			proven = synced
		}
	}}
	type arrival struct {
		from   string
		convs  []fakeim.Conversation
		proven int64
	}
	var arrivals []arrival
	hs := checkedServer(t, srv, func(from string, convs []fakeim.Conversation) {
		mu.Lock()
		arrivals = append(arrivals, arrival{from, convs, proven})
		mu.Unlock()
	})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	code, _, stderr := runCLIHooked(t, context.Background(), hooks{backupFS: rec}, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--backup", bk}, connArgs(hs.URL)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// Every request, one the tool gave up on included, has arrived.
	hs.Close()
	mu.Lock()
	defer mu.Unlock()
	// Where each conversation's row ends in the backup, which is the
	// journal renamed.
	f, err := os.Open(bk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Read()
	ends := map[convKey]int64{}
	for {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		c := fakeim.Conversation{Type: fakeim.C2C, Peer: rec[2]}
		if rec[1] == "group" {
			c = fakeim.Conversation{Type: fakeim.Group, Peer: rec[3]}
		}
		ends[convKey{rec[0], c}] = cr.InputOffset()
	}
	checked, early := 0, 0
	for _, a := range arrivals {
		for _, c := range a.convs {
			end, ok := ends[convKey{a.from, c}]
			switch {
			case !ok && changed[convKey{a.from, c}]:
				t.Fatalf("%s %v was changed and has no backup row", a.from, c)
			case ok && end > a.proven:
				early++
			}
			checked++
		}
	}
	if checked == 0 || early != 0 {
		t.Fatalf("%d of %d conversations reached the server before their backup row was proven durable", early, checked)
	}
}

// TestBackupReadFailureSendsNothing: a user whose marks cannot be read is
// not written; its rows are unsent with the read's code.
func TestBackupReadFailureSendsNothing(t *testing.T) {
	dir, in, srv, url := ghostInput(t, fakeim.Mark{Standard: 1 << 9, Custom: "old", CustomSet: true})
	bk, report := filepath.Join(dir, "backup.csv"), filepath.Join(dir, "r.csv")
	code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", report, "--backup", bk}, connArgs(url)...)...)
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	rep := readReport(t, report)
	if l := rep[2]; l.status != "unsent" || l.code != 50001 || !strings.Contains(l.message, "backup could not be read") {
		t.Errorf("ghost's row: %+v, want unsent 50001 naming the backup", l)
	}
	if l := rep[1]; l.status != "ok" {
		t.Errorf("alice's row: %+v", l)
	}
	if got := srv.Stats().APIs[fakeim.MarkContact].Requests; got != 1 {
		t.Errorf("%d mark_contact requests, want 1 (alice's)", got)
	}
	b, _ := os.ReadFile(bk)
	want := backupHeader + "\n" +
		"alice,c2c,bob,,,1,old,3\n" +
		"alice,c2c,carol,,,3,,1\n"
	if string(b) != want {
		t.Errorf("backup:\n%s\nwant:\n%s", b, want)
	}
}

// TestBackupRefusals: the mistakes a backup must survive.
func TestBackupRefusals(t *testing.T) {
	dir, in, _ := newInput(t, 63, 200)
	_, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	conn := connArgs(url)
	bk := filepath.Join(dir, "backup.csv")
	if code, _, stderr := runCLI(t, "validate", "--input", in, "--backup", bk); code != exitUsage || !strings.Contains(stderr, "run --fake --backup") {
		t.Errorf("validate --backup: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"verify", "--input", in, "--report", filepath.Join(dir, "v.csv"), "--backup", bk}, conn...)...); code != exitUsage || !strings.Contains(stderr, "--backup belongs to run") {
		t.Errorf("verify --backup: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", bk, "--backup", bk}, conn...)...); code != exitUsage {
		t.Errorf("--backup = --report: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--backup", in}, conn...)...); code != exitUsage {
		t.Errorf("--backup = --input: exit %d %q", code, stderr)
	}
	// Resuming a run that wrote no backup with one would back up marks it
	// may already have changed.
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv")}, conn...)...); code != exitSomeNotOK {
		t.Fatalf("run: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--resume", "--backup", bk}, conn...)...); code != exitUsage || !strings.Contains(stderr, "wrote none") {
		t.Errorf("--resume --backup of a run without one: exit %d %q", code, stderr)
	}
	// Over marks it already holds, a run changes nothing: its backup has no
	// row, restores nothing, and the next run may take its name.
	for range 2 {
		if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r2.csv"), "--overwrite", "--backup", bk}, conn...)...); code != exitSomeNotOK {
			t.Fatalf("run --backup over the same marks: exit %d %q", code, stderr)
		}
		if recs := readCSVFile(t, bk, backupHeader); len(recs) != 1 {
			t.Fatalf("the backup of a run that changed nothing holds %d rows", len(recs)-1)
		}
	}
	os.Remove(bk)
	os.Remove(filepath.Join(dir, "r2.csv"))
	// A finished backup with rows is never replaced, --overwrite or not
	// (on a fresh emulator: the one above holds the file already, so a
	// backup of it would hold no row, and restore nothing).
	_, url2 := startEmulator(t, fakeim.Config{RateLimit: -1})
	conn = connArgs(url2)
	if code, _, stderr := runCLI(t, append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r2.csv"), "--backup", bk}, conn...)...); code != exitSomeNotOK {
		t.Fatalf("run --backup: exit %d %q", code, stderr)
	}
	saved, _ := os.ReadFile(bk)
	if len(readCSVFile(t, bk, backupHeader)) < 2 {
		t.Fatal("the backup holds no row")
	}
	for _, extra := range [][]string{nil, {"--overwrite"}} {
		args := append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r2.csv"), "--backup", bk}, conn...)
		if code, _, stderr := runCLI(t, append(args, extra...)...); code != exitUsage || !strings.Contains(stderr, "never replaced") {
			t.Errorf("a second run on the backup %v: exit %d %q", extra, code, stderr)
		}
	}
	if now, _ := os.ReadFile(bk); string(now) != string(saved) {
		t.Errorf("the backup changed")
	}
}

// TestBackupKillAndResume: kill -9 in the middle of an import with
// --backup, resume it, roll back: the marks are those from before the
// first run, so no row was replaced by marks read after the run changed
// them.
func TestBackupKillAndResume(t *testing.T) {
	bin := buildBinary(t)
	for _, stop := range []string{"kill", "Ctrl-C"} {
		t.Run(stop, func(t *testing.T) {
			dir, in, rows := newInput(t, 64, 3000)
			srv, url := startEmulator(t, fakeim.Config{Latency: 10 * time.Millisecond, TransientRate: 0.05, Seed: 9})
			before := initialState(t, srv, rows, 5)
			bk := filepath.Join(dir, "backup.csv")
			args := []string{"--input", in, "--report", filepath.Join(dir, "r.csv"), "--backup", bk}
			// The run's requests from the 21st are held until it is
			// stopped: it cannot end first.
			held := holdFrom(t, url, string(fakeim.MarkContact), 21)
			cmd, out := startRun(t, bin, held.url, args...)
			waitRequests(t, srv, 20)
			if stop == "kill" {
				cmd.Process.Kill()
			} else {
				cmd.Process.Signal(syscall.SIGINT)
				waitOutput(t, out, "finishing requests in flight")
				held.release()
			}
			code := exitCode(cmd.Wait())
			held.drop()
			if (stop == "kill") != (code == -1) || stop == "Ctrl-C" && code != exitInterrupted {
				t.Fatalf("exit %d\n%s", code, out)
			}
			// Either way the journal stays for --resume, and no backup
			// claims to be finished.
			if _, err := os.Stat(bk + ".journal.csv"); err != nil {
				t.Fatalf("no journal after the %s: %v", stop, err)
			}
			if _, err := os.Stat(bk); err == nil {
				t.Fatalf("a finished backup after the %s", stop)
			}
			cmd, out = startRun(t, bin, url, append(args, "--resume")...)
			if code := exitCode(cmd.Wait()); code != exitSomeNotOK {
				t.Fatalf("resume: exit %d\n%s", code, out)
			}
			checkImportedOver(t, srv, rows, before)
			if n, want := len(readCSVFile(t, bk, backupHeader))-1, len(changedConversations(rows, before)); n != want {
				t.Errorf("the backup has %d rows, want one per changed conversation (%d)", n, want)
			}
			cmd, out = startRun(t, bin, url, "--input", bk, "--report", filepath.Join(dir, "rollback.csv"))
			if code := exitCode(cmd.Wait()); code != exitOK {
				t.Fatalf("rollback: exit %d\n%s", code, out)
			}
			checkRolledBack(t, srv, rows, before)
		})
	}
}

// TestFakeStateRehearsal: the built-in emulator keeps its marks in
// --fake-state between rehearsals, so that a run, its rollback and a
// verify of the rollback follow each other without a server.
func TestFakeStateRehearsal(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("from_account,to_account,to_group_id,set_mark,clear_mark,custom_mark\nalice,bob,,1|4,,vip\nalice,,g1,,2,\nbob,carol,,7,,\"a,\n\"\"b\"\"\"\n"), 0o644)
	state, bk := filepath.Join(dir, "im.json"), filepath.Join(dir, "backup.csv")
	// A first import leaves marks the second one changes.
	os.WriteFile(filepath.Join(dir, "before.csv"), []byte("from_account,to_account,set_mark,custom_mark\nalice,bob,2,old\nbob,carol,9,\n"), 0o644)
	steps := [][]string{
		{"run", "--fake", "--fake-state", state, "--input", filepath.Join(dir, "before.csv"), "--report", filepath.Join(dir, "r0.csv"), "--quiet"},
		{"run", "--fake", "--fake-state", state, "--input", in, "--report", filepath.Join(dir, "r1.csv"), "--backup", bk, "--quiet"},
		{"verify", "--fake", "--fake-state", state, "--input", in, "--report", filepath.Join(dir, "v1.csv"), "--quiet"},
		{"run", "--fake", "--fake-state", state, "--input", bk, "--report", filepath.Join(dir, "r2.csv"), "--quiet"},
		{"verify", "--fake", "--fake-state", state, "--input", bk, "--report", filepath.Join(dir, "v2.csv"), "--quiet"},
		{"verify", "--fake", "--fake-state", state, "--input", filepath.Join(dir, "before.csv"), "--report", filepath.Join(dir, "v0.csv"), "--quiet"},
	}
	for _, args := range steps {
		if code, stdout, stderr := runCLI(t, args...); code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	want := backupHeader + "\n"
	b, _ := os.ReadFile(bk)
	for _, row := range []string{"alice,c2c,bob,,,1|4,old,3\n", "alice,group,,g1,,2,,1\n", "bob,c2c,carol,,,7,,3\n"} {
		if !strings.Contains(string(b), row) {
			t.Errorf("the backup lacks %q:\n%s", row, b)
		}
	}
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("backup header:\n%s", b)
	}
	if code, _, stderr := runCLI(t, "verify", "--fake", "--input", in, "--report", filepath.Join(dir, "v3.csv"), "--quiet"); code != exitUsage || !strings.Contains(stderr, "--fake-state") {
		t.Errorf("verify --fake without a state: exit %d %q", code, stderr)
	}
	// The state file is an output of run and an input of verify: never the
	// input, a report, or the run's report verify reads.
	r1 := filepath.Join(dir, "r1.csv")
	saved, _ := os.ReadFile(r1)
	for _, args := range [][]string{
		{"run", "--fake", "--fake-state", filepath.Join(dir, "r9.csv"), "--input", in, "--report", filepath.Join(dir, "r9.csv"), "--quiet"},
		{"run", "--fake", "--fake-state", in, "--input", in, "--report", filepath.Join(dir, "r8.csv"), "--quiet"},
		{"run", "--fake", "--fake-state", r1, "--input", in, "--report", r1, "--overwrite", "--quiet"},
		{"verify", "--fake", "--fake-state", state, "--input", in, "--report", r1, "--run-report", r1, "--overwrite", "--quiet"},
		{"verify", "--fake", "--fake-state", filepath.Join(dir, "v4.csv"), "--input", in, "--report", filepath.Join(dir, "v4.csv"), "--quiet"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || !strings.Contains(stderr, "--") {
			t.Errorf("%v: exit %d %q, want 2", args, code, stderr)
		}
	}
	if now, _ := os.ReadFile(r1); string(now) != string(saved) {
		t.Errorf("the run's report changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "r9.csv")); err == nil {
		t.Errorf("a refused run left a report")
	}
}
