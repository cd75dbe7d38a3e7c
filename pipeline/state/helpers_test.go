package state

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"markimport/pipeline/mark"
	"markimport/pipeline/spill"
)

// unchanged looks one item up, loading its user's partition.
func (s *Store) unchanged(from string, it *mark.Item) (bool, error) {
	pt, err := s.Partition(spill.PartitionOf(from))
	if err != nil {
		return false, err
	}
	return pt.unchanged(from, it), nil
}

// unchanged looks one item up in the part.
func (pt *Partition) unchanged(from string, it *mark.Item) bool {
	return pt.Unchanged(from, []mark.Item{*it}, nil)[0]
}

func slicesSortEntries(e []entry) { slices.SortFunc(e, entry.less) }

func be(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// has reports whether the part holds the key with the item hash fp.
func (pt *Partition) has(k1, k2, fp uint64) bool {
	got, ok := pt.lookup(k1, k2)
	return ok && got == fp
}

// confirmUsers records one item for each of users u0..u(n-1) from first.
func confirmUsers(s *Store, first, n int, set uint64) {
	for u := first; u < first+n; u++ {
		s.Confirmed("u"+strconv.Itoa(u), item("p", set, "", mark.OptStandard))
	}
}

// snapshot is the files under dir and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel != "." {
				out[rel+"/"] = ""
			}
			return nil
		}
		b, _ := os.ReadFile(p)
		out[rel] = string(b)
		return nil
	})
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// committed returns a state folder after two commits (gen-1, gen-2), of
// 60 conversations.
func committed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for night := range 2 {
		s, err := Open(dir, "1", Options{})
		if err != nil {
			t.Fatal(err)
		}
		confirmUsers(s, night*20, 40, uint64(night))
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// aPartFile returns the name (relative) of a partition file the manifest
// names, and its content.
func aPartFile(t *testing.T, dir string) (string, string) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, manifestName))
	m, err := decodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, fm := range m.Files {
		c, _ := os.ReadFile(filepath.Join(dir, fm.Name))
		return fm.Name, string(c)
	}
	t.Fatal("no partition file")
	return "", ""
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func item(peer string, set uint64, custom string, opt uint8) *mark.Item {
	return &mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: peer}, Set: set, Custom: custom, Opt: opt}
}

// goodManifest is a manifest as a third commit writes it.
func goodManifest() manifest {
	return manifest{
		Format: formatVersion, SDKAppID: "1400000001", Generation: 3,
		Updated: time.Date(2024, 5, 6, 7, 8, 9, 123, time.UTC),
		Files: map[string]fileMeta{
			"0":   {Name: "gen-3/p-000.st", Entries: 12, CRC32: 7},
			"17":  {Name: "gen-1/p-017.st", Entries: 1, CRC32: 8},
			"255": {Name: "gen-2/p-255.st", Entries: 99, CRC32: 9},
		},
	}
}
