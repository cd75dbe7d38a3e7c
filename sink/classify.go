package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Class is what the client does about an answer.
type Class int

// The classes of answers, by what the client does about them.
const (
	// OK: the request or item succeeded.
	OK Class = iota
	// Throttled: retry after backoff and slow every worker for a while.
	Throttled
	// Transient: retry with exponential backoff and jitter, bounded attempts.
	Transient
	// SigExpired: make a new usersig and retry at once, up to maxRenewals
	// (3) times in a row; stop when none can be made or the renewals run out.
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
	// timeout, an HTTP status other than 200, a body that is not JSON).
	CodeTransport = -1
	// CodeProtocol: the answer broke the API's documented shape, for the
	// item or for the whole request: a result missing, duplicated, null, of
	// the wrong JSON type, naming a conversation not asked for, and the
	// like (see answer.go). Such an item is retried like a transient error;
	// it is never taken for a success.
	CodeProtocol = -2
)

var codeClass = map[int]Class{
	60007: Throttled, 60011: Throttled, 60018: Throttled, 60019: Throttled,
	50004: Transient, 50005: Transient, 60008: Transient, 60013: Transient, 60014: Transient, 70169: Transient, 70500: Transient,
	70001: SigExpired,
	50003: Fatal, 60002: Fatal, 60006: Fatal, 60009: Fatal, 60010: Fatal, 60012: Fatal, 60016: Fatal, 60017: Fatal,
	60020: Fatal, 60021: Fatal, 60025: Fatal, 60026: Fatal, 70003: Fatal, 70009: Fatal, 70013: Fatal, 70014: Fatal,
	70016: Fatal, 70020: Fatal, 70050: Fatal, 70051: Fatal, 51006: Fatal, 51013: Fatal,
	CodeTransport: Transient, CodeProtocol: Transient,
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

// classify is the one pure classification of an attempt at the level of
// the request, for every API the client calls: the transport outcome (err,
// HTTP status) and, for a 200 whose answer was decoded, its checked head
// (nil otherwise). It returns the class, the code and a report message
// (never holding a secret).
func classify(status int, err error, h *answerHead) (Class, int, string) {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return Transient, CodeProtocol, pe.Error()
	}
	if err != nil || status != http.StatusOK || h == nil {
		class, msg := classifyTransport(status, err)
		return class, CodeTransport, msg
	}
	if h.code == 0 {
		return OK, 0, ""
	}
	return ClassifyCode(h.code), h.code, apiMessage(h.code, h.info)
}

// apiMessage is the report's message for an API code.
func apiMessage(code int, info string) string {
	if info == "" {
		return "API error " + strconv.Itoa(code)
	}
	return Redact(info)
}

// classifyTransport classifies a failure to get a usable answer: a
// transport error, an HTTP status other than 200, a redirect, or a body
// that is not JSON. It returns Transient with a message fit for the report
// (no URL, so no credentials), or Fatal for a status that retrying cannot
// fix.
func classifyTransport(status int, err error) (Class, string) {
	var re *redirectError
	switch {
	case errors.As(err, &re):
		return Fatal, re.Error()
	case err != nil && errors.Is(err, context.Canceled):
		return Transient, "request cancelled"
	case err != nil:
		return Transient, redactErr(err)
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

// redirectError is an answer that sends the request elsewhere. The client
// follows no redirect: the request URL carries the usersig, which goes to
// the endpoint and nowhere else, and a 301 or 302 would turn the POST into
// a GET. A redirect means the endpoint is not the API (a wrong --endpoint,
// a captive portal, a proxy): retrying cannot help, so it stops the run.
type redirectError struct {
	status   int
	location string // redacted: no query string
}

func (e *redirectError) Error() string {
	loc := e.location
	if loc == "" {
		loc = "nowhere (no Location)"
	}
	return fmt.Sprintf("HTTP %d %s to %s: markimport follows no redirect, so that the usersig goes to the endpoint only; check --endpoint or --region",
		e.status, http.StatusText(e.status), loc)
}

// redactLocation renders a redirect's Location without its query string or
// user info, which may hold credentials: scheme, host and path only.
func redactLocation(base *url.URL, loc string) string {
	if loc == "" {
		return ""
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "an unreadable Location"
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	s := out.String()
	if u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		s += " (query not shown)"
	}
	return Redact(s)
}
