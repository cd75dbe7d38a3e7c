package fakeim

import (
	"fmt"
	"strings"
	"time"
)

// Conversation types, as in ContactItem.Type.
const (
	C2C   = 1
	Group = 2
)

// Conversation identifies one of a user's conversations.
type Conversation struct {
	// Type is C2C or Group.
	Type int
	// Peer is the To_Account of a c2c conversation or the ToGroupId of a
	// group conversation.
	Peer string
}

// String renders the conversation for messages, e.g. "c2c:bob".
func (c Conversation) String() string {
	switch c.Type {
	case C2C:
		return "c2c:" + c.Peer
	case Group:
		return "group:" + c.Peer
	}
	return fmt.Sprintf("type%d:%s", c.Type, c.Peer)
}

// contactItem is the wire form of c.
func (c Conversation) contactItem() ContactItem {
	if c.Type == Group {
		return ContactItem{Type: Group, ToGroupID: c.Peer}
	}
	return ContactItem{Type: c.Type, ToAccount: c.Peer}
}

// Mark is the mark state of one conversation.
type Mark struct {
	// Standard is the 64-bit standard mark; bit n is SetMark/ClearMark n.
	Standard uint64
	// Custom is the custom mark.
	Custom string
	// CustomSet reports whether a custom mark was ever written, which tells
	// a custom mark set to "" from one never set.
	CustomSet bool
}

// FormatStandardMark renders a standard mark as the read APIs answer it by
// default: 64 characters '0'/'1', most significant bit first, so the LAST
// character is bit 0 (binary notation).
//
// This order is an assumption: the public documentation shows only examples
// ("11111110", "111001") and never says which end is bit 0. Binary notation
// is the reading under which those examples are numbers with their leading
// zeros dropped. Config.BitZeroFirst plays the other reading, and
// Config.ShortStandardMark the examples' dropped zeros; formatStandardMark
// renders all four.
func FormatStandardMark(v uint64) string { return formatStandardMark(v, false, true) }

// formatStandardMark renders v with bit 0 last (binary notation) or first,
// padded to 64 characters or with the zeros beyond the highest set bit
// dropped ("" for no marks).
func formatStandardMark(v uint64, bitZeroFirst, padded bool) string {
	s := fmt.Sprintf("%064b", v)
	if !padded {
		s = strings.TrimLeft(s, "0")
	}
	if !bitZeroFirst {
		return s
	}
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// record is a conversation's stored state.
type record struct {
	Mark
	updated time.Time
}

// userState is one user's marked conversations. A conversation is created by
// the first change applied to it and stays (and counts toward
// MaxConversations) even when all its marks are cleared, until a test
// removes it with DeleteConversation.
type userState struct {
	marks map[Conversation]*record
	order []Conversation // first-marked order, for get_contact_group paging
}

func (u *userState) add(c Conversation, now time.Time) *record {
	r := &record{updated: now}
	u.marks[c] = r
	u.order = append(u.order, c)
	return r
}

// userLocked returns user's state, creating it when create is set; s.mu held.
func (s *Server) userLocked(user string, create bool) *userState {
	u := s.users[user]
	if u == nil && create {
		u = &userState{marks: make(map[Conversation]*record)}
		s.users[user] = u
	}
	return u
}

// Conversations returns a copy of user's marked conversations.
func (s *Server) Conversations(user string) map[Conversation]Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Conversation]Mark)
	if u := s.users[user]; u != nil {
		for c, r := range u.marks {
			out[c] = r.Mark
		}
	}
	return out
}

// Lookup returns the marks of one conversation and whether it exists.
func (s *Server) Lookup(user string, c Conversation) (Mark, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[user]; u != nil {
		if r := u.marks[c]; r != nil {
			return r.Mark, true
		}
	}
	return Mark{}, false
}

// Snapshot returns a copy of the whole state: user -> conversation -> marks.
func (s *Server) Snapshot() map[string]map[Conversation]Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[Conversation]Mark, len(s.users))
	for user, u := range s.users {
		m := make(map[Conversation]Mark, len(u.marks))
		for c, r := range u.marks {
			m[c] = r.Mark
		}
		out[user] = m
	}
	return out
}

// SetMark stores m for one conversation behind the client's back, creating
// the conversation (at the end of the user's paging order) when needed. It
// ignores MaxConversations so that tests can build any state.
func (s *Server) SetMark(user string, c Conversation, m Mark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(user, true)
	r := u.marks[c]
	if r == nil {
		r = u.add(c, s.now())
	}
	r.Mark = m
	r.updated = s.now()
}

// DeleteConversation removes one conversation of user, freeing its place
// under MaxConversations. Removing a conversation that does not exist does
// nothing.
func (s *Server) DeleteConversation(user string, c Conversation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[user]
	if u == nil || u.marks[c] == nil {
		return
	}
	delete(u.marks, c)
	for i, o := range u.order {
		if o == c {
			u.order = append(u.order[:i], u.order[i+1:]...)
			break
		}
	}
	if len(u.marks) == 0 {
		delete(s.users, user)
	}
}

// Users returns how many users have at least one marked conversation.
func (s *Server) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// TotalConversations returns the number of marked conversations over all
// users.
func (s *Server) TotalConversations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, u := range s.users {
		n += len(u.marks)
	}
	return n
}
