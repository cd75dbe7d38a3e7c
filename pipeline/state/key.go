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
	return userKeyOf(from).of(c)
}

// userKey is keyOf's pass over a user's part of the input (the length
// and the name), which every conversation of the user shares: a user's
// items are keyed with one pass over its name.
type userKey struct {
	h1, h2 uint64
	n      int // len(from)
}

// userKeyOf hashes the user's part of keyOf's input.
func userKeyOf(from string) userKey {
	u := userKey{h1: fnvOffset, h2: altOffset, n: len(from)}
	for i := range 4 {
		u.add(byte(len(from) >> (8 * i)))
	}
	for i := 0; i < len(from); i++ {
		u.add(from[i])
	}
	return u
}

// add hashes one more byte into both hashes.
func (u *userKey) add(b byte) {
	u.h1 = (u.h1 ^ uint64(b)) * fnvPrime
	u.h2 = bits.RotateLeft64((u.h2^uint64(b))*altPrime, 31)
}

// of is keyOf of the user and conversation c.
func (u userKey) of(c mark.Conversation) (uint64, uint64) {
	u.add(c.Type)
	for i := 0; i < len(c.Peer); i++ {
		u.add(c.Peer[i])
	}
	return mix(u.h1), mix(u.h2 ^ uint64(u.n+len(c.Peer)))
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

// fnvUint64 hashes v's eight bytes, low byte first. A zero byte only
// multiplies by the prime (x ^ 0 == x), so the zero bytes above v's
// highest set byte are one multiplication by a power of the prime: an
// item's bits mostly sit in its low bytes, and most items clear none.
func fnvUint64(h, v uint64) uint64 {
	n := 0
	for ; v != 0; n++ {
		h = fnvByte(h, byte(v))
		v >>= 8
	}
	return h * fnvPrimePow[8-n]
}

// fnvPrimePow holds the powers of the FNV prime from 0 to 8 (modulo
// 2^64, as the hash's multiplications are).
var fnvPrimePow = func() (p [9]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * fnvPrime
	}
	return p
}()

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
