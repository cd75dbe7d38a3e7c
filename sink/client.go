package sink

import (
	"bytes"
	"context"
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
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline"
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
	Counters *pipeline.Counters
	Log      *slog.Logger
	// HTTPClient overrides the keep-alive client the Client builds.
	HTTPClient *http.Client
}

// Client sends mark_contact requests. It implements pipeline.Sender.
type Client struct {
	cfg   Config
	base  *url.URL
	http  *http.Client
	pacer *Pacer
	ctr   *pipeline.Counters
	log   *slog.Logger

	sigMu      sync.Mutex
	sigRenewed time.Time
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
	if c.ctr == nil {
		c.ctr = &pipeline.Counters{}
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

// Send implements pipeline.Sender: workers take requests from reqs and send
// each, with retries, through the one pacer. When ctx is done, or a fatal
// answer arrives, no new request is started; requests already on the wire
// finish (bounded by the request timeout) and are reported.
func (c *Client) Send(ctx context.Context, reqs <-chan *pipeline.Request, done func(*pipeline.Request, []pipeline.Outcome)) error {
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// In-flight HTTP requests are not cut by a stop: their answer tells
	// what the server did, which the report must say.
	wireCtx := context.WithoutCancel(ctx)
	var g errgroup.Group
	for range c.cfg.Concurrency {
		g.Go(func() error {
			for {
				var req *pipeline.Request
				var ok bool
				select {
				case <-stopCtx.Done():
					return nil
				case req, ok = <-reqs:
					if !ok {
						return nil
					}
				}
				out, err := c.send(stopCtx, wireCtx, req)
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

// send delivers one planned request, retrying what can be retried. It returns
// one outcome per item and, when the API answered with a fatal code, a
// *pipeline.FatalError.
func (c *Client) send(stopCtx, wireCtx context.Context, req *pipeline.Request) ([]pipeline.Outcome, error) {
	out := make([]pipeline.Outcome, len(req.Items))
	pending := make([]int, len(req.Items))
	for i := range pending {
		pending[i] = i
	}
	// Outcomes of items still pending when we give up.
	giveUp := func(code int, msg string, sent bool) {
		for _, i := range pending {
			out[i].Sent = out[i].Sent || sent
			if out[i].Sent {
				out[i].Code, out[i].Message = code, msg
			} else {
				out[i].Code, out[i].Message = 0, msg
			}
		}
		pending = nil
	}
	sigRetried := false
	lastCode, lastMsg := 0, ""
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			if attempt > c.cfg.MaxAttempts {
				giveUp(lastCode, fmt.Sprintf("gave up after %d attempts: %s", c.cfg.MaxAttempts, lastMsg), true)
				break
			}
			c.ctr.Retries.Add(1)
			if err := sleepCtx(stopCtx, c.backoff(attempt-1)); err != nil {
				giveUp(lastCode, "not retried: the run stopped; last answer: "+lastMsg, false)
				break
			}
		}
		if err := c.pacer.Wait(stopCtx); err != nil {
			msg := "not sent: the run stopped"
			if lastMsg != "" {
				msg = "not retried: the run stopped; last answer: " + lastMsg
			}
			giveUp(lastCode, msg, false)
			break
		}
		for _, i := range pending {
			out[i].Sent = true
			out[i].Attempts++
		}
		resp, status, err := c.post(wireCtx, req.From, req.Items, pending)
		var env *envelope
		if resp != nil {
			env = &envelope{resp.ActionStatus, resp.ErrorCode, resp.ErrorInfo}
		}
		v, code, msg, fe := c.judge(status, err, env, &sigRetried)
		switch v {
		case retryLater:
			lastCode, lastMsg = code, msg
			c.log.Debug("retrying request", "from", req.From, "attempt", attempt, "reason", msg)
			continue
		case retryNow:
			attempt-- // a renewed signature is not a retry of the request
			for _, i := range pending {
				out[i].Attempts--
			}
			continue
		case failed:
			giveUp(code, msg, true)
			continue
		case stop:
			giveUp(code, msg, true)
			return out, fe
		}
		// The request went through; look at every item.
		results := make(map[pipeline.Conversation]ResultItem, len(resp.ResultItem))
		for _, r := range resp.ResultItem {
			results[conversationOf(r.ContactItem)] = r
		}
		still := pending[:0]
		throttled := false
		var fatal *pipeline.FatalError
		for _, i := range pending {
			it := &req.Items[i]
			r, ok := results[it.Conv]
			code, info := r.ResultCode, r.ResultInfo
			if !ok {
				code, info = CodeNoResult, "the answer has no result for this conversation"
			}
			switch ClassifyCode(code) {
			case OK:
				out[i].Code, out[i].Message = 0, ""
			case Throttled:
				throttled = true
				still = append(still, i)
				lastCode, lastMsg = code, apiMessage(code, info)
			case Transient:
				still = append(still, i)
				lastCode, lastMsg = code, apiMessage(code, info)
			case Fatal, SigExpired:
				// A fatal code on an item (edition, permissions) will be the
				// same for every other item: stop instead of a flood.
				out[i].Code, out[i].Message = code, apiMessage(code, info)
				if fatal == nil {
					fatal = &pipeline.FatalError{Code: code, Info: info, Hint: Hint(code)}
				}
			default:
				out[i].Code, out[i].Message = code, apiMessage(code, info)
			}
		}
		if throttled {
			c.ctr.Throttled.Add(1)
			c.pacer.Throttled()
		}
		pending = still
		if fatal != nil {
			giveUp(fatal.Code, "not retried: the run stopped on API error "+strconv.Itoa(fatal.Code), true)
			return out, fatal
		}
	}
	return out, nil
}

// envelope is the request-level part of every API answer.
type envelope struct {
	ActionStatus string
	ErrorCode    int
	ErrorInfo    string
}

// verdict is what one attempt's answer means for the request as a whole.
type verdict int

const (
	answered   verdict = iota // a usable answer: look at what it holds
	retryLater                // throttled or transient: retry after a backoff
	retryNow                  // a renewed usersig: retry, not counted as an attempt
	failed                    // the API refused the whole request: carry on
	stop                      // a fatal answer: stop the run
)

// judge is the one classification of an attempt at the request level, for
// every API the client calls: the transport outcome (err, HTTP status; env
// is nil when no answer parsed) and the answer's ErrorCode. On the way it
// slows the pacer when throttled and renews the usersig once on expiry
// (sigRetried). It returns the code and a report message, which never
// holds a secret, and for stop the *pipeline.FatalError.
func (c *Client) judge(status int, err error, env *envelope, sigRetried *bool) (verdict, int, string, *pipeline.FatalError) {
	if err != nil || status != http.StatusOK || env == nil {
		class, msg := classifyTransport(status, err)
		switch class {
		case Throttled:
			c.ctr.Throttled.Add(1)
			c.pacer.Throttled()
		case Fatal:
			return stop, CodeTransport, msg, &pipeline.FatalError{Code: CodeTransport, Info: msg, Hint: "check --endpoint / --region"}
		}
		return retryLater, CodeTransport, msg, nil
	}
	code := env.ErrorCode
	if code == 0 && env.ActionStatus != "" && env.ActionStatus != "OK" {
		code = CodeTransport
	}
	if code == 0 {
		return answered, 0, "", nil
	}
	msg := apiMessage(code, env.ErrorInfo)
	switch ClassifyCode(code) {
	case Throttled:
		c.ctr.Throttled.Add(1)
		c.pacer.Throttled()
		return retryLater, code, msg, nil
	case Transient:
		return retryLater, code, msg, nil
	case SigExpired:
		if !*sigRetried && c.renewSig() {
			*sigRetried = true
			return retryNow, code, msg, nil
		}
		return stop, code, msg, &pipeline.FatalError{Code: code, Info: Redact(env.ErrorInfo), Hint: Hint(code)}
	case Fatal:
		return stop, code, msg, &pipeline.FatalError{Code: code, Info: Redact(env.ErrorInfo), Hint: Hint(code)}
	}
	return failed, code, msg, nil
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
func (c *Client) post(ctx context.Context, from string, items []pipeline.Item, pending []int) (*Response, int, error) {
	body := MarkContactRequest{FromAccount: from, MarkItem: make([]MarkItem, len(pending))}
	for k, i := range pending {
		body.MarkItem[k] = markItem(&items[i])
	}
	var resp Response
	status, err := c.call(ctx, PathMarkContact, &body, &resp)
	if err != nil || status != http.StatusOK {
		return nil, status, err
	}
	return &resp, status, nil
}

// errNotJSON marks a 200 answer whose body is not a JSON object.
var errNotJSON = errors.New("answer is not JSON")

// call POSTs a JSON body to an API path and decodes a JSON answer into out.
// It returns the HTTP status; a 200 whose body does not decode returns status
// 200 with a nil error and out untouched is reported by a nil Response, so
// it is signalled by errNotJSON wrapped as a transport-level problem.
func (c *Client) call(ctx context.Context, path string, body, out any) (int, error) {
	u, err := c.URL(path)
	if err != nil {
		return 0, err
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	// The pacer's hard ceiling is applied once the request has a connection,
	// right before it is written.
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			c.pacer.Admit(ctx)
			c.ctr.MarkSend(time.Now())
		},
	})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(buf))
	if err != nil {
		return 0, errors.New(redactErr(err))
	}
	hreq.Header.Set("Content-Type", "application/json")
	c.ctr.HTTPRequests.Add(1)
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return 0, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, 16<<20))
	if err != nil {
		return 0, err
	}
	if hresp.StatusCode != http.StatusOK {
		return hresp.StatusCode, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return 0, fmt.Errorf("HTTP 200 with a body that is not a JSON answer: %w", errNotJSON)
	}
	return hresp.StatusCode, nil
}
