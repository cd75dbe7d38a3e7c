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
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
)

// Defaults of the client.
const (
	DefaultRate        = 200
	DefaultMaxAttempts = 6
	// DefaultTimeout is above the server's own 3 s so a slow answer is not
	// cut short and then sent again.
	DefaultTimeout = 10 * time.Second
)

// DefaultConcurrency is enough requests in flight that a server answering in
// about a second still gets the full rate.
func DefaultConcurrency(rate float64) int {
	return max(16, int(rate)+16)
}

// Backoff sets the delays between retries: full jitter, a random delay in
// [0, min(Cap, Base·2^(attempt-1))).
type Backoff struct {
	Base time.Duration
	Cap  time.Duration
}

// Config configures a Client.
type Config struct {
	// Endpoint is the base URL, e.g. https://console.tim.qq.com.
	Endpoint    string
	SDKAppID    uint64
	Admin       string
	Credentials Credentials
	// Rate is requests per second across all workers (default 200).
	Rate float64
	// Margin is the share of Rate left unused as headroom for jitter
	// (default DefaultMargin, 1%).
	Margin float64
	// Concurrency is the number of requests in flight (default DefaultConcurrency).
	Concurrency int
	// MaxAttempts bounds the tries of one item (default 6).
	MaxAttempts int
	// Timeout of one HTTP request (default 10 s).
	Timeout time.Duration
	Backoff Backoff
	// Counters, if set, receive request and retry counts.
	Counters *mark.Counters
	Log      *slog.Logger
	// HTTPClient overrides the keep-alive client the Client builds.
	HTTPClient *http.Client
	// OnDeparture, when set, is called with the time each request leaves
	// (as the pacer counted it): the run keeps the last one durable, and
	// tests check the departures against the server's rule.
	OnDeparture func(time.Time)
	// NotBefore holds every request until then: a run started right after
	// another waits out the server's second in which that one's last
	// requests arrived.
	NotBefore time.Time
}

// Client sends mark_contact requests. It implements mark.Sender.
type Client struct {
	cfg   Config
	base  *url.URL
	http  *http.Client
	pacer *Pacer
	ctr   *mark.Counters
	log   *slog.Logger

	sigMu      sync.Mutex
	sigRenewed time.Time

	reach reachability
}

