package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"markimport/sink/fakeim"
)

// TestLegacyRecipe runs the README's recipe (testdata/legacy/recipe.sql)
// end to end: the import file DuckDB made of a legacy table
// (testdata/legacy, `make fixtures`) is imported, and the emulator holds
// what the legacy table says, worked out here from the table alone: per user and conversation, in table order,
// star (bit 0) as the last starred, bit 32 as the last pinned, the custom
// mark as the last label given.
func TestLegacyRecipe(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "legacy")
	f, err := os.Open(filepath.Join(dir, "legacy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "user_id,peer_id,is_group,starred,pinned,label" {
		t.Fatalf("legacy.csv header %v", recs[0])
	}
	want := map[string]map[fakeim.Conversation]fakeim.Mark{}
	for _, r := range recs[1:] {
		user, peer, group, starred, pinned, label := r[0], r[1], r[2] == "1", r[3] == "true", r[4] == "true", r[5]
		c := fakeim.Conversation{Type: fakeim.C2C, Peer: peer}
		if group {
			c.Type = fakeim.Group
		}
		if want[user] == nil {
			want[user] = map[fakeim.Conversation]fakeim.Mark{}
		}
		m := want[user][c]
		m.Standard &^= 1 | 1<<32
		if starred {
			m.Standard |= 1
		}
		if pinned {
			m.Standard |= 1 << 32
		}
		if label != "" {
			m.Custom, m.CustomSet = label, true
		}
		want[user][c] = m
	}

	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report := filepath.Join(t.TempDir(), "r.csv")
	code, stdout, stderr := runCLI(t, runArgs(url, "--input", filepath.Join(dir, "marks.csv"), "--report", report)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	checkState(t, srv, expectation{state: want})

	// The README points at the query the fixture was made with, and that
	// file is the query: DuckDB writes marks.csv by it.
	sql, err := os.ReadFile(filepath.Join(dir, "recipe.sql"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "`testdata/legacy/recipe.sql`") {
		t.Error("README.md does not point at testdata/legacy/recipe.sql")
	}
	if !strings.Contains(string(sql), "COPY (") || !strings.Contains(string(sql), "TO 'marks.csv'") {
		t.Errorf("testdata/legacy/recipe.sql is not the query that writes marks.csv:\n%s", sql)
	}

	// The shortcut the recipe replaces: is_group mapped onto type is
	// refused at its first 0, before anything is sent, pointing to it.
	code, _, stderr = runCLI(t, runArgs(url, "--input", filepath.Join(dir, "legacy.csv"), "--report", filepath.Join(t.TempDir(), "r.csv"),
		"--map", "user_id=from_account", "--map", "peer_id=to_account", "--map", "is_group=type")...)
	if code != exitUsage || !strings.Contains(stderr, "--map is_group=type: row 1's type is \"0\"") || !strings.Contains(stderr, "legacy-table recipe") {
		t.Errorf("is_group mapped onto type: exit %d\n%s", code, stderr)
	}
}
