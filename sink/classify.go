package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// class is what the client does about an answer.
type class int

// The classes of answers, by what the client does about them.
const (
	// classOK: the request or item succeeded.
	classOK class = iota
	// classThrottled: retry after backoff and slow every worker for a while.
	classThrottled
	// classTransient: retry with exponential backoff and jitter, bounded attempts.
	classTransient
	// classSigExpired: make a new usersig and retry at once, up to maxRenewals
	// (3) times in a row; stop when none can be made or the renewals run out.
	classSigExpired
	// classFatal: stop the run; nothing else will succeed either.
	classFatal
	// classItemFailed: this item (or every item of the request) failed; carry on.
	classItemFailed
)

func (c class) String() string {
	switch c {
	case classOK:
		return "ok"
	case classThrottled:
		return "throttled"
	case classTransient:
		return "transient"
	case classSigExpired:
		return "sig-expired"
	case classFatal:
		return "fatal"
	case classItemFailed:
		return "item-failed"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Local codes for failures that have no API code.
const (
	// codeTransport: the request got no usable answer (connection error,
	// timeout, an HTTP status other than 200, a body that is not JSON).
	codeTransport = -1
	// codeProtocol: the answer broke the API's documented shape, for the
	// item or for the whole request: a result missing, duplicated, null, of
	// the wrong JSON type, naming a conversation not asked for, and the
	// like (see answer.go). Such an item is retried like a transient error;
	// it is never taken for a success.
	codeProtocol = -2
)

var codeClass = map[int]class{
	60007: classThrottled, 60011: classThrottled, 60018: classThrottled, 60019: classThrottled,
	50004: classTransient, 50005: classTransient, 60008: classTransient, 60013: classTransient, 60014: classTransient, 70169: classTransient, 70500: classTransient,
	70001: classSigExpired,
	50003: classFatal, 60002: classFatal, 60006: classFatal, 60009: classFatal, 60010: classFatal, 60012: classFatal, 60016: classFatal, 60017: classFatal,
	60020: classFatal, 60021: classFatal, 60025: classFatal, 60026: classFatal, 70003: classFatal, 70009: classFatal, 70013: classFatal, 70014: classFatal,
	70016: classFatal, 70020: classFatal, 70050: classFatal, 70051: classFatal, 51006: classFatal, 51013: classFatal,
	codeTransport: classTransient, codeProtocol: classTransient,
}

// classifyCode classifies an API error code, at the top level (ErrorCode) or
// of one item (ResultCode). 0 is OK; any code not in the table fails the item.
func classifyCode(code int) class {
	if code == 0 {
		return classOK
	}
	if c, ok := codeClass[code]; ok {
		return c
	}
	return classItemFailed
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

// hint returns advice for a fatal code, or "".
func hint(code int) string { return hints[code] }

// classify is the one pure classification of an attempt at the level of
// the request, for every API the client calls: the transport outcome (err,
// HTTP status) and, for a 200 whose answer was decoded, its checked head
// (nil otherwise). It returns the class, the code and a report message
// (never holding a secret).
func classify(status int, err error, h *answerHead) (class, int, string) {
	var pe *protocolError
	if errors.As(err, &pe) {
		return classTransient, codeProtocol, pe.Error()
	}
	if err != nil || status != http.StatusOK || h == nil {
		class, msg := classifyTransport(status, err)
		return class, codeTransport, msg
	}
	if h.code == 0 {
		return classOK, 0, ""
	}
	return classifyCode(h.code), h.code, apiMessage(h.code, h.info)
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
func classifyTransport(status int, err error) (class, string) {
	var re *redirectError
	switch {
	case errors.As(err, &re):
		return classFatal, re.Error()
	case err != nil && errors.Is(err, context.Canceled):
		return classTransient, "request cancelled"
	case err != nil:
		return classTransient, redactErr(err)
	case status >= 500:
		return classTransient, fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	case status == http.StatusTooManyRequests:
		return classThrottled, "HTTP 429 Too Many Requests"
	case status == http.StatusNotFound:
		return classFatal, "HTTP 404 Not Found: check --endpoint or --region"
	case status >= 400:
		return classFatal, fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	}
	return classTransient, fmt.Sprintf("unexpected HTTP %d", status)
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
