package sink

import (
	"errors"
	"fmt"

	"markimport/pipeline/mark"
)

// Every answer the client acts on is decoded and checked here, and nowhere
// else. A server, or anything between it and us, can send an answer that is
// incomplete, duplicated or malformed; reading such an answer leniently
// (a missing ResultCode as 0, the last of two entries, an entry nobody asked
// for taken as the absence of the one asked for) reports rows ok that were
// not, or backs up marks a conversation never had. So an answer is decoded
// member by member, each value checked for presence and JSON type, and the
// rest of the client sees only the checked head and per-conversation
// results built here.
//
// The rules, for both APIs:
//
//   - The body is one JSON object, and no object in it names a member twice.
//   - ActionStatus is "OK" with ErrorCode 0, or "FAIL" with a non-zero
//     ErrorCode: the two values the documentation gives, spelled as it spells
//     them. Anything else ("ok", a missing member, OK with a code, a code
//     that is not an integer) is a protocol error, not a guess.
//   - ErrorInfo, ErrorDisplay and ResultInfo are only ever printed: they are
//     taken when they are strings and ignored otherwise.
//   - The documented answers carry no From_Account; one that does must name
//     the user of the request.
//   - A conversation is named by Type 1 with a non-empty To_Account or Type
//     2 with a non-empty ToGroupId; the other peer member may be absent or
//     empty, never set.
//
// For mark_contact, an answer with ErrorCode 0 holds a ResultItem array;
// each entry names, in its ContactItem, a conversation the request
// carried, and holds a present integer ResultCode and, when it echoes
// OptType, the OptType sent. An entry that cannot be read as a
// conversation, or names one that was not sent, makes the whole answer a
// protocol error: it may be any item's result, so no item's can be trusted.
// An item with no entry, with two, or whose entry breaks a rule has no
// result: a protocol error for that item alone.
//
// For search_contact_group, an answer with ErrorCode 0 holds a
// ContactResultItem array; each entry names a requested conversation with
// Type and the peer beside its marks, at most once, with a StandardMark
// that is a string of '0' and '1' of at most 64 characters, and a
// CustomMark that is a string of at most 256 bytes when present. Any
// breach makes the whole answer a protocol error: the absence of a
// conversation from the answer means it holds no marks, which is only true
// of an answer read whole.
//
// CustomMark may be absent from a read entry, and then is "". The
// documentation makes CustomMark optional (选填) where it is written, and
// its read answers describe it only as the conversation's custom mark; a
// conversation with standard marks alone has no custom mark to show, and
// the emulator, like the documentation's field table, leaves it out then.
// StandardMark has no such reading: every entry of a read answer is a
// conversation with marks, so one without a StandardMark is incomplete.

// maxAnswerBytes bounds an answer read into memory. The largest documented
// answers (300 read entries, 100 results) take tens of kilobytes.
const maxAnswerBytes = 16 << 20

// A protocolError is an answer, or one entry of it, that breaks the rules
// above. Its message says exactly what was wrong.
type protocolError struct {
	What string
}

func (e *protocolError) Error() string { return "protocol error: " + e.What }

func protocolf(format string, a ...any) *protocolError {
	return &protocolError{What: Redact(fmt.Sprintf(format, a...))}
}

// answerHead is the checked request-level part of an answer: code 0 when
// ActionStatus is OK, else the ErrorCode of a FAIL answer, with its
// ErrorInfo.
type answerHead struct {
	code int
	info string
}

// itemResult is what a mark_contact answer says of one item: the API's
// ResultCode and ResultInfo, or, when problem is set, why the answer holds
// no result that can be believed.
type itemResult struct {
	code    int
	info    string
	problem *protocolError
}