// New checks the configuration and returns a client.
func New(cfg Config) (*Client, error) {
	base, err := CheckEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.SDKAppID == 0 {
		return nil, errors.New("--sdkappid is required")
	}
	if cfg.Admin == "" {
		return nil, errors.New("--admin is required")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("no credentials: set MARKIMPORT_SECRET_KEY or MARKIMPORT_USERSIG (or --secret-key-file / --usersig-file)")
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Margin <= 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency(cfg.Rate)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Backoff.Base <= 0 {
		cfg.Backoff.Base = 200 * time.Millisecond
	}
	if cfg.Backoff.Cap <= 0 {
		cfg.Backoff.Cap = 10 * time.Second
	}
	c := &Client{cfg: cfg, base: base, pacer: NewPacer(cfg.Rate, cfg.Margin), ctr: cfg.Counters, log: cfg.Log}
	c.pacer.notBefore = cfg.NotBefore
	if c.ctr == nil {
		c.ctr = &mark.Counters{}
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.http = cfg.HTTPClient
	if c.http == nil {
		c.http = &http.Client{
			Timeout: cfg.Timeout,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				ForceAttemptHTTP2:     true,
				MaxIdleConns:          cfg.Concurrency + 16,
				MaxIdleConnsPerHost:   cfg.Concurrency + 16,
				IdleConnTimeout:       90 * time.Second,
				TLSHandshakeTimeout:   5 * time.Second,
				ResponseHeaderTimeout: cfg.Timeout,
			},
		}
	}
	return c, nil
}

// Pacer returns the client's pacer (shared by every request it sends).
func (c *Client) Pacer() *Pacer { return c.pacer }

// Send implements mark.Sender: workers take requests from reqs and send
// each, with retries, through the one pacer. When ctx is done, or a fatal
// answer arrives, no new request is started; requests already on the wire
// finish (bounded by the request timeout) and are reported.
func (c *Client) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// In-flight HTTP requests are not cut by a stop: their answer tells
	// what the server did, which the report must say.
	wireCtx := context.WithoutCancel(ctx)
	// A worker takes a request only when fewer than queued requests wait
	// at the pacer: the others wait where they were planned, so that a
	// user read back just before its requests were handed over (--backup,
	// --mode insert) is written within a few pacer steps, not behind a
	// second's worth of requests held by idle workers.
	queue := make(chan struct{}, pacerQueue(c.pacer.Rate()))
	var g errgroup.Group
	for range c.cfg.Concurrency {
		g.Go(func() error {
			for {
				select {
				case <-stopCtx.Done():
					return nil
				case queue <- struct{}{}:
				}
				var req *mark.Request
				var ok bool
				select {
				case <-stopCtx.Done():
					<-queue
					return nil
				case req, ok = <-reqs:
					if !ok {
						<-queue
						return nil
					}
				}
				out, err := c.send(stopCtx, wireCtx, req, func() { <-queue })
				done(req, out)
				if err != nil {
					stop(err)
					return nil
				}
			}
		})
	}
	g.Wait()
	if cause := context.Cause(stopCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return ctx.Err()
}

// send delivers one planned request, retrying what can be retried: the
// whole request, or only its items that the answer says to retry, in a new
// request of the same user. It returns one outcome per item and, when the
// API answered with a fatal code, a *mark.FatalError.
//
// An item's outcome is Sent only when the API answered for it (ok, or a
// code that fails it), or when it reached the API and still failed after
// the last attempt. An item not confirmed when the run stops is unsent,
// whatever answers it had before: its row is sent again by --resume.
func (c *Client) send(stopCtx, wireCtx context.Context, req *mark.Request, paced func()) ([]mark.Outcome, error) {
	released := false
	release := func() {
		if !released {
			released = true
			paced()
		}
	}
	defer release() // a request stopped before the pacer let it go
	out := make([]mark.Outcome, len(req.Items))
	pending := make([]int, len(req.Items))
	for i := range pending {
		pending[i] = i
	}
	var itemFatal *mark.FatalError
	res := c.retry(stopCtx, release, func() attempt {
		resp, a := c.post(wireCtx, req.From, req.Items, pending)
		if a.left {
			for _, i := range pending {
				out[i].Attempts++
			}
		}
		if a.class != OK {
			return a
		}
		// The request went through; look at every item, matched by its
		// conversation, never by position.
		results := make(map[mark.Conversation]ResultItem, len(resp.ResultItem))
		for _, r := range resp.ResultItem {
			results[conversationOf(r.ContactItem)] = r
		}
		still := pending[:0]
		again := attempt{class: OK, left: true, status: a.status}
		for _, i := range pending {
			it := &req.Items[i]
			r, ok := results[it.Conv]
			code, info := r.ResultCode, r.ResultInfo
			if !ok {
				code, info = CodeNoResult, "the answer has no result for this conversation"
			}
			switch cl := ClassifyCode(code); cl {
			case OK:
				out[i].Sent, out[i].Code, out[i].Message = true, 0, ""
			case Throttled, Transient:
				still = append(still, i)
				if again.class != Throttled {
					again.class = cl
				}
				again.code, again.msg = code, apiMessage(code, info)
			case Fatal, SigExpired:
				// A fatal code on an item (edition, permissions) will be the
				// same for every other item: stop instead of a flood.
				out[i].Sent, out[i].Code, out[i].Message = true, code, apiMessage(code, info)
				if itemFatal == nil {
					itemFatal = &mark.FatalError{Code: code, Info: Redact(info), Hint: Hint(code)}
				}
			default:
				out[i].Sent, out[i].Code, out[i].Message = true, code, apiMessage(code, info)
			}
		}
		pending = still
		if itemFatal != nil {
			return attempt{class: Fatal, fatal: itemFatal, code: itemFatal.Code, msg: apiMessage(itemFatal.Code, itemFatal.Info), left: true, status: a.status}
		}
		return again
	})
	last := res.last
	for _, i := range pending {
		o := &out[i]
		o.Code = last.code
		switch {
		case res.end == gaveUp:
			o.Sent = o.Attempts > 0
			o.Message = fmt.Sprintf("gave up after %d attempts: %s", c.cfg.MaxAttempts, last.msg)
		case res.end == failed:
			o.Sent, o.Message = true, last.msg
		case res.end == stopped && last.msg == "":
			o.Code, o.Message = 0, "not sent: the run stopped"
		case res.end == stopped:
			o.Message = "not retried: the run stopped; last answer: " + last.msg
		case last.fatal != nil && last.fatal.Code == mark.CodeUnreachable:
			o.Code, o.Message = CodeTransport, "not sent: "+last.fatal.Error()
		case last.fatal == itemFatal:
			o.Message = "not retried: the run stopped on API error " + strconv.Itoa(last.code)
		default: // a fatal answer to the whole request
			o.Sent, o.Message = true, last.msg
		}
	}
	if res.end == fatal {
		return out, last.fatal
	}
	return out, nil
}

// attempt is what one try of a call came to, at the level of the whole
// request.
type attempt struct {
	// class is OK when the answer is usable (for a write: every item has
	// its outcome, or those left are to be retried as class says).
	class Class
	code  int
	msg   string // for the report: never holds a secret
	// left is true when the request reached the wire: false when no
	// connection could be made.
	left bool
	// status is the HTTP status of an answer, 0 when none came.
	status int
	// connErr is the error of a failure to connect.
	connErr error
	fatal   *mark.FatalError
}

// ending is how a retried call ended.
type ending int

const (
	ended   ending = iota // an answer to act on (ok, or partly)
	failed                // the API refused the whole request: carry on
	gaveUp                // still retryable after MaxAttempts
	stopped               // the run stopped before it was done
	fatal                 // an answer that stops the run
)

// result is a retried call's end and its last attempt.
type result struct {
	end  ending
	last attempt
}

// retry is the one retry loop of the client, for writes and reads alike,
// in the manner of rclone's pacer.Call: try makes one attempt and says
// what its answer means; the loop owns everything else. Each attempt waits
// for the pacer; a throttled answer slows the pacer for every worker; a
// transient one is tried again after a full-jitter backoff, up to
// MaxAttempts; an expired usersig is renewed and tried again at once, up
// to maxRenewals times in a row;
// a fatal answer, or an endpoint never reached, ends the call. Sleeps end
// when ctx does. paced, when not nil, is called once the first attempt is
// past the pacer.
func (c *Client) retry(ctx context.Context, paced func(), try func() attempt) result {
	renewals := 0
	var last attempt
	for n := 1; ; n++ {
		if n > 1 {
			if n > c.cfg.MaxAttempts {
				return result{gaveUp, last}
			}
			c.ctr.Retries.Add(1)
			if err := sleepCtx(ctx, c.backoff(n-1)); err != nil {
				return result{stopped, last}
			}
		}
		if err := c.pacer.Wait(ctx); err != nil {
			return result{stopped, last}
		}
		if paced != nil {
			paced() // once: the call is past the pacer's queue
			paced = nil
		}
		a := try()
		if fe := c.reach.observe(a, c); fe != nil {
			a.fatal = fe
			return result{fatal, a}
		}
		switch a.class {
		case OK:
			return result{ended, a}
		case ItemFailed:
			return result{failed, a}
		case Throttled:
			c.ctr.Throttled.Add(1)
			c.pacer.Throttled()
		case SigExpired:
			if renewals < maxRenewals && c.renewSig() {
				// A renewed signature is not a retry of the request.
				renewals++
				n--
				continue
			}
			a.fatal = &mark.FatalError{Code: a.code, Info: a.msg, Hint: Hint(a.code)}
			return result{fatal, a}
		case Fatal:
			if a.fatal == nil {
				a.fatal = &mark.FatalError{Code: a.code, Info: a.msg, Hint: Hint(a.code)}
			}
			return result{fatal, a}
		}
		c.log.Debug("retrying", "attempt", n, "reason", a.msg)
		last = a
	}
}

// maxRenewals is how many times in a row one call renews an expired
// usersig. A usersig's time is in whole seconds, so one made late in a
// second lives up to a second less than its lifetime, and on a slow path a
// renewed one can be refused again; a server that refuses three fresh ones
// in a row has a clock far from this machine's, which no retry mends.
const maxRenewals = 3

// pacerQueue is how many requests may wait at the pacer: a tenth of a
// second of them at the rate, at least 4.
func pacerQueue(rate float64) int {
	return max(4, int(rate/10))
}

// reachability tells an endpoint that was never reached from one that
// fails for a while. Before any answer came, a few failures to connect in
// a row (refused, unknown host, TLS) stop the run: retrying every request
// six times would only take minutes to say the same. After an answer,
// failures to connect are transient, and a warning says when they persist.
type reachability struct {
	answered atomic.Bool
	failures atomic.Int32 // failures to connect since the last answer
	warned   atomic.Int64 // when the last warning was logged (Unix ns)
}

// unreachableAfter is how many failures to connect, with no answer ever,
// stop the run.
const unreachableAfter = 3

// observe takes one attempt into account, and returns the fatal error of
// an endpoint never reached.
func (r *reachability) observe(a attempt, c *Client) *mark.FatalError {
	if a.status != 0 {
		r.answered.Store(true)
		r.failures.Store(0)
		return nil
	}
	if a.connErr == nil {
		return nil
	}
	n := r.failures.Add(1)
	if !r.answered.Load() {
		if n >= unreachableAfter {
			return &mark.FatalError{Code: mark.CodeUnreachable, Info: c.base.Redacted() + ": " + a.msg,
				Hint: "check --endpoint or --region, the network, and any proxy or firewall in between"}
		}
		return nil
	}
	now := time.Now().UnixNano()
	if last := r.warned.Load(); n >= 10 && now-last > int64(10*time.Second) && r.warned.CompareAndSwap(last, now) {
		c.log.Warn("the API cannot be reached: requests are retried", "endpoint", c.base.Redacted(), "failures_in_a_row", n, "err", a.msg)
	}
	return nil
}

// classify is the one pure classification of an attempt at the level of
// the request, for every API the client calls: the transport outcome (err,
// HTTP status; env is nil when no answer parsed) and the answer's
// ErrorCode. It returns the class, the code and a report message (never
// holding a secret).
func classify(status int, err error, env *envelope) (Class, int, string) {
	if err != nil || status != http.StatusOK || env == nil {
		class, msg := classifyTransport(status, err)
		return class, CodeTransport, msg
	}
	code := env.ErrorCode
	if code == 0 && env.ActionStatus != "" && env.ActionStatus != "OK" {
		code = CodeTransport
	}
	if code == 0 {
		return OK, 0, ""
	}
	return ClassifyCode(code), code, apiMessage(code, env.ErrorInfo)
}

// envelope is the request-level part of every API answer.
type envelope struct {
	ActionStatus string
	ErrorCode    int
	ErrorInfo    string
}

// apiMessage is the report's message for an API code.
func apiMessage(code int, info string) string {
	if info == "" {
		return "API error " + strconv.Itoa(code)
	}
	return Redact(info)
}

// backoff returns the full-jitter delay before retry number n (from 1).
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.Backoff.Base << min(n-1, 20)
	if d <= 0 || d > c.cfg.Backoff.Cap {
		d = c.cfg.Backoff.Cap
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// renewSig asks the credentials for a new usersig after the server said the
// current one expired. Many workers see the expiry at once; the first renews
// and the others, within a quarter second, use its new usersig. A later
// renewal than needed is harmless: making a usersig costs microseconds.
func (c *Client) renewSig() bool {
	c.sigMu.Lock()
	defer c.sigMu.Unlock()
	if time.Since(c.sigRenewed) < 250*time.Millisecond {
		return true
	}
	if !c.cfg.Credentials.Renew() {
		return false
	}
	c.sigRenewed = time.Now()
	c.log.Info("usersig renewed after the server said it expired")
	return true
}

// URL returns the request URL of an API path with the credentials and a
// fresh random number. It holds the usersig: never print it unredacted.
func (c *Client) URL(path string) (string, error) {
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

// post sends the pending items of one request and decodes the answer.
func (c *Client) post(ctx context.Context, from string, items []mark.Item, pending []int) (*Response, attempt) {
	body := MarkContactRequest{FromAccount: from, MarkItem: make([]MarkItem, len(pending))}
	for k, i := range pending {
		body.MarkItem[k] = markItem(&items[i])
	}
	var resp Response
	a := c.exchange(ctx, PathMarkContact, &body, &resp, func() *envelope {
		return &envelope{resp.ActionStatus, resp.ErrorCode, resp.ErrorInfo}
	})
	return &resp, a
}

// errNotJSON marks a 200 answer whose body is not a JSON object.
var errNotJSON = errors.New("answer is not JSON")

// exchange POSTs a JSON body to an API path, decodes a JSON answer into
// out and classifies the attempt; env gives the envelope of out once it is
// decoded.
func (c *Client) exchange(ctx context.Context, path string, body, out any, env func() *envelope) attempt {
	status, left, err := c.do(ctx, path, body, out)
	var e *envelope
	if err == nil && status == http.StatusOK {
		e = env()
	}
	class, code, msg := classify(status, err, e)
	a := attempt{class: class, code: code, msg: msg, left: left, status: status}
	if err != nil && !left {
		a.connErr = err
	}
	return a
}

// do makes one HTTP exchange. It returns the HTTP status (0 without an
// answer), whether the request reached the wire (false when no connection
// could be made), and an error when no usable answer came.
func (c *Client) do(ctx context.Context, path string, body, out any) (int, bool, error) {
	u, err := c.URL(path)
	if err != nil {
		return 0, false, err
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return 0, false, err
	}
	// The pacer's hard ceiling is applied once the request has a connection,
	// right before it is written: what leaves then is what the server counts.
	var left atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			t, err := c.pacer.Admit(ctx)
			if err != nil {
				return
			}
			left.Store(true)
			c.ctr.MarkSend(t)
			if c.cfg.OnDeparture != nil {
				c.cfg.OnDeparture(t)
			}
		},
	})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(buf))
	if err != nil {
		return 0, false, errors.New(redactErr(err))
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := c.http.Do(hreq)
	if left.Load() {
		c.ctr.HTTPRequests.Add(1)
	}
	if err != nil {
		return 0, left.Load() && !connectFailed(err), err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, 16<<20))
	if err != nil {
		return 0, true, err
	}
	if hresp.StatusCode != http.StatusOK {
		return hresp.StatusCode, true, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return http.StatusOK, true, fmt.Errorf("HTTP 200 with a body that is not a JSON answer: %w", errNotJSON)
	}
	return hresp.StatusCode, true, nil
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
