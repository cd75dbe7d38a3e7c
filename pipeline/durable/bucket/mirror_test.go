package bucket

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMirrorUploadsEachSyncBeforeItReturns: a journal's rows are a
// segment object (with the header) once Sync returns, one per sync, and
// nothing is uploaded before it.
func TestMirrorUploadsEachSyncBeforeItReturns(t *testing.T) {
	st := newMemStore()
	path := filepath.Join(t.TempDir(), "b.csv.journal.csv")
	m := &Mirror{Ctx: context.Background(), Store: st, Path: path, Segments: Object{"b", "night/b.csv.journal/"}}
	f, err := m.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\ufeffa,b\n"))
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(st.keys()) != 0 {
		t.Fatalf("a header alone uploaded %v", st.keys())
	}
	f.Write([]byte("1,2\n"))
	f.Write([]byte("3,\"x\ny\"\n"))
	if len(st.keys()) != 0 {
		t.Fatalf("rows uploaded before the sync: %v", st.keys())
	}
	f.Sync()
	f.Write([]byte("5,6\n"))
	f.Sync()
	want := map[string]string{
		"night/b.csv.journal/00000001.csv": "a,b\n1,2\n3,\"x\ny\"\n",
		"night/b.csv.journal/00000002.csv": "a,b\n5,6\n",
	}
	if got := st.keys(); len(got) != len(want) {
		t.Fatalf("segments %v", got)
	}
	for k, v := range want {
		if b, _ := st.Get(context.Background(), Object{"b", k}); string(b) != v {
			t.Errorf("%s = %q, want %q", k, b, v)
		}
	}
	if local, _ := os.ReadFile(path); string(local) != "\ufeffa,b\n1,2\n3,\"x\ny\"\n5,6\n" {
		t.Errorf("local journal %q", local)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Error("WriteAt on a mirrored journal succeeded")
	}
}

// TestMirrorChecksFollowTheirSegmentAndContinue: the check file's
// records go up at its Sync as the check of the last segment (the
// header's as part 0); a mirror continued after n parts numbers its
// next segment n+1, repeats the header, and uploads no check again for
// a journal started again over part 0; ListMirror names a hole.
func TestMirrorChecksFollowTheirSegmentAndContinue(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	dir := t.TempDir()
	path, check := filepath.Join(dir, "j.csv"), filepath.Join(dir, "j.csv.check")
	prefix := Object{"b", "k.journal/"}
	m := &Mirror{Ctx: ctx, Store: st, Path: path, Check: check, Segments: prefix}
	f, _ := m.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	ck, _ := m.OpenFile(check, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	step := func(rows, rec string) {
		f.Write([]byte(rows))
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		ck.Write([]byte(rec))
		if err := ck.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	step("\ufeffa,b\n", "c0\n")
	step("1,2\n", "c1\n")
	f.Write([]byte("3,4\n"))
	f.Sync() // killed before its check
	want := map[string]string{"k.journal/_00000000.check": "c0\n", "k.journal/00000001.csv": "a,b\n1,2\n", "k.journal/_00000001.check": "c1\n", "k.journal/00000002.csv": "a,b\n3,4\n"}
	for k, v := range want {
		if b, _ := st.Get(ctx, Object{"b", k}); string(b) != v {
			t.Errorf("%s = %q, want %q", k, b, v)
		}
	}
	parts, err := ListMirror(ctx, st, prefix)
	if err != nil || len(parts) != 3 || !parts[2].HasSegment || parts[2].HasCheck || parts[0].HasSegment {
		t.Fatalf("ListMirror: %+v %v", parts, err)
	}
	if err := DropSegment(ctx, st, prefix, 2); err != nil {
		t.Fatal(err)
	}

	// A new machine continues after part 2.
	m2 := &Mirror{Ctx: ctx, Store: st, Path: path, Check: check, Segments: prefix}
	m2.Continue(2, []byte("a,b\n"))
	f2, _ := m2.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	ck2, _ := m2.OpenFile(check, os.O_WRONLY|os.O_APPEND, 0o644)
	f2.Write([]byte("5,6\n"))
	if err := f2.Sync(); err != nil {
		t.Fatal(err)
	}
	ck2.Write([]byte("c3\n"))
	if err := ck2.Sync(); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"k.journal/00000003.csv": "a,b\n5,6\n", "k.journal/_00000003.check": "c3\n"} {
		if b, _ := st.Get(ctx, Object{"b", k}); string(b) != v {
			t.Errorf("continued: %s = %q, want %q", k, b, v)
		}
	}
	if b, _ := st.Get(ctx, prefix.Join(CheckName(2))); !IsDropped(b) {
		t.Errorf("the dropped segment's check: %q", b)
	}

	// A journal started again over part 0 alone uploads no check 0 again.
	st0 := newMemStore()
	st0.Put(ctx, prefix.Join(CheckName(0)), []byte("c0\n"), true)
	m3 := &Mirror{Ctx: ctx, Store: st0, Path: path, Check: check, Segments: prefix}
	m3.Continue(0, []byte("a,b\n"))
	f3, _ := m3.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o644)
	ck3, _ := m3.OpenFile(check, os.O_WRONLY|os.O_TRUNC, 0o644)
	f3.Write([]byte("\ufeffa,b\n"))
	f3.Sync()
	ck3.Write([]byte("c0\n"))
	if err := ck3.Sync(); err != nil {
		t.Fatalf("the header's check again: %v", err)
	}

	// A hole: segment 5 there, 4 not.
	st.Put(ctx, prefix.Join(SegmentName(5)), []byte("a,b\n"), true)
	if _, err := ListMirror(ctx, st, prefix); err == nil || !strings.Contains(err.Error(), "s3://b/k.journal/00000004.csv is missing") {
		t.Fatalf("a hole: %v", err)
	}
}
