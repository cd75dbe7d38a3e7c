package fakeim

// The emulator's own wire types. They follow the public documentation of
// mark_contact (its public documentation), search_contact_group and get_contact_group;
// the client in package sink has its own, so that a misreading of the
// documentation in one does not silently agree with the other.

// ContactItem names a conversation on the wire: Type 1 (c2c) with
// To_Account, or Type 2 (group) with ToGroupId.
type ContactItem struct {
	Type      int    `json:"Type"`
	ToAccount string `json:"To_Account,omitempty"`
	ToGroupID string `json:"ToGroupId,omitempty"`
}

// MarkItem is one conversation's change in a mark_contact request.
// CustomMark is a pointer because its presence matters: OptType 2 and 3
// require it (an empty string clears the custom mark), OptType 1 forbids it.
type MarkItem struct {
	OptType     int         `json:"OptType"`
	ContactItem ContactItem `json:"ContactItem"`
	SetMark     []int64     `json:"SetMark,omitempty"`
	ClearMark   []int64     `json:"ClearMark,omitempty"`
	CustomMark  *string     `json:"CustomMark,omitempty"`
}

// MarkContactRequest is the body of POST /v4/recentcontact/mark_contact.
type MarkContactRequest struct {
	FromAccount string     `json:"From_Account"`
	MarkItem    []MarkItem `json:"MarkItem"`
}

// Status is the head every answer carries. ActionStatus is "OK" or "FAIL";
// ErrorCode 0 means success.
type Status struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
	ErrorDisplay string `json:"ErrorDisplay"`
}

// ResultItem is the outcome of one MarkItem. It echoes the item's OptType
// and ContactItem; results are not in request order.
type ResultItem struct {
	OptType     int         `json:"OptType"`
	ContactItem ContactItem `json:"ContactItem"`
	ResultCode  int         `json:"ResultCode"`
	ResultInfo  string      `json:"ResultInfo"`
}

// MarkContactResponse is the answer to mark_contact. ResultItem is present
// when ActionStatus is "OK", with one entry per MarkItem.
type MarkContactResponse struct {
	Status
	ResultItem []ResultItem `json:"ResultItem,omitempty"`
}

// searchContactGroupRequest is the body of
// POST /v4/recentcontact/search_contact_group: 1-300 conversations.
type searchContactGroupRequest struct {
	FromAccount string        `json:"From_Account"`
	ContactItem []ContactItem `json:"ContactItem"`
}

// ContactMarks is one conversation's marks in the read APIs' answers. As in
// the public documentation the conversation's Type and peer sit beside the
// marks, not in a nested ContactItem. StandardMark is a bit string (see
// FormatStandardMark); CustomMark is omitted when empty. ContactGroupId is
// always omitted: the emulator has no conversation groups. Timestamp is the
// Unix time of the conversation's last mark change.
type ContactMarks struct {
	Type           int    `json:"Type"`
	ToAccount      string `json:"To_Account,omitempty"`
	ToGroupID      string `json:"ToGroupId,omitempty"`
	StandardMark   string `json:"StandardMark"`
	CustomMark     string `json:"CustomMark,omitempty"`
	ContactGroupID []int  `json:"ContactGroupId,omitempty"`
	Timestamp      int64  `json:"Timestamp"`
}

// SearchContactGroupResponse is the answer to search_contact_group.
// ContactResultItem holds each requested conversation the user has marked
// once, in no particular order. A conversation never marked (or removed with
// DeleteConversation) is absent; one whose marks were all cleared is present
// with a zero StandardMark and an empty CustomMark.
type SearchContactGroupResponse struct {
	Status
	ContactResultItem []ContactMarks `json:"ContactResultItem"`
}

// getContactGroupRequest is the body of
// POST /v4/recentcontact/get_contact_group. StartIndex is required: 0 for
// the first page, then the previous answer's NextStartIndex.
type getContactGroupRequest struct {
	FromAccount string `json:"From_Account"`
	StartIndex  *int64 `json:"StartIndex"`
}

// GetContactGroupResponse is one page of a user's marked conversations in
// the order they were first marked. CompleteFlag is 1 on the last page, and
// NextStartIndex is then 0.
type GetContactGroupResponse struct {
	Status
	ContactItem    []ContactMarks `json:"ContactItem"`
	CompleteFlag   int            `json:"CompleteFlag"`
	NextStartIndex int64          `json:"NextStartIndex"`
}

// wireNames are the only object keys the three APIs accept, spelled exactly.
// encoding/json matches field names case-insensitively; the real service
// does not, so a client that writes "from_account" must fail here too.
var wireNames = map[string]bool{
	"From_Account": true, "MarkItem": true, "OptType": true, "ContactItem": true,
	"Type": true, "To_Account": true, "ToGroupId": true, "SetMark": true,
	"ClearMark": true, "CustomMark": true, "StartIndex": true,
}
