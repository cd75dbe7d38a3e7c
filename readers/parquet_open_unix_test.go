//go:build unix

package readers

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Something that is not a regular file is refused before it is opened
// (opening a FIFO would wait for a writer), naming what it is.
func TestParquetNotRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.parquet")
	// Every case runs on every Unix system: one that cannot be set up
	// fails, never passes unseen.
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is not a character device here (%v, %v)", st, err)
	}
	tests := []struct{ path, kind string }{
		{fifo, "a FIFO (named pipe)"},
		{dir, "a directory"},
		{"/dev/null", "a character device"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				r, err := openParquet(tt.path, Options{})
				if err == nil {
					r.Close()
				}
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("openParquet blocked")
			}
			var ie *InputError
			want := "Parquet needs a seekable regular file, and " + tt.path + " is " + tt.kind + ": write it to a file first"
			if !errors.As(err, &ie) || ie.Path != tt.path || ie.Err.Error() != want {
				t.Errorf("err = %v; want an *InputError %q", err, want)
			}
		})
	}
}
