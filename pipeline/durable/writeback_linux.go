package durable

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackEvery is how many bytes written to a file make the kernel be
// asked to start writing them to the disk.
const writebackEvery = 4 << 20

// writebackFile is a file opened for writing that asks the kernel, every
// writebackEvery bytes written through Write, to start writing them to
// the disk (sync_file_range, SYNC_FILE_RANGE_WRITE: it starts the
// writeback and does not wait for it). A report of a million rows is
// about 40 MB: written whole and then fsynced, the fsync waited for all
// of it (20 ms here, a twentieth of a validate --report); started as it
// goes, most is on the disk by then. It is advice only: what makes a
// file durable is still Sync, so the hint's errors are ignored. The hint
// names the whole file (the kernel skips what is already on the disk), so
// it holds wherever the writes went: a journal appended to on --resume
// writes beyond what it held.
type writebackFile struct {
	*os.File
	pending int64 // bytes written since the last hint
}

func (f *writebackFile) Write(b []byte) (int, error) {
	n, err := f.File.Write(b)
	f.pending += int64(n)
	if f.pending >= writebackEvery {
		if rc, cerr := f.SyscallConn(); cerr == nil {
			_ = rc.Control(func(fd uintptr) {
				_ = unix.SyncFileRange(int(fd), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
			})
		}
		f.pending = 0
	}
	return n, err
}

// withWriteback returns f, opened with flag, as a File that starts the
// writeback of what is written to it as it goes.
func withWriteback(f *os.File, flag int) File {
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return f
	}
	return &writebackFile{File: f}
}
