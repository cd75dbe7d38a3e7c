package preflight

import (
	"fmt"
	"strings"

	"markimport/pipeline/mark"
)

// Scratch is the conversation preflight may change: From's conversation
// with Conv.
type Scratch struct {
	From string
	Conv mark.Conversation
}

// String spells the scratch conversation as ParseScratch reads it.
func (s Scratch) String() string {
	return s.From + ":" + s.Conv.TypeName() + ":" + s.Conv.Peer
}

// ParseScratch reads FROM:TYPE:PEER, TYPE c2c or group (1 or 2). FROM
// may not hold ':'; PEER is everything after the second ':'. Each part is
// checked against the API's identifier rules.
func ParseScratch(s string) (Scratch, error) {
	from, rest, ok1 := strings.Cut(s, ":")
	typ, peer, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return Scratch{}, fmt.Errorf("scratch conversation %q: want FROM:TYPE:PEER, for example test_a:c2c:test_b", s)
	}
	var sc Scratch
	switch typ {
	case "c2c", "1":
		sc.Conv.Type = mark.C2C
	case "group", "2":
		sc.Conv.Type = mark.Group
	default:
		return Scratch{}, fmt.Errorf("scratch conversation %q: type %q is not c2c or group", s, typ)
	}
	sc.From, sc.Conv.Peer = from, peer
	if err := checkID("FROM", from, mark.MaxAccountBytes); err != nil {
		return Scratch{}, fmt.Errorf("scratch conversation %q: %w", s, err)
	}
	limit := mark.MaxAccountBytes
	if sc.Conv.Type == mark.Group {
		limit = mark.MaxGroupIDBytes
	}
	if err := checkID("PEER", peer, limit); err != nil {
		return Scratch{}, fmt.Errorf("scratch conversation %q: %w", s, err)
	}
	if sc.Conv.Type == mark.C2C && peer == from {
		return Scratch{}, fmt.Errorf("scratch conversation %q: a user's conversation with itself is not one the apps show", s)
	}
	return sc, nil
}

func checkID(what, id string, limit int) error {
	switch {
	case id == "":
		return fmt.Errorf("%s is empty", what)
	case len(id) > limit:
		return fmt.Errorf("%s is %d bytes; at most %d are allowed", what, len(id), limit)
	}
	for _, r := range id {
		if mark.IsControl(r) || r == 0xFFFD {
			return fmt.Errorf("%s holds %U", what, r)
		}
	}
	return nil
}
