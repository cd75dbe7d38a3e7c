package backup

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"os"

	"markimport/pipeline/durable"
)

// A journal kept elsewhere (a bucket, in parts uploaded as it was made
// durable) is rebuilt on the local disk by a run that resumes it, as the
// killed run had it durable: Rebuild takes its parts in order, each the
// rows one sync added and the checkpoint written after it, and writes the
// journal and its check file that Resume then continues like any local
// journal left by a kill.
//
// Each part is proven as it comes, so that a bad one is named: its
// checkpoint must give the length and SHA-256 of the whole journal
// through it. A part changed, from another journal or put in another
// place, therefore does not pass, nor does any part after a change. This
// is the proof a local journal carries, checked at every part instead of
// at the last only.

// JournalPart is one part of a journal kept elsewhere.
type JournalPart struct {
	// Name names the part in messages.
	Name string
	// Rows is the part's CSV: the backup's header (without the
	// byte-order mark) then the rows one sync added; nil for the part
	// that holds the header's checkpoint alone, which comes first.
	Rows []byte
	// CheckName names the checkpoint in messages.
	CheckName string
	// Check is the checkpoint (records of the check file) written after
	// the part's rows were durable; nil when the part is not proven: its
	// rows are left out (no request left on their account), as Resume
	// drops what follows a local journal's last checkpoint.
	Check []byte
}

// Rebuild writes, part by part, the journal and check file of files.
type Rebuild struct {
	files   Files
	journal *os.File
	checks  bytes.Buffer
	size    int64
	h       hash.Hash
	parts   int
}

// StartRebuild starts the journal of files from nothing; the file layer
// is the disk's, so that nothing rebuilt is copied anywhere again.
func StartRebuild(files Files) (*Rebuild, error) {
	f, err := os.OpenFile(files.Journal, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	b := &Rebuild{files: files, journal: f, h: sha256.New()}
	if err := b.write([]byte(headerLine)); err != nil {
		f.Close()
		return nil, err
	}
	return b, nil
}

func (b *Rebuild) write(p []byte) error {
	if _, err := b.journal.Write(p); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	b.h.Write(p)
	b.size += int64(len(p))
	return nil
}

// Add appends the part, once proven: a part whose rows do not start with
// the header, or whose checkpoint is damaged or does not prove the
// journal through it, is a *ProofError naming it.
func (b *Rebuild) Add(p JournalPart) error {
	var rows []byte
	if p.Rows != nil {
		var ok bool
		if rows, ok = bytes.CutPrefix(p.Rows, []byte(headerLine[len(bom):])); !ok {
			return &ProofError{Path: p.Name, Why: "it does not start with the backup's header: it is damaged, or not a part of a markimport backup's journal"}
		}
	}
	if p.Check == nil {
		return nil
	}
	if b.parts == 0 && p.Rows != nil {
		return &ProofError{Path: p.Name, Why: "the header's checkpoint does not come before it"}
	}
	cp, good, err := parseCheckpoints(p.CheckName, p.Check)
	switch {
	case err != nil:
		return &ProofError{Path: p.Name, Why: fmt.Sprintf("its check %s is damaged: %v", p.CheckName, err)}
	case cp == nil || good != int64(len(p.Check)):
		return &ProofError{Path: p.Name, Why: fmt.Sprintf("its check %s is damaged: it is not whole checkpoint records", p.CheckName)}
	}
	if err := b.write(rows); err != nil {
		return err
	}
	var sum [sha256.Size]byte
	b.h.Sum(sum[:0])
	if cp.Size != b.size || cp.Sum != sum {
		return &ProofError{Path: p.Name, Why: fmt.Sprintf("the journal through it (%d bytes, sha256 %.12x…) is not what its check %s proves (%d bytes, sha256 %.12x…): it was changed, is of another journal, or one before it was replaced", b.size, sum, p.CheckName, cp.Size, cp.Sum)}
	}
	b.checks.Write(p.Check)
	b.parts++
	return nil
}

// Finish makes the journal and its check file durable, the check last:
// Resume then finds the journal as its last checkpoint proves it. Without
// a proven part (not even the header's) there is nothing to continue.
func (b *Rebuild) Finish() error {
	if b.parts == 0 {
		b.Abort()
		return &ProofError{Path: b.files.Journal, Why: "no part of it is proven, not even its header"}
	}
	err := durable.Persist(b.journal)
	if cerr := b.journal.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return durable.WriteFile(durable.Local, b.files.JournalCheck, b.checks.Bytes())
}

// Abort closes and removes what was rebuilt.
func (b *Rebuild) Abort() {
	b.journal.Close()
	os.Remove(b.files.Journal)
	os.Remove(b.files.JournalCheck)
}

// PartHeader is the line every part of a journal kept elsewhere starts
// with: the backup's header and "\n", without the byte-order mark.
func PartHeader() string { return headerLine[len(bom):] }
