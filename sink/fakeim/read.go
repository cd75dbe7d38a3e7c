package fakeim

import "fmt"

// searchContactGroup answers the marks of the named conversations. Unlike
// mark_contact it has no per-item result codes, so any malformed
// ContactItem fails the whole request with 50002.
func (s *Server) searchContactGroup(body []byte) any {
	var req searchContactGroupRequest
	if err := decodeStrict(body, &req); err != nil {
		return failure(codeInvalidParam, err.Error())
	}
	if problem := checkAccount("From_Account", req.FromAccount); problem != "" {
		return failure(codeInvalidParam, problem)
	}
	if n := len(req.ContactItem); n == 0 || n > maxSearchItems {
		return failure(codeInvalidParam, fmt.Sprintf("ContactItem holds %d items; 1-%d are allowed", n, maxSearchItems))
	}
	convs := make([]Conversation, 0, len(req.ContactItem))
	for i, it := range req.ContactItem {
		c, problem := conversationOf(it)
		if problem != "" {
			return failure(codeInvalidParam, fmt.Sprintf("ContactItem %d: %s", i, problem))
		}
		convs = append(convs, c)
	}
	if s.unknownFrom(req.FromAccount) {
		return failure(codeUnknownUser, fmt.Sprintf("From_Account %q has not been imported", req.FromAccount))
	}

	found := make([]ContactMarks, 0, len(convs))
	s.mu.Lock()
	if u := s.users[req.FromAccount]; u != nil {
		done := make(map[Conversation]bool, len(convs))
		for _, c := range convs {
			if r := u.marks[c]; r != nil && !done[c] {
				done[c] = true
				found = append(found, s.contactMarks(c, r))
			}
		}
	}
	s.mu.Unlock()

	s.rngMu.Lock()
	s.rng.Shuffle(len(found), func(i, j int) { found[i], found[j] = found[j], found[i] })
	s.rngMu.Unlock()
	return SearchContactGroupResponse{Status: ok(), ContactResultItem: found}
}

// getContactGroup answers one page of a user's marked conversations in the
// order they were first marked.
func (s *Server) getContactGroup(body []byte) any {
	var req getContactGroupRequest
	if err := decodeStrict(body, &req); err != nil {
		return failure(codeInvalidParam, err.Error())
	}
	if problem := checkAccount("From_Account", req.FromAccount); problem != "" {
		return failure(codeInvalidParam, problem)
	}
	if req.StartIndex == nil {
		return failure(codeInvalidParam, "StartIndex missing")
	}
	start := *req.StartIndex
	if start < 0 {
		return failure(codeInvalidParam, fmt.Sprintf("StartIndex %d is negative", start))
	}
	if s.unknownFrom(req.FromAccount) {
		return failure(codeUnknownUser, fmt.Sprintf("From_Account %q has not been imported", req.FromAccount))
	}

	resp := GetContactGroupResponse{Status: ok(), ContactItem: []ContactMarks{}, CompleteFlag: 1}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[req.FromAccount]
	if u == nil || start >= int64(len(u.order)) {
		return resp
	}
	end := min(start+pageSize, int64(len(u.order)))
	for _, c := range u.order[start:end] {
		resp.ContactItem = append(resp.ContactItem, s.contactMarks(c, u.marks[c]))
	}
	if end < int64(len(u.order)) {
		resp.CompleteFlag, resp.NextStartIndex = 0, end
	}
	return resp
}

// contactMarks is the read APIs' view of one conversation.
func (s *Server) contactMarks(c Conversation, r *record) ContactMarks {
	ci := c.contactItem()
	standard := formatStandardMark(r.Standard, s.cfg.BitZeroFirst, !s.cfg.ShortStandardMark)
	return ContactMarks{
		Type:         ci.Type,
		ToAccount:    ci.ToAccount,
		ToGroupID:    ci.ToGroupID,
		StandardMark: standard,
		CustomMark:   r.Custom,
		Timestamp:    r.updated.Unix(),
	}
}
