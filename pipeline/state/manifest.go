package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"markimport/pipeline/durable"
	"markimport/pipeline/spill"
)

// manifest is the state's table of contents, MANIFEST.json: the partition
// files of the current generation, each with its size and CRC-32, and a
// SHA-256 of the manifest itself, so that an edited or damaged manifest
// cannot point at other files silently.
type manifest struct {
	Format   int    `json:"format"`
	SDKAppID string `json:"sdkappid"`
	// Generation counts the commits: 0 for a state that holds nothing
	// yet. A commit writes its partition files into gen-N/ (N the new
	// generation); the files it did not rewrite stay where an earlier
	// generation wrote them.
	Generation int       `json:"generation"`
	Updated    time.Time `json:"updated"`
	// Files are the partitions that hold entries, by partition number.
	Files map[string]fileMeta `json:"files"`
	// SHA256 is the hex SHA-256 of the manifest as encoded with this
	// field empty.
	SHA256 string `json:"sha256,omitempty"`
}

// fileMeta describes a partition file.
type fileMeta struct {
	Name    string `json:"name"` // relative to the state folder: gen-N/p-PPP.st
	Entries int64  `json:"entries"`
	CRC32   uint32 `json:"crc32"`
}

const (
	// formatVersion 2: keys hash from's length, item hashes cover the
	// operation type, and the manifest carries its own checksum.
	formatVersion = 2
	manifestName  = "MANIFEST.json"
	fileMagic     = "MKSTATE1"
	// maxEntries bounds a partition file's entries, far above what 256
	// partitions of a billion conversations hold, so that a size computed
	// from a manifest cannot overflow.
	maxEntries = 1 << 40
)

func emptyManifest(appID string) manifest {
	return manifest{Format: formatVersion, SDKAppID: appID, Files: map[string]fileMeta{}}
}

// genDir is the folder of generation g's partition files.
func genDir(g int) string { return "gen-" + strconv.Itoa(g) }

// partName is the name of partition p's file in a generation's folder.
func partName(p int) string { return fmt.Sprintf("p-%03d.st", p) }

// checksum is the hex SHA-256 of the manifest encoded with no checksum.
func (m manifest) checksum() (string, error) {
	m.SHA256 = ""
	body, err := json.MarshalIndent(m, "", "  ")
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), err
}

// encode renders the manifest with its checksum.
func (m manifest) encode() ([]byte, error) {
	sum, err := m.checksum()
	if err != nil {
		return nil, err
	}
	m.SHA256 = sum
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// errFormat is a manifest of another format: a state written by another
// version of markimport.
var errFormat = errors.New("state format")

// decodeManifest parses a manifest and checks it whole: its format, its
// checksum (over the fields as read: a manifest edited in any value, or
// with a field added, does not match) and what it says (validate).
func decodeManifest(b []byte) (manifest, error) {
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("not a state manifest: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return m, errors.New("not a state manifest: data after its end")
	}
	if m.Format != formatVersion {
		return m, fmt.Errorf("%w %d, this markimport reads format %d", errFormat, m.Format, formatVersion)
	}
	if m.SHA256 == "" {
		return m, errors.New("the manifest has no checksum")
	}
	if sum, err := m.checksum(); err != nil || sum != m.SHA256 {
		return m, errors.New("checksum mismatch: the manifest was edited or damaged")
	}
	return m, m.validate()
}

// validate checks what a manifest says: an app; a generation that names
// files exactly when it is not 0; each file the one of its partition,
// in the folder of a generation up to the manifest's (the latest among
// them), with a count of entries a file can hold.
func (m *manifest) validate() error {
	if m.SDKAppID == "" {
		return errors.New("the manifest names no SDKAppID")
	}
	switch {
	case m.Generation < 0:
		return fmt.Errorf("generation %d", m.Generation)
	case m.Generation == 0 && len(m.Files) > 0:
		return fmt.Errorf("generation 0 names %d partition files", len(m.Files))
	case m.Generation > 0 && len(m.Files) == 0:
		return fmt.Errorf("generation %d names no partition file", m.Generation)
	}
	latest := 0
	for key, fm := range m.Files {
		p, err := strconv.Atoi(key)
		if err != nil || strconv.Itoa(p) != key || p < 0 || p >= spill.Partitions {
			return fmt.Errorf("%q is not a partition", key)
		}
		g := 0
		if _, err := fmt.Sscanf(fm.Name, "gen-%d/", &g); err != nil || g < 1 || g > m.Generation || fm.Name != genDir(g)+"/"+partName(p) {
			return fmt.Errorf("partition %d: file %q is not one of generation 1..%d of that partition", p, fm.Name, m.Generation)
		}
		if fm.Entries < 1 || fm.Entries > maxEntries {
			return fmt.Errorf("partition %d: %d entries", p, fm.Entries)
		}
		latest = max(latest, g)
	}
	if m.Generation > 0 && latest != m.Generation {
		return fmt.Errorf("generation %d names no file of its own", m.Generation)
	}
	return nil
}

// readManifest reads and checks the manifest.
func (s *Store) readManifest() error {
	path := filepath.Join(s.dir, manifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		return &stateError{Path: path, Err: err}
	}
	m, err := decodeManifest(b)
	if errors.Is(err, errFormat) {
		return damaged(path, err.Error()+": the state was written by another version of markimport", "")
	}
	if err != nil {
		return damaged(path, "the state manifest cannot be trusted ("+err.Error()+")", "")
	}
	if s.appID == "" && s.dry {
		s.appID = m.SDKAppID // validate previews the state whatever its app
	}
	if m.SDKAppID != s.appID {
		return &stateError{Path: s.dir, Err: fmt.Errorf("the state is of SDKAppID %s, this run is for SDKAppID %s: give each app its own --state", m.SDKAppID, s.appID)}
	}
	s.man = m
	return nil
}

// writeManifest makes m the state's manifest: written beside it, synced,
// renamed into place, the folder synced.
func (s *Store) writeManifest(m manifest) error {
	path := filepath.Join(s.dir, manifestName)
	b, err := m.encode()
	if err == nil {
		err = durable.WriteFile(s.fs, path, b)
	}
	if err != nil {
		return &stateError{Path: path, Err: err}
	}
	return nil
}
