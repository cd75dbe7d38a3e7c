package fakeim

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"
)

// change is a validated MarkItem.
type change struct {
	conv  Conversation
	set   uint64
	clear uint64
	// custom is the new custom mark, nil when the item leaves it alone.
	custom *string
}

// markContact applies a mark_contact request. Request-level problems answer
// FAIL and apply nothing. Otherwise every item is answered on its own and the
// request is "OK" with ErrorCode 0 even when some or all items failed: the
// documentation gives a per-item ResultCode for exactly that, and clients must
// check both levels.
func (s *Server) markContact(body []byte) any {
	var req MarkContactRequest
	if err := decodeStrict(body, &req); err != nil {
		return failure(codeInvalidParam, err.Error())
	}
	if problem := checkAccount("From_Account", req.FromAccount); problem != "" {
		return failure(codeInvalidParam, problem)
	}
	if n := len(req.MarkItem); n == 0 || n > maxMarkItems {
		return failure(codeItemCount, fmt.Sprintf("MarkItem holds %d items; 1-%d are allowed", n, maxMarkItems))
	}
	// Results are matched to items by conversation, so the same conversation
	// twice would make the answer ambiguous: the client must merge them.
	seen := make(map[ContactItem]bool, len(req.MarkItem))
	for _, it := range req.MarkItem {
		if seen[it.ContactItem] {
			return failure(codeInvalidParam, fmt.Sprintf("conversation %s appears more than once; merge the items",
				describe(it.ContactItem)))
		}
		seen[it.ContactItem] = true
	}
	if s.unknownFrom(req.FromAccount) {
		return failure(codeUnknownUser, fmt.Sprintf("From_Account %q has not been imported", req.FromAccount))
	}
	if s.cfg.NoStandardMarks {
		for _, it := range req.MarkItem {
			if it.OptType == 1 || it.OptType == 3 {
				return failure(codeEdition, "standard marks need the Ultimate/Pro edition")
			}
		}
	}

	results := make([]ResultItem, len(req.MarkItem))
	var applied, failed, malformed int64
	codes := make(map[int]int64)
	s.mu.Lock()
	u := s.userLocked(req.FromAccount, false)
	now := s.now()
	for i, it := range req.MarkItem {
		code, info := s.applyItem(req.FromAccount, &u, it, now)
		results[i] = ResultItem{OptType: it.OptType, ContactItem: it.ContactItem, ResultCode: code, ResultInfo: info}
		switch code {
		case codeOK:
			applied++
		case codeInvalidParam:
			malformed++
			fallthrough
		default:
			failed++
			codes[code]++
		}
	}
	s.mu.Unlock()
	for _, res := range results {
		if res.ResultCode == codeInvalidParam {
			s.logf("fakeim: %s: From_Account %q item %s: ResultCode %d: %s", MarkContact,
				req.FromAccount, describe(res.ContactItem), res.ResultCode, res.ResultInfo)
		}
	}

	s.stats.update(func(c *counters) {
		c.itemsApplied += applied
		c.itemsFailed += failed
		c.malformedItems += malformed
		for code, n := range codes {
			c.resultCodes[code] += n
		}
		if n := codes[codeInternal] + codes[codeTimeout]; n > 0 {
			c.faults[FaultItemTransient] += n
		}
	})
	s.shuffle(results)
	return MarkContactResponse{Status: ok(), ResultItem: results}
}

// applyItem validates and applies one item with s.mu held; *u is created on
// the user's first applied change.
func (s *Server) applyItem(user string, u **userState, it MarkItem, now time.Time) (int, string) {
	ch, problem := validate(it, s.cfg.SetAndClear)
	if problem != "" {
		return codeInvalidParam, problem
	}
	switch {
	case ch.conv.Type == C2C && s.accounts != nil && !s.accounts[ch.conv.Peer]:
		return codeUnknownUser, fmt.Sprintf("To_Account %q has not been imported", ch.conv.Peer)
	case ch.conv.Type == Group && s.groups != nil && !s.groups[ch.conv.Peer]:
		return codeGroupNotFound, fmt.Sprintf("group %q does not exist", ch.conv.Peer)
	}
	var r *record
	if *u != nil {
		r = (*u).marks[ch.conv]
	}
	if r == nil && s.cfg.MaxConversations > 0 && *u != nil && len((*u).marks) >= s.cfg.MaxConversations {
		return codeTooManyConversations, fmt.Sprintf("user already has %d marked conversations", len((*u).marks))
	}
	if s.chance(s.cfg.ItemTransientRate) {
		s.logf("fakeim: %s: injected fault %s", MarkContact, FaultItemTransient)
		if s.chance(0.5) {
			return codeTimeout, "timeout, please retry"
		}
		return codeInternal, "internal error, please retry"
	}
	if r == nil {
		if *u == nil {
			*u = s.userLocked(user, true)
		}
		r = (*u).add(ch.conv, now)
	}
	if s.cfg.SetAndClear == SetClearClearWins {
		r.Standard = (r.Standard | ch.set) &^ ch.clear
	} else {
		r.Standard = r.Standard&^ch.clear | ch.set
	}
	if ch.custom != nil {
		r.Custom, r.CustomSet = *ch.custom, true
	}
	r.updated = now
	return codeOK, ""
}

