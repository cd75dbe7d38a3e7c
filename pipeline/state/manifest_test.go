package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestManifestValidate: a manifest that checks (its checksum right) is
// still refused when what it says cannot be: files in generation 0, none
// in a later one, a key that is not a partition, a file that is not its
// partition's or is in a generation the manifest has not reached (or
// outside the state folder), entries no file holds.
func TestManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *manifest)
		want string
	}{
		{"as written", func(m *manifest) {}, ""},
		{"a new state", func(m *manifest) { *m = emptyManifest("1") }, ""},
		{"no app", func(m *manifest) { m.SDKAppID = "" }, "no SDKAppID"},
		{"generation 0 with files", func(m *manifest) { m.Generation = 0 }, "generation 0 names 3"},
		{"a generation with no file", func(m *manifest) { m.Files = map[string]fileMeta{} }, "generation 3 names no partition file"},
		{"a negative generation", func(m *manifest) { m.Generation = -1 }, "generation -1"},
		{"a generation that wrote no file of its own", func(m *manifest) { m.Generation = 4 }, "generation 4 names no file of its own"},
		{"partition 256", func(m *manifest) { m.Files["256"] = fileMeta{Name: "gen-3/p-256.st", Entries: 1} }, `"256" is not a partition`},
		{"partition 01", func(m *manifest) { m.Files["01"] = fileMeta{Name: "gen-3/p-001.st", Entries: 1} }, `"01" is not a partition`},
		{"partition -1", func(m *manifest) { m.Files["-1"] = fileMeta{Name: "gen-3/p-001.st", Entries: 1} }, `"-1" is not a partition`},
		{"another partition's file", func(m *manifest) { m.Files["1"] = fileMeta{Name: "gen-3/p-000.st", Entries: 1} }, "not one of generation 1..3 of that partition"},
		{"a generation ahead", func(m *manifest) { m.Files["1"] = fileMeta{Name: "gen-4/p-001.st", Entries: 1} }, "not one of generation"},
		{"generation 0", func(m *manifest) { m.Files["1"] = fileMeta{Name: "gen-0/p-001.st", Entries: 1} }, "not one of generation"},
		{"outside the folder", func(m *manifest) { m.Files["1"] = fileMeta{Name: "gen-1/../../p-001.st", Entries: 1} }, "not one of generation"},
		{"an absolute path", func(m *manifest) { m.Files["1"] = fileMeta{Name: "/gen-1/p-001.st", Entries: 1} }, "not one of generation"},
		{"a leading zero", func(m *manifest) { m.Files["1"] = fileMeta{Name: "gen-01/p-001.st", Entries: 1} }, "not one of generation"},
		{"no entries", func(m *manifest) { m.Files["0"] = fileMeta{Name: "gen-3/p-000.st", Entries: 0} }, "0 entries"},
		{"more entries than a file holds", func(m *manifest) { m.Files["0"] = fileMeta{Name: "gen-3/p-000.st", Entries: 1 << 62} }, "entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := goodManifest()
			tc.edit(&m)
			b, err := m.encode()
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeManifest(b)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("%v, want %q", err, tc.want)
			}
		})
	}
}

// TestManifestChecksum: a manifest edited by hand in any value (its
// checksum left as it was), given a field markimport does not write,
// followed by more data, without its checksum, or of another format is
// refused; one merely re-indented is not.
func TestManifestChecksum(t *testing.T) {
	good, _ := goodManifest().encode()
	if _, err := decodeManifest(good); err != nil {
		t.Fatalf("as written: %v", err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"an entry count", `"entries": 12`, `"entries": 13`, "checksum mismatch"},
		{"a CRC", `"crc32": 7`, `"crc32": 6`, "checksum mismatch"},
		{"a file name", `"gen-1/p-017.st"`, `"gen-2/p-017.st"`, "checksum mismatch"},
		{"the generation", `"generation": 3`, `"generation": 2`, "checksum mismatch"},
		{"the date", `"updated": "2024-05-06`, `"updated": "2024-05-07`, "checksum mismatch"},
		{"a file dropped", `,
    "255": {
      "name": "gen-2/p-255.st",
      "entries": 99,
      "crc32": 9
    }`, ``, "checksum mismatch"},
		{"the checksum", `"sha256": "`, `"sha256": "0`, "checksum mismatch"},
		{"no checksum", `,
  "sha256"`, `,
  "x_sha256"`, "unknown field"},
		{"a field added", `"generation": 3,`, `"generation": 3, "note": "mine",`, "unknown field"},
		{"another format", `"format": 2`, `"format": 1`, "state format 1"},
		{"empty", string(good), "", "not a state manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(good, []byte(tc.old)) {
				t.Fatalf("%q not in %s", tc.old, good)
			}
			b := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			if _, err := decodeManifest(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want %q", err, tc.want)
			}
		})
	}
	if _, err := decodeManifest(append(bytes.Clone(good), "{}"...)); err == nil || !strings.Contains(err.Error(), "data after its end") {
		t.Errorf("data after it: %v", err)
	}
	if _, err := decodeManifest(bytes.Replace(good, []byte(`"format": 2`), []byte(`"format": 1`), 1)); !errors.Is(err, errFormat) {
		t.Errorf("another format: %v, want errFormat", err)
	}
	m := goodManifest()
	m.SHA256 = ""
	b, _ := m.encode()
	b = bytes.Replace(b, []byte("\n  \"sha256\""), []byte("\n\n\t\"sha256\""), 1)
	b = bytes.ReplaceAll(b, []byte("  "), []byte(" "))
	if _, err := decodeManifest(b); err != nil {
		t.Errorf("re-indented: %v", err)
	}
}

// FuzzDecodeManifest: whatever the bytes, a manifest decoded without
// error is one that validates and encodes back to itself.
func FuzzDecodeManifest(f *testing.F) {
	good, _ := goodManifest().encode()
	empty, _ := emptyManifest("1").encode()
	f.Add(good)
	f.Add(empty)
	f.Add([]byte(`{"format":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		if err := m.validate(); err != nil {
			t.Fatalf("decoded a manifest that does not validate: %v", err)
		}
		again, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodeManifest(again)
		if err != nil || m2.Generation != m.Generation || len(m2.Files) != len(m.Files) || m2.SHA256 != m.SHA256 {
			t.Fatalf("re-encoded: %v", err)
		}
	})
}