// decodeMarkAnswer decodes and checks a mark_contact answer to a request of
// user from carrying sent (each conversation with the OptType sent). When
// the head's code is 0, results holds one entry for every conversation of
// sent. An error is a *protocolError for the whole answer.
func decodeMarkAnswer(body []byte, from string, sent map[mark.Conversation]int) (answerHead, map[mark.Conversation]itemResult, error) {
	obj, h, err := decodeHead(body, from)
	if err != nil || h.code != 0 {
		return h, nil, err
	}
	entries, err := arrayMember(obj, "ResultItem")
	if err != nil {
		return h, nil, err
	}
	results := make(map[mark.Conversation]itemResult, len(sent))
	seen := make(map[mark.Conversation]int, len(entries))
	for i, raw := range entries {
		where := fmt.Sprintf("ResultItem[%d]", i)
		e, err := decodeObject(raw)
		if err != nil {
			return h, nil, protocolf("%s: %v", where, err)
		}
		ci, ok := e["ContactItem"]
		if !ok {
			return h, nil, protocolf("%s: ContactItem is missing", where)
		}
		co, err := decodeObject(ci)
		if err != nil {
			return h, nil, protocolf("%s: ContactItem: %v", where, err)
		}
		conv, err := decodeConversation(co)
		if err != nil {
			return h, nil, protocolf("%s: ContactItem: %v", where, err)
		}
		opt, asked := sent[conv]
		if !asked {
			return h, nil, protocolf("%s names %s %q, which the request did not carry", where, conv.TypeName(), conv.Peer)
		}
		seen[conv]++
		if seen[conv] > 1 {
			results[conv] = itemResult{problem: protocolf("the answer holds %d entries for %s %q", seen[conv], conv.TypeName(), conv.Peer)}
			continue
		}
		results[conv] = decodeResult(e, conv, opt)
	}
	for conv := range sent {
		if seen[conv] == 0 {
			results[conv] = itemResult{problem: protocolf("the answer holds no entry for %s %q", conv.TypeName(), conv.Peer)}
		}
	}
	return h, results, nil
}

// decodeResult checks the members of one ResultItem entry beside its
// conversation.
func decodeResult(e object, conv mark.Conversation, opt int) itemResult {
	about := fmt.Sprintf("the entry for %s %q", conv.TypeName(), conv.Peer)
	raw, ok := e["ResultCode"]
	if !ok {
		return itemResult{problem: protocolf("%s: ResultCode is missing", about)}
	}
	code, err := jsonInt(raw)
	if err != nil {
		return itemResult{problem: protocolf("%s: ResultCode %v", about, err)}
	}
	if raw, ok := e["OptType"]; ok {
		got, err := jsonInt(raw)
		if err != nil {
			return itemResult{problem: protocolf("%s: OptType %v", about, err)}
		}
		if got != opt {
			return itemResult{problem: protocolf("%s: OptType %d, but %d was sent", about, got, opt)}
		}
	}
	return itemResult{code: code, info: infoMember(e, "ResultInfo")}
}

// decodeSearchAnswer decodes and checks a search_contact_group answer to a
// request of user from for asked. When the head's code is 0, marks holds
// the marks of every asked conversation the server holds; an asked
// conversation absent from it holds none. An error is a *protocolError for
// the whole answer.
func decodeSearchAnswer(body []byte, from string, asked []mark.Conversation, order mark.BitOrder) (answerHead, map[mark.Conversation]mark.ServerMarks, error) {
	obj, h, err := decodeHead(body, from)
	if err != nil || h.code != 0 {
		return h, nil, err
	}
	entries, err := arrayMember(obj, "ContactResultItem")
	if err != nil {
		return h, nil, err
	}
	want := make(map[mark.Conversation]bool, len(asked))
	for _, c := range asked {
		want[c] = true
	}
	marks := make(map[mark.Conversation]mark.ServerMarks, len(entries))
	for i, raw := range entries {
		where := fmt.Sprintf("ContactResultItem[%d]", i)
		e, err := decodeObject(raw)
		if err != nil {
			return h, nil, protocolf("%s: %v", where, err)
		}
		if _, nested := e["ContactItem"]; nested {
			return h, nil, protocolf("%s holds a nested ContactItem: the read API names the conversation with Type and To_Account or ToGroupId beside its marks", where)
		}
		conv, err := decodeConversation(e)
		if err != nil {
			return h, nil, protocolf("%s: %v", where, err)
		}
		if !want[conv] {
			return h, nil, protocolf("%s names %s %q, which the request did not ask for", where, conv.TypeName(), conv.Peer)
		}
		if _, dup := marks[conv]; dup {
			return h, nil, protocolf("the answer holds more than one entry for %s %q", conv.TypeName(), conv.Peer)
		}
		m, err := decodeMarks(e, order)
		if err != nil {
			return h, nil, protocolf("the entry for %s %q: %v", conv.TypeName(), conv.Peer, err)
		}
		marks[conv] = m
	}
	return h, marks, nil
}

