package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Class is what the client does about an answer.
type Class int

// The classes of SPEC §1's error table.
const (
	// OK: the request or item succeeded.
	OK Class = iota
	// Throttled: retry after backoff and slow every worker for a while.
	Throttled
	// Transient: retry with exponential backoff and jitter, bounded attempts.
	Transient
	// SigExpired: make a new usersig and retry once, or stop when none can be made.
	SigExpired
	// Fatal: stop the run; nothing else will succeed either.
	Fatal
	// ItemFailed: this item (or every item of the request) failed; carry on.
	ItemFailed
)

func (c Class) String() string {
	switch c {
	case OK:
		return "ok"
	case Throttled:
		return "throttled"
	case Transient:
		return "transient"
	case SigExpired:
		return "sig-expired"
	case Fatal:
		return "fatal"
	case ItemFailed:
		return "item-failed"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Local codes for failures that have no API code.
const (
	// CodeTransport: the request got no usable answer (connection error,
	// timeout, HTTP 5xx, a body that is not JSON).
	CodeTransport = -1
	// CodeNoResult: the answer had no ResultItem for the item.
	CodeNoResult = -2
)

var codeClass = map[int]Class{
	60007: Throttled, 60011: Throttled, 60018: Throttled, 60019: Throttled,
	50004: Transient, 50005: Transient, 60008: Transient, 60013: Transient, 60014: Transient, 70169: Transient, 70500: Transient,
	70001: SigExpired,
	50003: Fatal, 60002: Fatal, 60006: Fatal, 60009: Fatal, 60010: Fatal, 60012: Fatal, 60016: Fatal, 60017: Fatal,
	60020: Fatal, 60021: Fatal, 60025: Fatal, 60026: Fatal, 70003: Fatal, 70009: Fatal, 70013: Fatal, 70014: Fatal,
	70016: Fatal, 70020: Fatal, 70050: Fatal, 70051: Fatal, 51006: Fatal, 51013: Fatal,
	CodeTransport: Transient, CodeNoResult: Transient,
}

// ClassifyCode classifies an API error code, at the top level (ErrorCode) or
// of one item (ResultCode). 0 is OK; any code not in the table fails the item.
func ClassifyCode(code int) Class {
	if code == 0 {
		return OK
	}
	if c, ok := codeClass[code]; ok {
		return c
	}
	return ItemFailed
}

// hints say what a user can do about each fatal code.
var hints = map[int]string{
	50003: "the --admin identifier is not an App admin of this SDKAppID",
	51006: "a request carried 0 or more than 100 items: this is a markimport bug, please report it",
	51013: "standard marks need the Ultimate/Pro edition; upgrade, or import custom marks only",
	60002: "the request is malformed (HTTP parse error): check --endpoint",
	60006: "the SDKAppID is disabled or in arrears: check the console",
	60009: "the request is not allowed from this address (IP allow list)",
	60010: "this API is forbidden for the app: check the console",
	60012: "the SDKAppID is wrong or not enabled for this region",
	60016: "the SDKAppID is disabled",
	60017: "the request is forbidden: check the console",
	60020: "the SDKAppID is not in this region: check --region (the app's data centre)",
	60021: "this address is not allowed to call the app: check the IP allow list",
	60025: "the app's package has expired",
	60026: "the app's package does not include this API",
	70003: "the usersig cannot be parsed: check MARKIMPORT_USERSIG / --usersig-file",
	70009: "the usersig does not verify: wrong secret key, or a usersig made for another app",
	70013: "the usersig was made for another identifier: check --admin",
	70014: "the usersig was made for another SDKAppID: check --sdkappid",
	70016: "the app's public key is missing: check the console",
	70020: "the SDKAppID is not found: check --sdkappid and --region",
	70050: "too many failed usersig checks; wait and check the credentials",
	70051: "the account is blocked",
	70001: "the usersig has expired: give a fresh one, or MARKIMPORT_SECRET_KEY so markimport makes and renews them",
}

// Hint returns advice for a fatal code, or "".
func Hint(code int) string { return hints[code] }

// classifyTransport classifies a failure to get a usable answer: a
// transport error, an HTTP status other than 200, or an unparseable body.
// It returns Transient with a message fit for the report (no URL, so no
// credentials), or Fatal for a status that retrying cannot fix.
func classifyTransport(status int, err error) (Class, string) {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return Transient, "request cancelled"
		}
		return Transient, redactErr(err)
	}
	switch {
	case status >= 500:
		return Transient, fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	case status == http.StatusTooManyRequests:
		return Throttled, "HTTP 429 Too Many Requests"
	case status == http.StatusNotFound:
		return Fatal, "HTTP 404 Not Found: check --endpoint or --region"
	case status >= 400:
		return Fatal, fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	}
	return Transient, fmt.Sprintf("unexpected HTTP %d", status)
}
