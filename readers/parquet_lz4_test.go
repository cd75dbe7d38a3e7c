package readers

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/pierrec/lz4/v4"
)

func TestLZ4Codec(t *testing.T) {
	data := []byte(strings.Repeat("markimport parquet lz4 ", 500) + "tail")
	block := func(src []byte) []byte {
		dst := make([]byte, lz4.CompressBlockBound(len(src)))
		var c lz4.Compressor
		n, err := c.CompressBlock(src, dst)
		if err != nil {
			t.Fatal(err)
		}
		return dst[:n]
	}
	hadoop := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			b := block(p)
			out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
			out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
			out = append(out, b...)
		}
		return out
	}
	var frame bytes.Buffer
	w := lz4.NewWriter(&frame)
	w.Write(data)
	w.Close()

	tests := []struct {
		name string
		src  []byte
	}{
		{"hadoop one block", hadoop(data)},
		{"hadoop three blocks", hadoop(data[:100], data[100:5000], data[5000:])},
		{"frame", frame.Bytes()},
		{"raw block", block(data)},
		{"own encoder", lz4Codec{}.Encode(nil, data)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, len(data))
			got, err := lz4Codec{}.DecodeWithError(dst, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("decoded %d bytes, want the %d written", len(got), len(data))
			}
			if &got[0] != &dst[0] {
				t.Error("decoded data is not in dst")
			}
		})
	}
	if _, err := (lz4Codec{}).DecodeWithError(make([]byte, 10), []byte("not lz4 at all, really")); err == nil {
		t.Error("garbage decoded without an error")
	}
}
