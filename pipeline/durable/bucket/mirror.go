package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"markimport/pipeline/durable"
)

// Mirror is a durable.FS that uploads a journal to the store as it is
// made durable: the file at Path, written through it, is written to the
// disk as by FS, and each Sync uploads the rows written since the last
// one as a new segment object under Segments (NNNNNNNN.csv, numbered from
// 1), a CSV made of the journal's first line (its header, without a
// byte-order mark) and those rows, before Sync returns. A writer that makes its journal durable before a
// request leaves (a backup's group commit) thereby has the rows in the
// bucket first. The journal must be written in whole lines, appended only:
// a journal rewritten in place (WriteAt, Truncate, Seek) cannot be
// mirrored, and such a call is an error.
//
// The journal's proof is mirrored too: the file at Check (its checkpoints,
// written after each sync of the journal and before any request leaves)
// uploads, at each of its own Syncs, what was appended to it since as
// _NNNNNNNN.check under Segments, numbered as the last segment uploaded
// (_00000000.check: the checkpoint of the header alone, which says the
// journal was started). A check object therefore exists only once its
// segment does, and proves the journal through it. Names starting with
// "_" are skipped by an input folder, so that the segments read as one
// folder stay the rollback.
type Mirror struct {
	durable.FS
	Ctx      context.Context
	Store    Store
	Path     string // the journal's local path
	Check    string // its check file's local path ("": not mirrored)
	Segments Object // the prefix its segments go under

	mu        sync.Mutex
	seq       int
	checkFrom int    // the lowest check number not uploaded yet
	head      []byte // the journal's first line, once written
}

// Continue makes the mirror continue the journal a resumed run rebuilt
// from segments 1..n (ReadMirror, with their checks through n): its next
// segment is n+1, and head, the header every segment repeats, is already
// in the journal.
func (m *Mirror) Continue(n int, head []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq, m.checkFrom, m.head = n, n+1, bytes.Clone(head)
}

// OpenFile opens a file as the FS does; the journal is mirrored.
func (m *Mirror) OpenFile(name string, flag int, perm fs.FileMode) (durable.File, error) {
	f, err := durable.Or(m.FS).OpenFile(name, flag, perm)
	switch {
	case err != nil:
		return f, err
	case name == m.Path:
		m.mu.Lock()
		defer m.mu.Unlock()
		// A journal continued is appended to after its header.
		return &mirrored{File: f, m: m, headed: flag&os.O_APPEND != 0 && m.head != nil}, nil
	case name == m.Check && m.Check != "":
		return &mirroredCheck{File: f, m: m}, nil
	}
	return f, nil
}

// Rename, Remove, MkdirAll and SyncDir are the FS's.
func (m *Mirror) Rename(oldpath, newpath string) error {
	return durable.Or(m.FS).Rename(oldpath, newpath)
}
func (m *Mirror) Remove(name string) error { return durable.Or(m.FS).Remove(name) }
func (m *Mirror) MkdirAll(path string, perm fs.FileMode) error {
	return durable.Or(m.FS).MkdirAll(path, perm)
}
func (m *Mirror) SyncDir(dir string) error { return durable.Or(m.FS).SyncDir(dir) }

// Uploaded is how many segments were uploaded.
func (m *Mirror) Uploaded() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// SegmentName is the name of segment n under the prefix.
func SegmentName(n int) string { return fmt.Sprintf("%08d.csv", n) }

// CheckName is the name of the check object of segment n under the
// prefix.
func CheckName(n int) string { return fmt.Sprintf("_%08d.check", n) }

// upload puts the rows as the next segment, after the header.
func (m *Mirror) upload(rows []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	body := make([]byte, 0, len(m.head)+len(rows))
	body = append(append(body, m.head...), rows...)
	o := m.Segments.Join(SegmentName(m.seq + 1))
	if err := m.Store.Put(m.Ctx, o, body, true); err != nil {
		return fmt.Errorf("upload the journal's segment %s: %w", o, err)
	}
	m.seq++
	return nil
}

// uploadCheck puts the checkpoints as the check object of the last
// segment uploaded, unless that one has its check already (a resumed
// journal's header, proven in the bucket since its first run).
func (m *Mirror) uploadCheck(records []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(records) == 0 || m.seq < m.checkFrom {
		return nil
	}
	o := m.Segments.Join(CheckName(m.seq))
	if err := m.Store.Put(m.Ctx, o, records, true); err != nil {
		return fmt.Errorf("upload the journal's check %s: %w", o, err)
	}
	m.checkFrom = m.seq + 1
	return nil
}

// bom is the UTF-8 byte-order mark. A backup's journal starts with it,
// which makes a file that starts so a backup that must prove itself with a
// check file; a segment has none and is read as a plain input.
const bom = "\ufeff"

// errRewrite is a mirrored journal written other than by appending.
var errRewrite = errors.New("a journal mirrored to object storage is only appended to")

// mirrored is the journal's file: its writes are kept until the next
// Sync uploads them.
type mirrored struct {
	durable.File
	m       *Mirror
	pending bytes.Buffer // written since the last upload
	headed  bool         // the first line has been seen
}

func (f *mirrored) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.pending.Write(p[:n])
	if !f.headed {
		if i := bytes.IndexByte(f.pending.Bytes(), '\n'); i >= 0 {
			f.m.mu.Lock()
			if f.m.head == nil {
				f.m.head = bytes.Clone(bytes.TrimPrefix(f.pending.Bytes()[:i+1], []byte(bom)))
			}
			f.m.mu.Unlock()
			f.pending.Next(i + 1)
			f.headed = true
		}
	}
	return n, err
}

// Sync makes the file durable on disk, then uploads what was written
// since the last Sync: the writer syncs after whole rows.
func (f *mirrored) Sync() error {
	if err := f.File.Sync(); err != nil {
		return err
	}
	if err := f.m.upload(f.pending.Bytes()); err != nil {
		return err
	}
	f.pending.Reset()
	return nil
}

// mirroredCheck is the journal's check file: what is appended to it is
// uploaded at its next Sync.
type mirroredCheck struct {
	durable.File
	m       *Mirror
	pending bytes.Buffer
}

func (f *mirroredCheck) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.pending.Write(p[:n])
	return n, err
}

// Sync makes the check file durable, then uploads its new checkpoints.
func (f *mirroredCheck) Sync() error {
	if err := f.File.Sync(); err != nil {
		return err
	}
	if err := f.m.uploadCheck(f.pending.Bytes()); err != nil {
		return err
	}
	f.pending.Reset()
	return nil
}

func (f *mirroredCheck) WriteAt([]byte, int64) (int, error) { return 0, errRewrite }
func (f *mirroredCheck) Truncate(int64) error               { return errRewrite }
func (f *mirroredCheck) Seek(int64, int) (int64, error)     { return 0, errRewrite }

func (f *mirrored) WriteAt([]byte, int64) (int, error) { return 0, errRewrite }
func (f *mirrored) Truncate(int64) error               { return errRewrite }
func (f *mirrored) Seek(int64, int) (int64, error)     { return 0, errRewrite }
