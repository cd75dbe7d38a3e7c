package readers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/pierrec/lz4/v4"
)

// Parquet's deprecated LZ4 codec (not LZ4_RAW) was never specified, and
// writers disagree on what it means: parquet-mr and Arrow C++ write
// Hadoop-framed blocks, older Go writers (xitongsys/parquet-go) write the
// LZ4 frame format, and some write a bare block. arrow-go reads none of
// them, so markimport registers a codec that reads all three, in the order
// Arrow C++ tries them. It writes Hadoop framing, as parquet-mr does.

func init() {
	compress.RegisterCodec(compress.Codecs.Lz4, lz4Codec{})
}

var lz4FrameMagic = []byte{0x04, 0x22, 0x4d, 0x18}

type lz4Codec struct{}

// Decode decodes src into dst, which must be exactly as long as the
// uncompressed data (Parquet page headers give that length).
func (c lz4Codec) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

// DecodeWithError decodes src into dst like Decode, returning malformed
// input as an error.
func (lz4Codec) DecodeWithError(dst, src []byte) ([]byte, error) {
	if bytes.HasPrefix(src, lz4FrameMagic) {
		return lz4DecodeFrame(dst, src)
	}
	if out, ok := lz4DecodeHadoop(dst, src); ok {
		return out, nil
	}
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return nil, fmt.Errorf("lz4: %w", err)
	}
	return dst[:n], nil
}

// lz4DecodeHadoop decodes the Hadoop framing: blocks, each an 8-byte
// header (big-endian uncompressed and compressed lengths) and an LZ4 block.
// It reports false when src is not in that framing.
func lz4DecodeHadoop(dst, src []byte) ([]byte, bool) {
	n := 0
	for len(src) > 0 {
		if len(src) < 8 {
			return nil, false
		}
		raw := uint64(binary.BigEndian.Uint32(src))
		comp := uint64(binary.BigEndian.Uint32(src[4:]))
		src = src[8:]
		if comp > uint64(len(src)) || raw > uint64(len(dst)-n) {
			return nil, false
		}
		m, err := lz4.UncompressBlock(src[:comp], dst[n:n+int(raw)])
		if err != nil || uint64(m) != raw {
			return nil, false
		}
		n += m
		src = src[comp:]
	}
	return dst[:n], true
}

// lz4DecodeFrame decodes the LZ4 frame format into dst.
func lz4DecodeFrame(dst, src []byte) ([]byte, error) {
	r := lz4.NewReader(bytes.NewReader(src))
	n, err := io.ReadFull(r, dst)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("lz4 frame: %w", err)
	}
	if err == nil {
		// dst is full: the frame must end here.
		var one [1]byte
		if m, _ := r.Read(one[:]); m != 0 {
			return nil, errors.New("lz4 frame: more data than the page size")
		}
	}
	return dst[:n], nil
}

// Encode writes src as one Hadoop-framed block.
func (c lz4Codec) Encode(dst, src []byte) []byte {
	bound := int(c.CompressBound(int64(len(src))))
	if cap(dst) < bound {
		dst = make([]byte, bound)
	}
	dst = dst[:bound]
	var lc lz4.Compressor
	m, err := lc.CompressBlock(src, dst[8:])
	if err != nil {
		panic(err)
	}
	binary.BigEndian.PutUint32(dst, uint32(len(src)))
	binary.BigEndian.PutUint32(dst[4:], uint32(m))
	return dst[:8+m]
}

// EncodeLevel is Encode: LZ4 blocks have no level.
func (c lz4Codec) EncodeLevel(dst, src []byte, _ int) []byte { return c.Encode(dst, src) }

// CompressBound is the largest Encode output for n bytes.
func (lz4Codec) CompressBound(n int64) int64 { return int64(lz4.CompressBlockBound(int(n))) + 8 }
