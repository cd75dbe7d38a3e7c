package sink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/mark"
)

// backoff sets the delays between retries: full jitter, a random delay in
// [0, min(Cap, Base·2^(attempt-1))).
type backoff struct {
	Base time.Duration
	Cap  time.Duration
}

// Config configures a Client. Its zero values mean the defaults below;
// New refuses values outside the bounds the Check functions state.
type Config struct {
	// Endpoint is the base URL, e.g. https://console.tim.qq.com.
	Endpoint    string
	SDKAppID    uint64
	Admin       string
	Credentials Credentials
	// Rate is requests per second across all workers (default 200, at
	// most 10,000).
	Rate float64
	// Margin is the share of Rate left unused as headroom for jitter, in
	// [0, 0.5): 0 leaves none. The command line's default is
	// DefaultMargin (0.8%).
	Margin float64
	// Concurrency is the number of requests in flight (default
	// DefaultConcurrency, at most 4096).
	Concurrency int
	// MaxAttempts bounds the tries of one item (default 6). Throttled
	// tries that the pacer answered by slowing down are not counted (see
	// retry).
	MaxAttempts int
	// Timeout of one HTTP request (default 10 s).
	Timeout time.Duration
	// backoff spaces retries; tests in this package shorten it.
	backoff backoff
	// Counters, if set, receive request and retry counts.
	Counters *mark.Counters
	Log      *slog.Logger
	// HTTPClient overrides the keep-alive client the Client builds. The
	// Client uses a copy that follows no redirect, and that times out after
	// Timeout when it has no timeout of its own.
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

// Client sends mark_contact requests. Its Send method has the shape of the
// pipeline's sender interface, which it satisfies without importing it.
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
	// sleep waits between tries (tests record it instead).
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks the configuration and returns a client.
func New(cfg Config) (*Client, error) {
	base, err := checkEndpoint(cfg.Endpoint)
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
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, base: base, pacer: NewPacer(cfg.Rate, cfg.Margin), ctr: cfg.Counters, log: cfg.Log}
	c.pacer.holdUntil(cfg.NotBefore)
	c.reach.quiet = quietWarning
	c.sleep = sleepCtx
	if c.ctr == nil {
		c.ctr = &mark.Counters{}
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hc := http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			Proxy:       http.ProxyFromEnvironment,
			DialContext: pacedDialer(&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}),
			// HTTP/1.1 only: one request at a time on a connection, so that
			// the pacer admits each on its first write (departure.go).
			ForceAttemptHTTP2:     false,
			TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
			MaxIdleConns:          cfg.Concurrency + 16,
			MaxIdleConnsPerHost:   cfg.Concurrency + 16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
		},
	}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
		if hc.Timeout <= 0 {
			hc.Timeout = cfg.Timeout
		}
	}
	// No redirect is followed, whoever built the client: the request URL
	// holds the usersig, which goes to the endpoint and nowhere else. A
	// redirect comes back as the answer, and stops the run (redirectError).
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	return c, nil
}

// checkConfig fills in the defaults of cfg and refuses values out of
// bounds.
func checkConfig(cfg *Config) error {
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if err := CheckRate(cfg.Rate); err != nil {
		return fmt.Errorf("rate %g: %w", cfg.Rate, err)
	}
	if err := CheckMargin(cfg.Margin); err != nil {
		return fmt.Errorf("rate margin %g: %w", cfg.Margin, err)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency(cfg.Rate)
	}
	if err := CheckConcurrency(cfg.Concurrency); err != nil {
		return fmt.Errorf("concurrency %d: %w", cfg.Concurrency, err)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if err := CheckMaxAttempts(cfg.MaxAttempts); err != nil {
		return fmt.Errorf("max attempts %d: %w", cfg.MaxAttempts, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 || cfg.Timeout > maxTimeout {
		return fmt.Errorf("timeout %v: want up to %v", cfg.Timeout, maxTimeout)
	}
	if cfg.backoff.Base <= 0 {
		cfg.backoff.Base = 200 * time.Millisecond
	}
	if cfg.backoff.Cap <= 0 {
		cfg.backoff.Cap = 10 * time.Second
	}
	return nil
}

// Send is the pipeline's sender: workers take requests from reqs and send
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
	queue := make(chan struct{}, pacerQueue(c.pacer.pace()))
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
		results, a := c.post(wireCtx, req.From, req.Items, pending)
		if a.left {
			for _, i := range pending {
				out[i].Attempts++
			}
		}
		if a.class != classOK {
			return a
		}
		// The request went through; look at every item's checked result,
		// found by its conversation, never by position.
		still := pending[:0]
		again := attempt{class: classOK, left: true, status: a.status, sent: a.sent}
		for _, i := range pending {
			it := &req.Items[i]
			r := results[it.Conv]
			code, msg := r.code, apiMessage(r.code, r.info)
			if r.problem != nil {
				code, msg = codeProtocol, r.problem.Error()
			}
			switch cl := classifyCode(code); cl {
			case classOK:
				out[i].Sent, out[i].Code, out[i].Message = true, 0, ""
			case classThrottled, classTransient:
				still = append(still, i)
				if again.class != classThrottled {
					again.class = cl
				}
				again.code, again.msg = code, msg
			case classFatal, classSigExpired:
				// A fatal code on an item (edition, permissions) will be the
				// same for every other item: stop instead of a flood.
				out[i].Sent, out[i].Code, out[i].Message = true, code, msg
				if itemFatal == nil {
					itemFatal = &mark.FatalError{Code: code, Info: Redact(r.info), Hint: hint(code)}
				}
			default:
				out[i].Sent, out[i].Code, out[i].Message = true, code, msg
			}
		}
		pending = still
		if itemFatal != nil {
			return attempt{class: classFatal, fatal: itemFatal, code: itemFatal.Code, msg: apiMessage(itemFatal.Code, itemFatal.Info), left: true, status: a.status, sent: a.sent}
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
			o.Message = fmt.Sprintf("gave up after %d attempts: %s", res.tries, last.msg)
		case res.end == failed:
			o.Sent, o.Message = true, last.msg
		case res.end == stopped && last.msg == "":
			o.Code, o.Message = 0, "not sent: the run stopped"
		case res.end == stopped:
			o.Message = "not retried: the run stopped; last answer: " + last.msg
		case last.fatal != nil && last.fatal.Code == mark.CodeUnreachable:
			o.Code, o.Message = codeTransport, "not sent: "+last.fatal.Error()
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

// pacerQueue is how many requests may wait at the pacer: a tenth of a
// second of them at the rate, at least 4.
func pacerQueue(rate float64) int {
	return max(4, int(rate/10))
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
