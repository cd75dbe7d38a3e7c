package bucket

import (
	"context"
	"os"
	"path/filepath"
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
