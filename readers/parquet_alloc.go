package readers

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// bufferPool is the arrow allocator of one Parquet reader. Arrow allocates
// fresh buffers for every record batch and frees them when the next one is
// read; with the Go allocator each is a new zeroed slice for the garbage
// collector, which costs more than decoding. The pool hands the same
// buffers back instead, by power-of-two size class. Records never point
// into arrow buffers (Next copies), so reuse is safe once arrow frees them.
type bufferPool struct {
	mu   sync.Mutex
	free [poolClasses][][]byte
	kept int // bytes in free
}

const (
	poolMinClass = 6        // 64 bytes
	poolClasses  = 27       // up to 64 MiB; larger buffers are not kept
	poolKeep     = 16       // buffers kept per class
	poolMaxBytes = 64 << 20 // bytes kept in all
	poolAlign    = 64       // arrow expects 64-byte aligned buffers
)

var _ memory.Allocator = (*bufferPool)(nil)

func poolClass(size int) int {
	c := bits.Len(uint(size - 1))
	return max(c, poolMinClass)
}

// Allocate returns a zeroed buffer of size bytes.
func (p *bufferPool) Allocate(size int) []byte {
	if size <= 0 {
		return nil
	}
	c := poolClass(size)
	if c >= poolClasses {
		return alignedBuffer(size, size)
	}
	p.mu.Lock()
	if n := len(p.free[c]); n > 0 {
		b := p.free[c][n-1]
		p.free[c] = p.free[c][:n-1]
		p.kept -= cap(b)
		p.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	p.mu.Unlock()
	return alignedBuffer(size, 1<<c)
}

// alignedBuffer returns a zeroed, 64-byte aligned slice of length size and
// capacity capacity.
func alignedBuffer(size, capacity int) []byte {
	buf := make([]byte, capacity+poolAlign)
	shift := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % poolAlign); r != 0 {
		shift = poolAlign - r
	}
	return buf[shift : shift+size : shift+capacity]
}

// Reallocate resizes b, keeping its contents.
func (p *bufferPool) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free returns b to the pool.
func (p *bufferPool) Free(b []byte) {
	c := cap(b)
	if c < 1<<poolMinClass || c&(c-1) != 0 {
		return // not one of ours, or too small to bother
	}
	class := bits.Len(uint(c)) - 1
	if class >= poolClasses {
		return
	}
	p.mu.Lock()
	if len(p.free[class]) < poolKeep && p.kept+c <= poolMaxBytes {
		p.free[class] = append(p.free[class], b[:0])
		p.kept += c
	}
	p.mu.Unlock()
}

// release drops every pooled buffer.
func (p *bufferPool) release() {
	p.mu.Lock()
	p.free = [poolClasses][][]byte{}
	p.kept = 0
	p.mu.Unlock()
}
