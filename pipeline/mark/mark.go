package mark

import (
	"math/bits"
	"strconv"
)

// Conversation types of the API's ContactItem.Type.
const (
	C2C   uint8 = 1
	Group uint8 = 2
)

// OptType bits: 1 standard marks, 2 custom mark, 3 both.
const (
	OptStandard uint8 = 1
	OptCustom   uint8 = 2
	OptBoth     uint8 = 3
)

// The API's limits.
const (
	// MaxItemsPerRequest is the most MarkItems one mark_contact request carries.
	MaxItemsPerRequest = 100
	// MaxConversations is the most marked conversations a user may have.
	MaxConversations = 1000
	// MaxSearchItems is the most conversations one search_contact_group
	// request may name.
	MaxSearchItems = 300
	// MaxCustomMarkBytes is the limit on CustomMark, in bytes of UTF-8.
	MaxCustomMarkBytes = 256
	// MaxAccountBytes is the IM rule for a UserID (from_account,
	// to_account), MaxGroupIDBytes for a group ID.
	MaxAccountBytes = 32
	MaxGroupIDBytes = 48
)

// Codes markimport reports beside the API's own.
const (
	// CodeInvalid is given to rows that fail validation (the API's
	// "invalid parameter" code).
	CodeInvalid = 50002
	// CodeTooManyConversations is the API's code for a user's 1001st
	// conversation.
	CodeTooManyConversations = 51008
	// CodeUnreachable is the code of a FatalError for an endpoint that no
	// request ever reached (refused, unknown host, failed TLS handshake).
	CodeUnreachable = -3
)

// IsControl reports whether r is a control character, which identifiers
// may not hold: C0, DEL or C1.
func IsControl(r rune) bool { return r < 0x20 || r == 0x7F || r >= 0x80 && r <= 0x9F }

// Conversation is the peer of a mark: a user (C2C) or a group.
type Conversation struct {
	Type uint8
	Peer string
}

// TypeName returns "c2c" or "group".
func (c Conversation) TypeName() string { return typeName(c.Type) }

// typeName returns "c2c" for 1, "group" for 2, another type by its number.
func typeName(t uint8) string {
	switch t {
	case C2C:
		return "c2c"
	case Group:
		return "group"
	}
	return strconv.Itoa(int(t))
}

// Change is one valid input row: what it asks to change in one conversation
// of one user.
type Change struct {
	Row   int64
	From  string
	Conv  Conversation
	Set   uint64 // bits to set
	Clear uint64 // bits to clear
	// Custom is the custom mark; it is meaningful when Opt has OptCustom.
	Custom string
	Opt    uint8
}

// Item is one MarkItem: the merged changes of every row of one conversation
// of one user. Every row in Rows shares the item's outcome.
type Item struct {
	Conv   Conversation
	Set    uint64
	Clear  uint64
	Custom string // meaningful when Opt has OptCustom
	Opt    uint8
	Rows   []int64
}

// Merge folds a later change of the same conversation into the item: a
// later set of a bit beats an earlier clear of it and the other way round,
// the last custom mark wins, and the operation types add up.
func (it *Item) Merge(c *Change) {
	it.Set = (it.Set &^ c.Clear) | c.Set
	it.Clear = (it.Clear &^ c.Set) | c.Clear
	if c.Opt&OptCustom != 0 {
		it.Custom = c.Custom
	}
	it.Opt |= c.Opt
	it.Rows = append(it.Rows, c.Row)
}

// Request is one mark_contact call: one user and 1..100 items.
type Request struct {
	// Seq numbers requests in the order they were planned, from 1.
	Seq   int64
	From  string
	Items []Item
}

// rows counts the input rows a request carries.
func (r *Request) rows() int {
	n := 0
	for i := range r.Items {
		n += len(r.Items[i].Rows)
	}
	return n
}

// Bits lists the bit numbers set in mask, lowest first.
func Bits(mask uint64) []int {
	out := make([]int, 0, bits.OnesCount64(mask))
	for mask != 0 {
		b := bits.TrailingZeros64(mask)
		out = append(out, b)
		mask &^= 1 << uint(b)
	}
	return out
}

// ServerMarks is one conversation's marks as the server reports them.
type ServerMarks struct {
	// Standard is the 64-bit standard mark; bit n is SetMark/ClearMark n.
	Standard uint64
	Custom   string
	// Text is StandardMark as the service sent it, before it was read as
	// Standard: preflight learns the service's bit order from it.
	Text string
}
