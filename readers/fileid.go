package readers

import (
	"os"
	"path/filepath"
)

// fileKey identifies a file or a folder whatever path reaches it: its
// device and inode where the system has them (so hard links and symlinks
// are one file), else its absolute path with every symlink resolved.
type fileKey struct {
	dev, ino uint64
	path     string
}

// keyOf returns the identity of the file at p, whose os.Stat is info.
func keyOf(p string, info os.FileInfo) fileKey {
	if dev, ino, ok := devIno(info); ok {
		return fileKey{dev: dev, ino: ino}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = filepath.Clean(p)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return fileKey{path: abs}
}
