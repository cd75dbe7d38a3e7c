package bucket

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// memStore is a store in memory that honours conditional puts (unless
// cos: as Tencent COS, it overwrites silently), and records every call in
// order.
type memStore struct {
	cos     bool
	mu      sync.Mutex
	objects map[string][]byte
	calls   []string
}

func newMemStore() *memStore { return &memStore{objects: map[string][]byte{}} }

func (m *memStore) record(op string, o Object) {
	m.calls = append(m.calls, op+" "+o.String())
}

func (m *memStore) Exists(_ context.Context, o Object) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.objects[o.String()]
	return ok, nil
}

func (m *memStore) List(_ context.Context, o Object) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objects {
		if rest, ok := strings.CutPrefix(k, o.String()); ok {
			keys = append(keys, o.Key+rest)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func (m *memStore) Get(_ context.Context, o Object) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[o.String()]
	if !ok {
		return nil, fmt.Errorf("%s: %w", o, fs.ErrNotExist)
	}
	return bytes.Clone(b), nil
}

func (m *memStore) Put(_ context.Context, o Object, data []byte, ifAbsent bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("put", o)
	if _, ok := m.objects[o.String()]; ok && ifAbsent && !m.cos {
		return fmt.Errorf("%s: %w", o, fs.ErrExist)
	}
	m.objects[o.String()] = bytes.Clone(data)
	return nil
}

func (m *memStore) Create(_ context.Context, o Object, ifAbsent bool) (Upload, error) {
	return &memUpload{m: m, o: o, ifAbsent: ifAbsent}, nil
}

func (m *memStore) Delete(_ context.Context, o Object) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("delete", o)
	delete(m.objects, o.String())
	return nil
}

func (m *memStore) keys() []string {
	keys, _ := m.List(context.Background(), Object{Bucket: "b"})
	return keys
}

type memUpload struct {
	m        *memStore
	o        Object
	ifAbsent bool
	buf      bytes.Buffer
}

func (u *memUpload) Write(p []byte) (int, error) { return u.buf.Write(p) }
func (u *memUpload) Commit() error {
	return u.m.Put(context.Background(), u.o, u.buf.Bytes(), u.ifAbsent)
}
func (u *memUpload) Abort() error { return nil }

func parseURL(s string) (Object, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	b, k, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || b == "" || k == "" {
		return Object{}, fmt.Errorf("%q is not an s3 URL", s)
	}
	return Object{b, k}, nil
}
