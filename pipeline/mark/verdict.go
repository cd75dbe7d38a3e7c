package mark

import (
	"fmt"
	"strings"
)

// Hold is what a gate decides for one item before it is sent.
type Hold uint8

const (
	// Send lets the item go.
	Send Hold = iota
	// HoldUnsent keeps the item back because what had to happen before it
	// could be sent failed (its backup could not be read): its rows are
	// reported unsent with the verdict's code and message.
	HoldUnsent
	// HoldExists keeps the item back because the server already holds
	// marks for its conversation that the item would change (insert-only
	// mode): its rows are reported exists, with the server's marks in the
	// verdict's message.
	HoldExists
	// HoldSame keeps the item back because the read-back found its
	// conversation already as the item would leave it: sending it would
	// change nothing. Its rows are reported unchanged, with the verdict's
	// message.
	HoldSame
	// HoldChange keeps back an item that would change its conversation
	// because the run only previews what it would do (validate
	// --online): its rows are reported would-change, with the marks
	// before and after in the verdict's message.
	HoldChange
)

// Verdict is a gate's decision on one item: send it, or hold it back with
// a code and a message for its rows.
type Verdict struct {
	Hold    Hold
	Code    int
	Message string
}

// ReadError is a read of marks (search_contact_group) that failed for its
// conversations only: the API refused it with Code, or it still failed
// after the last attempt. Other reads go on.
type ReadError struct {
	Code    int
	Message string
}

// Error is the message alone when it already names the code.
func (e *ReadError) Error() string {
	code := fmt.Sprintf("API error %d", e.Code)
	if e.Code == 0 || strings.Contains(e.Message, code) {
		return e.Message
	}
	return code + ": " + e.Message
}
