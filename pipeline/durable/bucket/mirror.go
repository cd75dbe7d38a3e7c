package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
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
type Mirror struct {
	durable.FS
	Ctx      context.Context
	Store    Store
	Path     string // the journal's local path
	Segments Object // the prefix its segments go under

	mu   sync.Mutex
	seq  int
	head []byte // the journal's first line, once written
}

// OpenFile opens a file as the FS does; the journal is mirrored.
func (m *Mirror) OpenFile(name string, flag int, perm fs.FileMode) (durable.File, error) {
	f, err := durable.Or(m.FS).OpenFile(name, flag, perm)
	if err != nil || name != m.Path {
		return f, err
	}
	return &mirrored{File: f, m: m}, nil
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

func (f *mirrored) WriteAt([]byte, int64) (int, error) { return 0, errRewrite }
func (f *mirrored) Truncate(int64) error               { return errRewrite }
func (f *mirrored) Seek(int64, int) (int64, error)     { return 0, errRewrite }
