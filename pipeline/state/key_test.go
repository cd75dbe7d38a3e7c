package state

import (
	"strings"
	"testing"

	"markimport/pipeline/mark"
)

// TestKeysAsOnDisk pins the keys and item hashes of a few items: they are
// what a state on disk holds, so a change to how they are computed (made
// faster, say) must give the same numbers, or every state written before
// it would find nothing unchanged.
func TestKeysAsOnDisk(t *testing.T) {
	want := [][3]uint64{
		{0x7be3a9fd5009b527, 0x859db000ec6ef8bd, 0x4dfa4bffd1f795ec},
		{0xd5f704b0f1ebfd40, 0x18b255f339726c49, 0xff230a07651f62df},
		{0xb4566a0ab3b04cb0, 0x447c77f8d95d476d, 0x29f9c8153db6b690},
		{0x7dd222208d5788f6, 0x3a0cb89bcc908d71, 0x3db2eab1ee146812},
		{0x7dd222208d5788f6, 0x3a0cb89bcc908d71, 0x1845e90ae8da5a15},
		{0x13aa3e6dd3e6e03c, 0x627982d1e784db3e, 0x67dec3751dbfbded},
		{0x9e1086c549abb995, 0xd280f64347b2ff3b, 0x773db82d4279282c},
	}
	for i, c := range goldenCases() {
		k1, k2 := keyOf(c.from, c.it.Conv)
		if got := [3]uint64{k1, k2, itemHash(&c.it)}; got != want[i] {
			t.Errorf("case %d (from %.20q, peer %.20q): key and hash %#x, want %#x", i, c.from, c.it.Conv.Peer, got, want[i])
		}
	}
}

// goldenCase is an item of a user whose key and item hash are pinned.
type goldenCase struct {
	from string
	it   mark.Item
}

// goldenCases cover names of every length class (empty, one byte, over
// 255 bytes so that the length takes two bytes), both types, bits in
// every byte of Set and Clear (zero bytes between them included), and a
// custom mark written and not written.
func goldenCases() []goldenCase {
	return []goldenCase{
		{"", mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: ""}, Opt: mark.OptStandard}},
		{"u", mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "p"}, Set: 1, Opt: mark.OptStandard}},
		{"user0001234", mark.Item{Conv: mark.Conversation{Type: mark.Group, Peer: "@TGS#group_42"}, Set: 1 << 40, Clear: 0x0b, Opt: mark.OptStandard}},
		{"user0001234", mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "peer-7"}, Set: 0x0100_0000_0000_0001, Clear: 0xff00_0000_0000_0000, Opt: mark.OptStandard | mark.OptCustom, Custom: "vip"}},
		{"user0001234", mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: "peer-7"}, Set: 0x0100_0000_0000_0001, Clear: 0xff00_0000_0000_0000, Opt: mark.OptStandard, Custom: "vip"}},
		{strings.Repeat("ü", 150), mark.Item{Conv: mark.Conversation{Type: mark.C2C, Peer: strings.Repeat("p", 300)}, Set: ^uint64(0), Opt: mark.OptCustom, Custom: ""}},
		{"a\x00\x01", mark.Item{Conv: mark.Conversation{Type: 3, Peer: "\x00"}, Set: 0x00ff_00ff_00ff_00ff, Clear: 0xff00_ff00_ff00_ff00, Opt: mark.OptStandard}},
	}
}
