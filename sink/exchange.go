package sink

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"markimport/pipeline/mark"
)

// requestURL returns the request URL of an API path with the credentials and a
// fresh random number. It holds the usersig: never print it unredacted.
func (c *Client) requestURL(path string) (string, error) {
	sig, err := c.cfg.Credentials.UserSig()
	if err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("sdkappid", strconv.FormatUint(c.cfg.SDKAppID, 10))
	q.Set("identifier", c.cfg.Admin)
	q.Set("usersig", sig)
	q.Set("random", strconv.FormatUint(uint64(rand.Uint32()), 10))
	q.Set("contenttype", "json")
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// post sends the pending items of one request and returns the checked
// result of each item sent, when the attempt's class is OK.
func (c *Client) post(ctx context.Context, from string, items []mark.Item, pending []int) (map[mark.Conversation]itemResult, attempt) {
	body := markContactBody{FromAccount: from, MarkItem: make([]wireMarkItem, len(pending))}
	sent := make(map[mark.Conversation]int, len(pending))
	for k, i := range pending {
		body.MarkItem[k] = markItem(&items[i])
		sent[items[i].Conv] = int(items[i].Opt)
	}
	var results map[mark.Conversation]itemResult
	a := c.exchange(ctx, pathMarkContact, &body, func(b []byte) (answerHead, error) {
		h, r, err := decodeMarkAnswer(b, from, sent)
		results = r
		return h, err
	})
	return results, a
}

// errNotJSON marks a 200 answer whose body is not JSON at all (a gateway's
// page, say).
var errNotJSON = errors.New("HTTP 200 with a body that is not a JSON answer")

// exchange POSTs a JSON body to an API path and classifies the attempt.
// decode checks a 200's JSON body (see answer.go) and keeps what the
// caller needs of it; its error is a *protocolError.
func (c *Client) exchange(ctx context.Context, path string, body any, decode func([]byte) (answerHead, error)) attempt {
	x := c.do(ctx, path, body)
	err := x.err
	var h *answerHead
	if err == nil && x.status == http.StatusOK {
		if !json.Valid(x.body) {
			err = errNotJSON
		} else if hd, derr := decode(x.body); derr != nil {
			err = derr
		} else {
			h = &hd
		}
	}
	class, code, msg := classify(x.status, err, h)
	a := attempt{class: class, code: code, msg: msg, left: x.left, sent: x.sent, status: x.status, retryAfter: x.retryAfter}
	if x.err != nil && x.status == 0 && !errors.Is(x.err, context.Canceled) {
		a.noAnswer = true
		a.connectFailed = !x.left
	}
	return a
}

// exchanged is what one HTTP exchange brought back.
type exchanged struct {
	// status is the HTTP status of an answer, 0 when none came.
	status int
	// left is true when the request reached the wire (false when no
	// connection could be made); sent is when the pacer let it go.
	left bool
	sent time.Time
	// body is a 200's body, read whole within maxAnswerBytes.
	body []byte
	// retryAfter is what a 429's or 503's Retry-After asked for, capped.
	retryAfter time.Duration
	// err is why no usable answer came: a transport error, a redirect, an
	// answer over the size cap.
	err error
}

// do makes one HTTP exchange.
func (c *Client) do(ctx context.Context, path string, body any) exchanged {
	var x exchanged
	u, err := c.requestURL(path)
	if err != nil {
		x.err = err
		return x
	}
	buf, err := json.Marshal(body)
	if err != nil {
		x.err = err
		return x
	}
	ctx, dep := c.traceDeparture(ctx)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(buf))
	if err != nil {
		x.err = errors.New(redactErr(err))
		return x
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := c.http.Do(hreq)
	x.left = dep.left.Load()
	if x.left {
		x.sent = time.Unix(0, dep.sent.Load())
		c.ctr.HTTPRequests.Add(1)
	}
	if err != nil {
		x.left = x.left && !connectFailed(err)
		x.err = err
		return x
	}
	defer hresp.Body.Close()
	if s := hresp.StatusCode; s >= 300 && s < 400 {
		x.status = s
		x.err = &redirectError{status: s, location: redactLocation(hreq.URL, hresp.Header.Get("Location"))}
		return x
	}
	if s := hresp.StatusCode; s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
		x.retryAfter = parseRetryAfter(hresp.Header.Get("Retry-After"), time.Now())
	}
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxAnswerBytes+1))
	if err != nil {
		x.err = err
		return x
	}
	x.status = hresp.StatusCode
	if hresp.StatusCode != http.StatusOK {
		return x
	}
	x.body, x.err = answerWithin(hresp, data)
	return x
}

// answerWithin returns data, the answer read up to one byte over
// maxAnswerBytes, when it is within that bound; else a protocol error that
// says how large the answer is: from its length, or by reading on (within
// the request's timeout) up to a bound.
func answerWithin(hresp *http.Response, data []byte) ([]byte, error) {
	if len(data) <= maxAnswerBytes {
		return data, nil
	}
	n := hresp.ContentLength
	if n <= maxAnswerBytes {
		rest, _ := io.Copy(io.Discard, io.LimitReader(hresp.Body, maxSizeCount))
		n = int64(len(data)) + rest
	}
	size := fmt.Sprintf("%d bytes", n)
	if n > maxAnswerBytes+maxSizeCount {
		size = fmt.Sprintf("more than %d MiB", (maxAnswerBytes+maxSizeCount)>>20)
	}
	return nil, protocolf("the answer is %s, over the %d MiB markimport reads (a full answer takes tens of kilobytes)", size, maxAnswerBytes>>20)
}

// departed records whether and when a request left, as the pacer counted
// it.
type departed struct {
	left atomic.Bool
	sent atomic.Int64 // UnixNano
}

// traceDeparture returns ctx with a trace that applies the pacer's hard
// ceiling as late as the connection allows: on the request's first write
// on a connection of the client's own transport, or once another transport
// hands a connection over. What leaves then is what the server counts.
// Each departure is counted and reported to OnDeparture.
func (c *Client) traceDeparture(ctx context.Context) (context.Context, *departed) {
	dep := &departed{}
	leave := func(t time.Time) {
		dep.left.Store(true)
		dep.sent.Store(t.UnixNano())
		c.ctr.MarkSend(t)
		if c.cfg.OnDeparture != nil {
			c.cfg.OnDeparture(t)
		}
	}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if pc := pacedConnOf(info.Conn); pc != nil {
				pc.arm(&departure{ctx: ctx, pacer: c.pacer, left: leave})
				return
			}
			if t, err := c.pacer.admit(ctx); err == nil {
				leave(t)
			}
		},
	})
	return ctx, dep
}

// maxSizeCount bounds what is read past maxAnswerBytes only to say how
// large an answer is.
const maxSizeCount = 256 << 20

// parseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date, capped at maxRetryAfter. It is advice: a value that does not
// parse, or is in the past, asks for no wait.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(min(secs, uint64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// connectFailed reports whether err is a failure to make a connection
// (refused, unreachable, unknown host, a TLS handshake that failed), after
// which nothing of the request reached the server.
func connectFailed(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var alert tls.AlertError
	return errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &alert)
}
