package preflight

import (
	"context"

	"markimport/pipeline/mark"
)

// Marks is one conversation's marks as one read answered them, with
// StandardMark as the text the service sent: its order is what preflight
// finds out.
type Marks struct {
	// Found reports whether the answer held the conversation at all.
	Found bool
	// Standard is StandardMark as sent.
	Standard string
	Custom   string
}

// Service is what preflight needs of the API.
type Service interface {
	// Write sends one mark_contact request of one item for user from and
	// returns the item's ResultCode and ResultInfo (a request-level code
	// that fails every item counts as the item's). An error means the
	// request itself failed: a fatal code is a *mark.FatalError.
	Write(ctx context.Context, from string, it mark.Item) (code int, info string, err error)
	// Read reads one conversation of user from with search_contact_group.
	Read(ctx context.Context, from string, c mark.Conversation) (Marks, error)
}
