package sink

import (
	"fmt"
	"math"
	"time"
)

// Defaults of the client.
const (
	DefaultRate        = 200
	DefaultMaxAttempts = 6
	// DefaultTimeout is above the server's own 3 s so a slow answer is not
	// cut short and then sent again.
	DefaultTimeout = 10 * time.Second
)

// Bounds of the settings a user types; New refuses anything outside them,
// and the command line says which flag and which range.
const (
	// maxRate bounds the rate, in requests per second. The API allows 200
	// calls/s per app; a quota can be raised on request, and 10,000/s is
	// fifty times the documented one. Above it a typing slip (1e9) would
	// size the pacer's ring (a time per request of the rate) and the
	// default worker pool by the slip.
	maxRate = 10000
	// maxConcurrency bounds the requests in flight: maxRate answered in
	// 0.4 s. The default, DefaultConcurrency, is at most 1024.
	maxConcurrency = 4096
	// maxAttemptsLimit bounds the tries of one item.
	maxAttemptsLimit = 100
	// minTimeout and maxTimeout bound the timeout of one request. The
	// server takes up to 3 s itself; a timeout below that cuts slow answers
	// short, and one of minutes only delays what a dead endpoint says.
	minTimeout = time.Second
	maxTimeout = 10 * time.Minute
	// maxRetryAfter caps the wait a Retry-After header of a 429 or 503 may
	// impose on every worker: a longer one is taken as this.
	maxRetryAfter = 30 * time.Second
)

// DefaultConcurrency is enough requests in flight that a server answering in
// about a second still gets the full rate, and at most 1024.
func DefaultConcurrency(rate float64) int {
	if !(rate > 0) { // NaN too
		rate = DefaultRate
	}
	return min(1024, max(16, int(min(rate, maxRate))+16))
}

// CheckRate refuses a rate that is not a finite number in (0, 10,000].
func CheckRate(r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 || r > maxRate {
		return fmt.Errorf("want requests per second above 0 and at most %d", maxRate)
	}
	return nil
}

// CheckMargin refuses a margin outside [0, 0.5).
func CheckMargin(m float64) error {
	if math.IsNaN(m) || m < 0 || m >= maxMargin {
		return fmt.Errorf("want a share of the rate from 0 up to, not including, %g (e.g. 0.008)", maxMargin)
	}
	return nil
}

// CheckConcurrency refuses a number of requests in flight outside
// [1, 4096].
func CheckConcurrency(n int) error {
	if n < 1 || n > maxConcurrency {
		return fmt.Errorf("want 1 to %d requests in flight", maxConcurrency)
	}
	return nil
}

// CheckMaxAttempts refuses a number of tries outside [1, 100].
func CheckMaxAttempts(n int) error {
	if n < 1 || n > maxAttemptsLimit {
		return fmt.Errorf("want 1 to %d tries", maxAttemptsLimit)
	}
	return nil
}

// CheckTimeout refuses a request timeout outside [1s, 10m].
func CheckTimeout(d time.Duration) error {
	if d < minTimeout || d > maxTimeout {
		return fmt.Errorf("want %v to %v", minTimeout, maxTimeout)
	}
	return nil
}
