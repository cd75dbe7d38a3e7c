package readers

import (
	"testing"
	"unsafe"
)

func TestBufferPool(t *testing.T) {
	var p bufferPool
	for _, size := range []int{1, 63, 64, 65, 1000, 4096, 1 << 20, 3<<20 + 5} {
		b := p.Allocate(size)
		if len(b) != size {
			t.Fatalf("Allocate(%d) has length %d", size, len(b))
		}
		if uintptr(unsafe.Pointer(&b[0]))%poolAlign != 0 {
			t.Errorf("Allocate(%d) is not %d-byte aligned", size, poolAlign)
		}
		for i := range b {
			if b[i] != 0 {
				t.Fatalf("Allocate(%d) is not zeroed at %d", size, i)
			}
			b[i] = 0xff
		}
		p.Free(b)
		// The same class comes back, zeroed.
		c := p.Allocate(size)
		if &c[0] != &b[0] {
			t.Errorf("Allocate(%d) after Free did not reuse the buffer", size)
		}
		for i := range c {
			if c[i] != 0 {
				t.Fatalf("reused buffer of %d bytes is not zeroed at %d", size, i)
			}
		}
		grown := p.Reallocate(size*2+100, c)
		if len(grown) != size*2+100 || grown[0] != 0 {
			t.Fatalf("Reallocate: len %d", len(grown))
		}
		p.Free(grown)
	}
	if p.kept > poolMaxBytes {
		t.Errorf("pool keeps %d bytes, more than %d", p.kept, poolMaxBytes)
	}
	p.release()
	if p.kept != 0 {
		t.Errorf("release left %d bytes", p.kept)
	}
	if p.Allocate(0) != nil {
		t.Error("Allocate(0) is not nil")
	}
}
