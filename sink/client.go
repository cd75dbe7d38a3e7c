package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"markimport/pipeline/mark"
)

// backoffPolicy sets the delays between retries: full jitter, a random delay in
// [0, min(Cap, Base·2^(attempt-1))).
type backoffPolicy struct {
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
	backoff backoffPolicy
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
	// OnAnswer, when set, is called once for every request that left, when
	// its try ends: when it left, how long it took (an answer, or a try
	// given up on), and whether the answer was a throttle. The run's
	// timeline counts them.
	OnAnswer func(sent time.Time, took time.Duration, throttled bool)
	// BitOrder is which end of a read answer's StandardMark is bit 0, as
	// the service profile says; a ReadClient needs it (the writes do not).
	BitOrder mark.BitOrder
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
	c.http = newHTTPClient(cfg)
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
