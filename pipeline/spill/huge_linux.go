package spill

import (
	"syscall"
	"unsafe"
)

// madvHugepage is MADV_HUGEPAGE, which package syscall does not name.
const madvHugepage = 14

// adviseHuge asks the kernel to back the n bytes at p with transparent huge
// pages where it can (the whole 2 MiB pages inside them), before they are
// first touched: for the store's big arrays, read at random, this spares
// most translation misses and page faults. Machines whose kernel only
// grants huge pages on request ("madvise" mode, a common default) need the
// request; where they are disabled it changes nothing. It is only advice:
// the memory stays the Go heap's, and an error is ignored.
func adviseHuge(p unsafe.Pointer, n int) {
	const huge = 2 << 20
	if n < 2*huge {
		return
	}
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + uintptr(n)) &^ (huge - 1)
	if end <= start {
		return
	}
	syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start), madvHugepage)
}
