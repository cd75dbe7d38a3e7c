package report

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"markimport/readers"
)

// InputDigest is the identity of an input's content: its size and
// SHA-256 (of an object in a bucket: its size and ETag, which the store
// computes, so that the object is not downloaded to be hashed), so that a
// resumed run can refuse an input that changed since its report was
// started. It is recorded in a report's .meta.json.
type InputDigest struct {
	// Input is the input as given (a file of a multi-file input: its name
	// within the input).
	Input string `json:"input"`
	// Size is the bytes of the input (of several files: their sum).
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the file (of several files: of their
	// names and hashes).
	SHA256 string `json:"sha256"`
	// ETag is the ETag of an object in a bucket ("" for a local file,
	// whose SHA256 is given instead).
	ETag string `json:"etag,omitempty"`
	// Files holds an input of several files' digest of each.
	Files []InputDigest `json:"files,omitempty"`
	// Reading says how the input's columns are read, when not as their
	// names say: "--map a=from_account", "--map-file sha256 …" (of its
	// content). The same bytes read another way are other conversations
	// or other marks, so a resumed run must read them the same way.
	Reading string `json:"reading,omitempty"`
}

// DigestFile reads a whole file and returns its size and SHA-256.
func DigestFile(path string) (InputDigest, error) {
	f, err := os.Open(path)
	if err != nil {
		return InputDigest{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return InputDigest{}, fmt.Errorf("read %s: %w", path, err)
	}
	return InputDigest{Input: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// DigestInput digests every file of an input: for one file, the
// file's; for several, each file's under its name, with the total size
// and a SHA-256 of the names and hashes.
func DigestInput(in *readers.Input) (InputDigest, error) {
	if !in.Multi() {
		return digestPart(&in.Parts[0])
	}
	digest := InputDigest{Input: in.String()}
	h := sha256.New()
	for i := range in.Parts {
		p := &in.Parts[i]
		f, err := digestPart(p)
		if err != nil {
			return InputDigest{}, err
		}
		f.Input = p.Name
		digest.Size += f.Size
		fmt.Fprintf(h, "%s\x00%s\x00", f.Input, f.content())
		digest.Files = append(digest.Files, f)
	}
	digest.SHA256 = hex.EncodeToString(h.Sum(nil))
	return digest, nil
}

// digestPart is the digest of one file of an input: an object's ETag and
// size as the input was listed with, a local file's SHA-256 and size.
func digestPart(p *readers.Part) (InputDigest, error) {
	if etag, size, ok := p.Object(); ok {
		return InputDigest{Input: p.Path, Size: size, ETag: etag}, nil
	}
	return DigestFile(p.Path)
}

// content is what tells the content apart: the SHA-256 of a file,
// "etag:" and the ETag of an object.
func (d InputDigest) content() string {
	if d.ETag != "" {
		return "etag:" + d.ETag
	}
	return d.SHA256
}

// same reports whether two digests are of the same content.
func (d InputDigest) same(o InputDigest) bool {
	return d.Size == o.Size && d.content() == o.content()
}

// String says what the digest holds, for messages: "size 12, sha256
// 0a1b2c3d4e5f…" or "size 12, ETag "…"".
func (d InputDigest) String() string {
	if d.ETag != "" {
		return fmt.Sprintf("size %d, ETag %s", d.Size, d.ETag)
	}
	return fmt.Sprintf("size %d, sha256 %.12s…", d.Size, d.SHA256)
}

// changedFile names a file that differs between the digests of an
// input then (old) and now, and how: added, removed, changed, or named
// otherwise; hint says what to do when only the names differ ("" when the
// files do: resume with that input, or start anew).
func changedFile(old, now InputDigest) (what, hint string) {
	if len(old.Files) == 0 && len(now.Files) == 0 {
		return "", ""
	}
	then := map[string]InputDigest{}
	for _, f := range old.Files {
		then[f.Input] = f
	}
	if len(old.Files) == 0 {
		then[old.Input] = old
	}
	files := now.Files
	if len(files) == 0 {
		files = []InputDigest{now}
	}
	names := map[string]bool{}
	for _, f := range files {
		names[f.Input] = true
	}
	for _, f := range files {
		o, ok := then[f.Input]
		switch {
		case !ok:
			// The same content under a name that is gone: the file is
			// named otherwise, not new.
			for _, o := range old.Files {
				if !names[o.Input] && o.same(f) {
					return namedOtherwise(f.Input, o.Input)
				}
			}
			return fmt.Sprintf("%s was added", f.Input), ""
		case !o.same(f):
			return fmt.Sprintf("%s changed (%s then; %s now)", f.Input, o, f), ""
		}
	}
	for name := range then {
		if !names[name] {
			return fmt.Sprintf("%s was removed", name), ""
		}
	}
	return "", ""
}

// namedOtherwise says that the file now named name is the one the report
// names then, and what to do about it. A name holding glob syntax is one
// markimport gave a glob's files, with --input repeated, before it named
// them by their paths: no --input gives it again.
func namedOtherwise(name, then string) (what, hint string) {
	what = fmt.Sprintf("%s is the file the report names %s", name, then)
	if strings.ContainsAny(then, "*?[") && !strings.ContainsAny(name, "*?[") {
		return what + ", as markimport named a glob's files before it named them by their paths",
			"this markimport cannot continue that report: start a new one (--overwrite); the rows already ok are sent again, which changes nothing on the server"
	}
	return what + " (the --input values are written otherwise, or an earlier markimport named it so)", "give the --input values as they were given then; if they were, start a new report (--overwrite): the rows already ok are sent again, which changes nothing on the server"
}
