package sink

import (
	"fmt"
	"sync/atomic"
	"time"

	"markimport/pipeline/mark"
)

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
