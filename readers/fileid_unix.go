//go:build unix

package readers

import (
	"os"
	"syscall"
)

// devIno returns the device and inode of a file from its os.Stat.
func devIno(info os.FileInfo) (dev, ino uint64, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), true
}
