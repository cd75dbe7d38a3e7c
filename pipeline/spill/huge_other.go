//go:build !linux

package spill

import "unsafe"

// adviseHuge does nothing where transparent huge pages are not a Linux
// madvise away.
func adviseHuge(p unsafe.Pointer, n int) {}