// validate checks one item against the API's documented rules and returns the
// change or a ResultInfo naming the problem. A bit both set and cleared is a
// problem only under SetClearRefuse.
func validate(it MarkItem, both SetClear) (change, string) {
	var ch change
	if it.OptType < 1 || it.OptType > 3 {
		return ch, fmt.Sprintf("OptType %d is not 1, 2 or 3", it.OptType)
	}
	conv, problem := conversationOf(it.ContactItem)
	if problem != "" {
		return ch, problem
	}
	ch.conv = conv
	var err string
	if ch.set, err = bitsOf("SetMark", it.SetMark); err != "" {
		return ch, err
	}
	if ch.clear, err = bitsOf("ClearMark", it.ClearMark); err != "" {
		return ch, err
	}
	if twice := ch.set & ch.clear; twice != 0 && both == SetClearRefuse {
		return ch, fmt.Sprintf("bit %d is both set and cleared", bits.TrailingZeros64(twice))
	}
	hasBits := len(it.SetMark)+len(it.ClearMark) > 0
	switch it.OptType {
	case 1:
		if !hasBits {
			return ch, "OptType 1 needs SetMark or ClearMark bits"
		}
		if it.CustomMark != nil {
			return ch, "OptType 1 must not carry CustomMark (use OptType 3)"
		}
	case 2:
		if hasBits {
			return ch, "OptType 2 must not carry SetMark or ClearMark bits (use OptType 3)"
		}
		if it.CustomMark == nil {
			return ch, "OptType 2 needs CustomMark"
		}
	case 3:
		if !hasBits {
			return ch, "OptType 3 needs SetMark or ClearMark bits"
		}
		if it.CustomMark == nil {
			return ch, "OptType 3 needs CustomMark"
		}
	}
	if it.CustomMark != nil && len(*it.CustomMark) > maxCustomMarkBytes {
		return ch, fmt.Sprintf("CustomMark is %d bytes; at most %d are allowed", len(*it.CustomMark), maxCustomMarkBytes)
	}
	ch.custom = it.CustomMark
	return ch, ""
}

// conversationOf checks a ContactItem: c2c names a To_Account and no
// ToGroupId, group the other way round. An empty string counts as absent.
func conversationOf(c ContactItem) (Conversation, string) {
	switch c.Type {
	case C2C:
		if c.ToAccount == "" {
			return Conversation{}, "ContactItem Type 1 (c2c) needs To_Account"
		}
		if c.ToGroupID != "" {
			return Conversation{}, "ContactItem Type 1 (c2c) must not carry ToGroupId"
		}
		if problem := checkAccount("To_Account", c.ToAccount); problem != "" {
			return Conversation{}, problem
		}
		return Conversation{Type: C2C, Peer: c.ToAccount}, ""
	case Group:
		if c.ToGroupID == "" {
			return Conversation{}, "ContactItem Type 2 (group) needs ToGroupId"
		}
		if c.ToAccount != "" {
			return Conversation{}, "ContactItem Type 2 (group) must not carry To_Account"
		}
		if problem := checkID("ToGroupId", c.ToGroupID, maxGroupIDBytes); problem != "" {
			return Conversation{}, problem
		}
		return Conversation{Type: Group, Peer: c.ToGroupID}, ""
	}
	return Conversation{}, fmt.Sprintf("ContactItem Type %d is not 1 (c2c) or 2 (group)", c.Type)
}

// bitsOf turns a list of bit numbers into a mask.
func bitsOf(field string, list []int64) (uint64, string) {
	var m uint64
	for _, b := range list {
		if b < 0 || b > 63 {
			return 0, fmt.Sprintf("%s bit %d is outside 0-63", field, b)
		}
		m |= 1 << uint(b)
	}
	return m, ""
}

// describe renders a wire ContactItem for messages.
func describe(c ContactItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Type %d", c.Type)
	if c.ToAccount != "" {
		fmt.Fprintf(&b, " To_Account %q", c.ToAccount)
	}
	if c.ToGroupID != "" {
		fmt.Fprintf(&b, " ToGroupId %q", c.ToGroupID)
	}
	return b.String()
}

// shuffle puts results out of request order, so that a client matching
// results by position instead of by ContactItem fails its tests. With two or
// more results the order always differs from the request's.
func (s *Server) shuffle(results []ResultItem) {
	n := len(results)
	if n < 2 {
		return
	}
	s.rngMu.Lock()
	perm := s.rng.Perm(n)
	s.rngMu.Unlock()
	identity := true
	for i, p := range perm {
		if p != i {
			identity = false
			break
		}
	}
	if identity {
		for i := range perm {
			perm[i] = (i + 1) % n
		}
	}
	out := make([]ResultItem, n)
	for i, p := range perm {
		out[i] = results[p]
	}
	copy(results, out)
}

// The IM rules for identifiers: the account-import API documents "a UserID
// of up to 32 bytes", the group API group IDs of up to 48 bytes; neither may
// hold control characters.
const (
	maxAccountBytes = 32
	maxGroupIDBytes = 48
)

// checkAccount checks a UserID: non-empty, at most maxAccountBytes, no
// control characters.
func checkAccount(field, id string) string {
	if id == "" {
		return field + " missing or empty"
	}
	return checkID(field, id, maxAccountBytes)
}

// checkID says why an identifier breaks the rules, or "".
func checkID(field, id string, limit int) string {
	if len(id) > limit {
		return fmt.Sprintf("%s is %d bytes; at most %d are allowed", field, len(id), limit)
	}
	if !utf8.ValidString(id) {
		return field + " is not valid UTF-8"
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7F || r >= 0x80 && r <= 0x9F {
			return fmt.Sprintf("%s holds the control character %U", field, r)
		}
	}
	return ""
}

// unknownFrom reports whether From_Account must be answered 50001: Users
// lists the imported accounts, this is not one of them, and the emulator is
// not playing a service that accepts such accounts.
func (s *Server) unknownFrom(from string) bool {
	return s.accounts != nil && !s.accounts[from] && !s.cfg.AcceptUnknownFrom
}
