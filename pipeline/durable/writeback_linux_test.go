package durable

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWritebackKeepsWhatIsWritten: a file written through Local in
// pieces across several writeback hints reads back byte for byte, and
// only files opened for writing take the hints.
func TestWritebackKeepsWhatIsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	f, err := Local.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	wf, ok := f.(*writebackFile)
	if !ok {
		t.Fatalf("a file opened for writing is a %T", f)
	}
	var want bytes.Buffer
	piece := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	for i := range 11 {
		piece[0] = byte(i)
		want.Write(piece)
		if n, err := f.Write(piece); n != len(piece) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if wf.pending != 3<<20 {
		t.Errorf("%d bytes written since the last hint, want %d (hints after 4 and 8 MiB)", wf.pending, 3<<20)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, want.Len())
	}
	r, err := Local.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*os.File); !ok {
		t.Errorf("a file opened for reading is a %T", r)
	}
}
