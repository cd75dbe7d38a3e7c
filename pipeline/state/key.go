package state

import (
	"math/bits"

	"markimport/pipeline/mark"
)

// keyOf is the 128-bit key of a conversation of user from: two 64-bit
// hashes, computed in one pass, of from's length, from, the conversation
// type and the peer (FNV-1a and a multiply-rotate hash with other
// constants, each finished with a mixer). The length makes the encoding
// unambiguous whatever bytes the names hold: ("ab", "c") and ("a", "bc")
// are different inputs, and so are a group and a c2c conversation with
// one peer.
func keyOf(from string, c mark.Conversation) (uint64, uint64) {
	h1, h2 := uint64(fnvOffset), uint64(altOffset)
	add := func(b byte) {
		h1 = (h1 ^ uint64(b)) * fnvPrime
		h2 = bits.RotateLeft64((h2^uint64(b))*altPrime, 31)
	}
	for i := range 4 {
		add(byte(len(from) >> (8 * i)))
	}
	for i := 0; i < len(from); i++ {
		add(from[i])
	}
	add(c.Type)
	for i := 0; i < len(c.Peer); i++ {
		add(c.Peer[i])
	}
	return mix(h1), mix(h2 ^ uint64(len(from)+len(c.Peer)))
}

const (
	altOffset = 0x9E3779B97F4A7C15
	altPrime  = 0xC2B2AE3D27D4EB4F
)

// mix is MurmurHash3's 64-bit finaliser.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for i := 0; i < 8; i++ {
		h = fnvByte(h, byte(v>>(8*i)))
	}
	return h
}

// itemHash is what an item asks of its conversation (FNV-1a): the 64
// bits it sets, the 64 it clears, its operation type, and the custom mark
// when it writes one. A custom mark the item does not write is not part of
// it: the request does not carry it. The custom mark comes last, so its
// end is the input's end and needs no length.
func itemHash(it *mark.Item) uint64 {
	h := fnvByte(fnvUint64(fnvUint64(fnvOffset, it.Set), it.Clear), it.Opt)
	if it.Opt&mark.OptCustom == 0 {
		return h
	}
	return fnvString(h, it.Custom)
}

// entrySize is the size of one conversation's entry on disk.
const entrySize = 24

// entry is a conversation's key and the item hash of its confirmed item;
// on disk, 24 bytes big-endian, so that files sort as their entries do.
type entry struct {
	k1, k2 uint64
	fp     uint64
}

func (e entry) less(o entry) int {
	if e.k1 != o.k1 {
		if e.k1 < o.k1 {
			return -1
		}
		return 1
	}
	if e.k2 != o.k2 {
		if e.k2 < o.k2 {
			return -1
		}
		return 1
	}
	return 0
}
