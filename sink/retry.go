package sink

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
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

// codeKey is the key of the try's answer in the counters by code: its
// code, or "http_STATUS" when the HTTP status was not 200 (a 429 has no
// API code).
func (a *attempt) codeKey() string {
	if a.status != 0 && a.status != http.StatusOK {
		return "http_" + strconv.Itoa(a.status)
	}
	return strconv.Itoa(a.code)
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

// retry is the one retry loop of the client, for writes and reads alike: try
// makes one attempt and says what its answer means; the loop owns everything
// else. Each attempt waits for the pacer. A throttled answer tells the
// pacer, which slows every worker; while the pacer is slowing down (or
// already has, for this request) the try is not an attempt of the item:
// throttling says the server did not look at the request, and the pace, not
// the item, was wrong. Only a throttle at the slowest pace, where the server
// still refuses, spends an attempt. A transient answer is tried again after
// a full-jitter backoff, up to MaxAttempts; a Retry-After on a 429 or 503
// holds every worker that long (capped at maxRetryAfter). An expired usersig
// is renewed and tried again at once, up to maxRenewals times in a row. A
// fatal answer, or an endpoint that never answered, ends the call. Sleeps
// end when ctx does. paced, when not nil, is called once the first attempt
// is past the pacer.
func (c *Client) retry(ctx context.Context, paced func(), try func() attempt) result {
	renewals, spent, free, tries := 0, 0, 0, 0
	var last attempt
	again := false // the next try is a retry, after a backoff
	for {
		retrying := again
		if again {
			if spent >= c.cfg.MaxAttempts {
				return result{gaveUp, last, tries}
			}
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
		if a.left && c.cfg.OnAnswer != nil {
			c.cfg.OnAnswer(a.sent, time.Since(a.sent), a.class == classThrottled)
		}
		if retrying && a.left {
			// A retry counts once it is on the wire, as HTTP requests
			// do: one whose connection failed is neither.
			c.ctr.Retries.Add(1)
		}
		if a.left {
			c.ctr.Answers.Add(a.codeKey(), 1)
		}
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
			c.ctr.Throttled.Add(a.codeKey(), 1)
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
