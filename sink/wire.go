package sink

import (
	"markimport/pipeline/mark"
)

// API paths.
const (
	PathMarkContact        = "/v4/recentcontact/mark_contact"
	PathSearchContactGroup = "/v4/recentcontact/search_contact_group"
	PathGetContactGroup    = "/v4/recentcontact/get_contact_group"
)

// ContactItem names a conversation on the wire.
type ContactItem struct {
	Type      int    `json:"Type"`
	ToAccount string `json:"To_Account,omitempty"`
	ToGroupID string `json:"ToGroupId,omitempty"`
}

// MarkItem is one element of a mark_contact request.
type MarkItem struct {
	OptType     int         `json:"OptType"`
	ContactItem ContactItem `json:"ContactItem"`
	SetMark     []int       `json:"SetMark,omitempty"`
	ClearMark   []int       `json:"ClearMark,omitempty"`
	// CustomMark is present exactly when OptType includes the custom mark;
	// "" then clears it.
	CustomMark *string `json:"CustomMark,omitempty"`
}

// MarkContactRequest is the body of a mark_contact request.
type MarkContactRequest struct {
	FromAccount string     `json:"From_Account"`
	MarkItem    []MarkItem `json:"MarkItem"`
}

// contactItem maps a Conversation to its wire form.
func contactItem(c mark.Conversation) ContactItem {
	if c.Type == mark.Group {
		return ContactItem{Type: int(c.Type), ToGroupID: c.Peer}
	}
	return ContactItem{Type: int(c.Type), ToAccount: c.Peer}
}

// markItem turns a planned item into its wire form.
func markItem(it *mark.Item) MarkItem {
	m := MarkItem{OptType: int(it.Opt), ContactItem: contactItem(it.Conv)}
	if it.Opt&mark.OptStandard != 0 {
		m.SetMark = mark.Bits(it.Set)
		m.ClearMark = mark.Bits(it.Clear)
	}
	if it.Opt&mark.OptCustom != 0 {
		s := it.Custom
		m.CustomMark = &s
	}
	return m
}
