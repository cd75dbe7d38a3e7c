package bucket

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Chain is a file copied to the store as it grows, so that it outlives
// the machine that writes it: each Append puts the bytes given as the
// next segment object under Prefix (NNNNNNNN.csv, numbered from 1),
// written once with a conditional put, never changed. Pull reads the
// segments back, in order, into the file they make.
//
// Every segment proves itself and its place. It starts with one line,
//
//	markimport segment NNNNNNNN of RUN after SIZE CRC then SIZE CRC
//
// naming its number (for a reader: its name is what counts), the run it
// belongs to, and the length and CRC-32C
// of the whole file before it and after it, followed by its bytes. Pull
// refuses, naming the segment, one whose bytes do not give the CRC it
// records (damaged), one that names another run or does not start where
// the one before it ended (foreign, or out of place), and a number
// missing before the last. A file cut after its last segment cannot be
// told from one whose writer was killed there: the writer counts on what
// it appended only once Append has returned.
type Chain struct {
	Ctx    context.Context
	Store  Store
	Prefix Object // the segments' prefix, ending in "/"
	Run    string // names the run in every segment: no spaces (Pull: empty takes the first segment's)

	mu   sync.Mutex
	seq  int    // segments appended or pulled
	size int64  // the file's length so far
	crc  uint32 // its CRC-32C
}

// castagnoli is the CRC-32C table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Append puts p as the next segment; nothing when p is empty.
func (c *Chain) Append(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) == 0 {
		return nil
	}
	size, crc := c.size+int64(len(p)), crc32.Update(c.crc, castagnoli, p)
	head := fmt.Sprintf("markimport segment %08d of %s after %d %08x then %d %08x\n", c.seq+1, c.Run, c.size, c.crc, size, crc)
	o := c.Prefix.Join(SegmentName(c.seq + 1))
	if err := c.Store.Put(c.Ctx, o, append([]byte(head), p...), true); err != nil {
		return fmt.Errorf("upload the journal's segment %s: %w", o, err)
	}
	c.seq, c.size, c.crc = c.seq+1, size, crc
	return nil
}

// segments is how many segments the chain holds.
func (c *Chain) segments() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// Delete removes the chain's segments, the last first, so that an
// interrupted delete leaves a shorter chain, not one with a hole.
func (c *Chain) Delete() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ; c.seq > 0; c.seq-- {
		if err := c.Store.Delete(c.Ctx, c.Prefix.Join(SegmentName(c.seq))); err != nil {
			return err
		}
	}
	return nil
}

// Pull writes to w the file the segments under Prefix make, each checked
// (see Chain), and continues the chain after them: the next Append is
// the next segment. It returns how many segments it read.
func (c *Chain) Pull(w io.Writer) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys, err := c.Store.List(c.Ctx, c.Prefix)
	if err != nil {
		return 0, err
	}
	var nums []int
	for _, k := range keys {
		n, ok := segmentNumber(strings.TrimPrefix(k, c.Prefix.Key))
		if !ok {
			continue // not a segment (an object kept beside them)
		}
		nums = append(nums, n)
	}
	for i, n := range nums {
		if n != i+1 {
			return 0, fmt.Errorf("segment %s is missing (the segments are numbered from 1 without a gap, and %s is there): the journal cannot be rebuilt without it", c.Prefix.Join(SegmentName(i+1)), c.Prefix.Join(SegmentName(n)))
		}
		o := c.Prefix.Join(SegmentName(n))
		b, err := c.Store.Get(c.Ctx, o)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", o, err)
		}
		body, err := c.check(n, b)
		if err != nil {
			return 0, fmt.Errorf("segment %s %s", o, err)
		}
		if _, err := w.Write(body); err != nil {
			return 0, err
		}
		c.seq, c.size, c.crc = n, c.size+int64(len(body)), crc32.Update(c.crc, castagnoli, body)
	}
	return len(nums), nil
}

// check returns the bytes of segment n, b, once its head line proves
// them and their place after what was pulled so far.
func (c *Chain) check(n int, b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, fmt.Errorf("is damaged: it has no head line")
	}
	f := strings.Fields(string(b[:i]))
	body := b[i+1:]
	if len(f) != 11 || f[0] != "markimport" || f[1] != "segment" || f[3] != "of" || f[5] != "after" || f[8] != "then" {
		return nil, fmt.Errorf("is damaged, or not a markimport segment: its head line is %q", b[:i])
	}
	after, err2 := strconv.ParseInt(f[6], 10, 64)
	afterCRC, err3 := strconv.ParseUint(f[7], 16, 32)
	then, err4 := strconv.ParseInt(f[9], 10, 64)
	thenCRC, err5 := strconv.ParseUint(f[10], 16, 32)
	if err2 != nil || err3 != nil || err4 != nil || err5 != nil {
		return nil, fmt.Errorf("is damaged: its head line %q does not parse", b[:i])
	}
	if c.Run == "" && n == 1 {
		c.Run = f[4] // a chain pulled without knowing its run: the first segment's
	}
	switch {
	case f[4] != c.Run:
		return nil, fmt.Errorf("belongs to another run (%s, not %s): segments of two runs are never mixed", f[4], c.Run)
	case after != c.size || uint32(afterCRC) != c.crc:
		return nil, fmt.Errorf("does not follow the segments before it (it starts after %d bytes with CRC-32C %08x, they end at %d bytes with %08x): it is of another run, or one before it was replaced", after, afterCRC, c.size, c.crc)
	case then-after != int64(len(body)) || crc32.Update(c.crc, castagnoli, body) != uint32(thenCRC):
		return nil, fmt.Errorf("is damaged: its %d bytes are not the %d bytes with the CRC-32C its head line records", len(body), then-after)
	}
	return body, nil
}

// segmentNumber reads the number of a segment's name.
func segmentNumber(name string) (int, bool) {
	s, ok := strings.CutSuffix(name, ".csv")
	if !ok || len(s) != 8 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}
