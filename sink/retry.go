package sink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"markimport/pipeline/mark"
)

// attempt is what one try of a call came to, at the level of the whole
// request.
type attempt struct {
	// class is OK when the answer is usable (for a write: every item has
	// its outcome, or those left are to be retried as class says).
	class class
	code  int
	msg   string // for the report: never holds a secret
	// left is true when the request reached the wire: false when no
	// connection could be made.
	left bool
	// sent is when the pacer let the request leave (zero when it did not).
	sent time.Time
	// status is the HTTP status of an answer, 0 when none came.
	status int
	// noAnswer is true when the try ended without an HTTP answer for a
	// reason other than the run's own stop: a failure to connect, a
	// timeout, a connection reset or closed.
	noAnswer bool
	// connectFailed is true when no connection could be made at all.
	connectFailed bool
	// retryAfter is the wait a 429 or 503 asked for (capped), or 0.
	retryAfter time.Duration
	fatal      *mark.FatalError
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

// result is a retried call's end, its last attempt, and how many tries it
// made.
type result struct {
	end   ending
	last  attempt
	tries int
}

// maxFreeThrottles bounds the throttled tries of one call that do not
// count as attempts, so that a server that throttles and un-throttles
// forever still ends the call.
const maxFreeThrottles = 50

// retry is the one retry loop of the client, for writes and reads alike:
// try makes one attempt and says what its answer means; the loop owns
// everything else. Each attempt waits
// for the pacer. A throttled answer tells the pacer, which slows every
// worker; while the pacer is slowing down (or already has, for this
// request) the try is not an attempt of the item: throttling says the
// server did not look at the request, and the pace, not the item, was
// wrong. Only a throttle at the slowest pace, where the server still
// refuses, spends an attempt. A transient answer is tried again after a
// full-jitter backoff, up to MaxAttempts; a Retry-After on a 429 or 503
// holds every worker that long (capped at maxRetryAfter). An expired
// usersig is renewed and tried again at once, up to maxRenewals times in a
// row. A fatal answer, or an endpoint that never answered, ends the call.
// Sleeps end when ctx does. paced, when not nil, is called once the first
// attempt is past the pacer.
func (c *Client) retry(ctx context.Context, paced func(), try func() attempt) result {
	renewals, spent, free, tries := 0, 0, 0, 0
	var last attempt
	again := false // the next try is a retry, after a backoff
	for {
		if again {
			if spent >= c.cfg.MaxAttempts {
				return result{gaveUp, last, tries}
			}
			c.ctr.Retries.Add(1)
			if err := c.sleep(ctx, max(c.backoff(tries), last.retryAfter)); err != nil {
				return result{stopped, last, tries}
			}
		}
		if err := c.pacer.wait(ctx); err != nil {
			return result{stopped, last, tries}
		}
		if paced != nil {
			paced() // once: the call is past the pacer's queue
			paced = nil
		}
		a := try()
		tries++
		if fe := c.reach.observe(a, c); fe != nil {
			a.fatal = fe
			return result{fatal, a, tries}
		}
		if a.retryAfter > 0 {
			c.pacer.holdFor(a.retryAfter)
		}
		again = true
		switch a.class {
		case classOK:
			return result{ended, a, tries}
		case classItemFailed:
			return result{failed, a, tries}
		case classThrottled:
			c.ctr.Throttled.Add(1)
			if c.pacer.throttled(a.sent) && free < maxFreeThrottles {
				free++
			} else {
				spent++
			}
		case classSigExpired:
			if renewals < maxRenewals && c.renewSig() {
				// A renewed signature is not a retry of the request.
				renewals++
				tries--
				again = false
				continue
			}
			a.fatal = &mark.FatalError{Code: a.code, Info: a.msg, Hint: hint(a.code)}
			return result{fatal, a, tries}
		case classFatal:
			if a.fatal == nil {
				a.fatal = &mark.FatalError{Code: a.code, Info: a.msg, Hint: hint(a.code)}
			}
			return result{fatal, a, tries}
		default:
			spent++
		}
		c.log.Debug("retrying", "attempt", tries, "reason", a.msg)
		last = a
	}
}

// maxRenewals is how many times in a row one call renews an expired
// usersig. A usersig's time is in whole seconds, so one made late in a
// second lives up to a second less than its lifetime, and on a slow path a
// renewed one can be refused again; a server that refuses three fresh ones
// in a row has a clock far from this machine's, which no retry mends.
const maxRenewals = 3

// backoff returns the full-jitter delay before retry number n (from 1).
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.backoff.Base << min(max(n, 1)-1, 20)
	if d <= 0 || d > c.cfg.backoff.Cap {
		d = c.cfg.backoff.Cap
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// reachability tells an endpoint that never answered from one that fails
// for a while. Before any answer came, a few tries in a row without an
// answer stop the run: refused, unknown host, a TLS handshake that failed,
// and also a server that accepts connections and never answers (each such
// try ends at the request timeout). Retrying every request six times would
// only take minutes, or hours, to say the same. The requests in flight
// time out together, so a silent endpoint stops the run about one request
// timeout after the first request left, three at most (one request at a
// time). After an answer, tries without one are transient, and a warning
// says when they persist.
type reachability struct {
	answered   atomic.Bool
	failures   atomic.Int32 // tries without an answer since the last answer
	lastAnswer atomic.Int64 // when the last answer came (Unix ns)
	warned     atomic.Int64 // when the last warning was logged (Unix ns)
	quiet      time.Duration
}

// unreachableAfter is how many tries without an answer, with no answer
// ever, stop the run.
const unreachableAfter = 3

// quietWarning is how long answers may stop, once the API has answered,
// before a warning says so.
const quietWarning = 5 * time.Second

// observe takes one attempt into account, and returns the fatal error of
// an endpoint that never answered.
func (r *reachability) observe(a attempt, c *Client) *mark.FatalError {
	now := time.Now()
	if a.status != 0 {
		r.answered.Store(true)
		r.failures.Store(0)
		r.lastAnswer.Store(now.UnixNano())
		return nil
	}
	if !a.noAnswer {
		return nil
	}
	n := r.failures.Add(1)
	if !r.answered.Load() {
		if n < unreachableAfter {
			return nil
		}
		info := c.base.Redacted() + ": " + a.msg
		if !a.connectFailed {
			info = fmt.Sprintf("%s: no answer to %d requests in a row, each given --timeout %v (the last: %s)",
				c.base.Redacted(), n, c.cfg.Timeout, a.msg)
		}
		return &mark.FatalError{Code: mark.CodeUnreachable, Info: info,
			Hint: "check --endpoint or --region, the network, and any proxy or firewall in between"}
	}
	quiet := time.Duration(now.UnixNano() - r.lastAnswer.Load())
	if last := r.warned.Load(); (n >= 10 || quiet >= r.quiet) && now.UnixNano()-last > int64(10*time.Second) && r.warned.CompareAndSwap(last, now.UnixNano()) {
		c.log.Warn("the API cannot be reached: requests are retried", "endpoint", c.base.Redacted(),
			"no_answer_for", quiet.Round(100*time.Millisecond).String(), "tries_without_answer", n, "err", a.msg)
	}
	return nil
}
