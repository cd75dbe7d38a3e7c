package sink

import (
	"markimport/pipeline/mark"
)

// API paths.
const (
	pathMarkContact        = "/v4/recentcontact/mark_contact"
	pathSearchContactGroup = "/v4/recentcontact/search_contact_group"
	pathGetContactGroup    = "/v4/recentcontact/get_contact_group"
)

// ContactItem names a conversation on the wire.
type wireContact struct {
	Type      int    `json:"Type"`
	ToAccount string `json:"To_Account,omitempty"`
	ToGroupID string `json:"ToGroupId,omitempty"`
}

// MarkItem is one element of a mark_contact request.
type wireMarkItem struct {
	OptType     int         `json:"OptType"`
	ContactItem wireContact `json:"ContactItem"`
	SetMark     []int       `json:"SetMark,omitempty"`
	ClearMark   []int       `json:"ClearMark,omitempty"`
	// CustomMark is present exactly when OptType includes the custom mark;
	// "" then clears it.
	CustomMark *string `json:"CustomMark,omitempty"`
}

// MarkContactRequest is the body of a mark_contact request.
type markContactBody struct {
	FromAccount string         `json:"From_Account"`
	MarkItem    []wireMarkItem `json:"MarkItem"`
}

// contactItem maps a Conversation to its wire form.
func contactItem(c mark.Conversation) wireContact {
	if c.Type == mark.Group {
		return wireContact{Type: int(c.Type), ToGroupID: c.Peer}
	}
	return wireContact{Type: int(c.Type), ToAccount: c.Peer}
}

// markItem turns a planned item into its wire form.
func markItem(it *mark.Item) wireMarkItem {
	m := wireMarkItem{OptType: int(it.Opt), ContactItem: contactItem(it.Conv)}
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
