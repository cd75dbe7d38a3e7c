package sink

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// newHTTPClient returns the HTTP client of a Client: cfg.HTTPClient when
// set (with cfg.Timeout when it has no timeout of its own), else a
// keep-alive client of its own; either way one that follows no redirect.
func newHTTPClient(cfg Config) *http.Client {
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
	return &hc
}
