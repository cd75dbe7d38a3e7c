package mark

import (
	"fmt"
	"strconv"
)

// Outcome is what became of one item of a request.
type Outcome struct {
	// Sent is true when the API answered for the item (ok, or a code that
	// fails it), or when it reached the API and still failed after the
	// last attempt; false when the item was not confirmed before the run
	// stopped.
	Sent bool
	// Code is 0 on success, else the API's or a local error code.
	Code    int
	Message string
	// Attempts counts the requests that carried the item and left.
	Attempts int
}

// FatalError is an API answer that makes every further request pointless
// (wrong credentials, region or edition), or an endpoint that was never
// reached. The run stops.
type FatalError struct {
	Code int
	Info string // the API's ErrorInfo, or the connection error
	Hint string // what the user should fix
}

// Stopped is how a summary says why a run stopped: "fatal: 70009",
// "fatal: unreachable", or "fatal: http" for an HTTP answer that stops the
// run (a redirect, a 404) and holds no API code.
func (e *FatalError) Stopped() string {
	switch {
	case e.Code == CodeUnreachable:
		return "fatal: unreachable"
	case e.Code < 0:
		return "fatal: http"
	}
	return "fatal: " + strconv.Itoa(e.Code)
}

// Error says what stopped the run: the API's code, or for an endpoint
// that answered something other than the API's answer (a redirect, a 404),
// the HTTP answer itself, which is no API error.
func (e *FatalError) Error() string {
	switch {
	case e.Code == CodeUnreachable:
		return fmt.Sprintf("cannot reach the API: %s (%s)", e.Info, e.Hint)
	case e.Code < 0:
		if e.Hint != "" {
			return fmt.Sprintf("the endpoint did not answer as the API does: %s (%s)", e.Info, e.Hint)
		}
		return "the endpoint did not answer as the API does: " + e.Info
	}
	s := fmt.Sprintf("API error %d", e.Code)
	if e.Info != "" {
		s += ": " + e.Info
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}