// decodeMarks checks the marks of one read entry.
func decodeMarks(e object, order mark.BitOrder) (mark.ServerMarks, error) {
	var m mark.ServerMarks
	raw, ok := e["StandardMark"]
	if !ok {
		return m, errors.New("StandardMark is missing")
	}
	s, err := jsonString(raw)
	if err != nil {
		return m, fmt.Errorf("StandardMark %w", err)
	}
	m.Text = s
	if m.Standard, err = parseStandardMark(s, order); err != nil {
		return m, err
	}
	if raw, ok := e["CustomMark"]; ok {
		if m.Custom, err = jsonString(raw); err != nil {
			return m, fmt.Errorf("CustomMark %w", err)
		}
		if n := len(m.Custom); n > mark.MaxCustomMarkBytes {
			return m, fmt.Errorf("CustomMark is %d bytes, more than the %d the API stores", n, mark.MaxCustomMarkBytes)
		}
	}
	return m, nil
}

// decodeHead decodes an answer's object and checks its request-level
// members (see the rules above).
func decodeHead(body []byte, from string) (object, answerHead, error) {
	var h answerHead
	obj, err := decodeObject(body)
	if err != nil {
		return nil, h, protocolf("the answer: %v", err)
	}
	rawStatus, ok := obj["ActionStatus"]
	if !ok {
		return nil, h, protocolf("ActionStatus is missing")
	}
	status, err := jsonString(rawStatus)
	if err != nil {
		return nil, h, protocolf("ActionStatus %v", err)
	}
	rawCode, ok := obj["ErrorCode"]
	if !ok {
		return nil, h, protocolf("ErrorCode is missing (ActionStatus %q)", status)
	}
	if h.code, err = jsonInt(rawCode); err != nil {
		return nil, h, protocolf("ErrorCode %v", err)
	}
	h.info = infoMember(obj, "ErrorInfo")
	switch {
	case status == "OK" && h.code == 0, status == "FAIL" && h.code != 0:
	case status == "OK" || status == "FAIL":
		return nil, h, protocolf("ActionStatus %q with ErrorCode %d: the API answers OK with 0 and FAIL with a non-zero code", status, h.code)
	default:
		return nil, h, protocolf("ActionStatus %s is neither \"OK\" nor \"FAIL\" (ErrorCode %d)", short(rawStatus), h.code)
	}
	if raw, ok := obj["From_Account"]; ok {
		if got, err := jsonString(raw); err != nil || got != from {
			return nil, h, protocolf("the answer names From_Account %s, not the request's %q", short(raw), from)
		}
	}
	return obj, h, nil
}

// decodeConversation reads the conversation an object names with Type and
// To_Account or ToGroupId.
func decodeConversation(o object) (mark.Conversation, error) {
	raw, ok := o["Type"]
	if !ok {
		return mark.Conversation{}, errors.New("Type is missing")
	}
	t, err := jsonInt(raw)
	if err != nil {
		return mark.Conversation{}, fmt.Errorf("Type %w", err)
	}
	var peerKey, otherKey string
	switch t {
	case int(mark.C2C):
		peerKey, otherKey = "To_Account", "ToGroupId"
	case int(mark.Group):
		peerKey, otherKey = "ToGroupId", "To_Account"
	default:
		return mark.Conversation{}, fmt.Errorf("Type %d is neither 1 (c2c) nor 2 (group)", t)
	}
	raw, ok = o[peerKey]
	if !ok {
		return mark.Conversation{}, fmt.Errorf("Type %d without %s", t, peerKey)
	}
	peer, err := jsonString(raw)
	if err != nil {
		return mark.Conversation{}, fmt.Errorf("%s %w", peerKey, err)
	}
	if peer == "" {
		return mark.Conversation{}, fmt.Errorf("%s is empty", peerKey)
	}
	if raw, ok := o[otherKey]; ok {
		if other, err := jsonString(raw); err != nil || other != "" {
			return mark.Conversation{}, fmt.Errorf("Type %d with %s %q and %s %s: both are set", t, peerKey, peer, otherKey, short(raw))
		}
	}
	return mark.Conversation{Type: uint8(t), Peer: peer}, nil
}
