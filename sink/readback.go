package sink

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"markimport/pipeline/mark"
)

// SearchContactGroupRequest is the body of a search_contact_group request:
// one user and 1..mark.MaxSearchItems conversations.
type searchContactGroupBody struct {
	FromAccount string        `json:"From_Account"`
	ContactItem []wireContact `json:"ContactItem"`
}

// parseStandardMark reads the StandardMark of a read API's answer in the
// service's bit order (Config.BitOrder): the API's documentation calls it a
// bit string and never says which end is bit 0, so the order is what
// markimport preflight found on the service and wrote in its profile. Any
// length up to 64 is accepted ("" is no marks); another character is an
// error, and so is reading without an order.
func parseStandardMark(s string, o mark.BitOrder) (uint64, error) {
	return mark.ParseStandardMark(s, o)
}

// ReadClient reads marks back with search_contact_group. The read APIs have
// a limit of their own (200 calls/s, counted apart from mark_contact's), so
// a ReadClient is a Client of its own with its own pacer at the read rate:
// reads never take the import's quota, and are paced to theirs. It
// implements mark.MarkReader.
type ReadClient struct {
	c     *Client
	queue chan struct{} // reads waiting at the pacer
	// latency is a moving average of a read's time from the pacer to its
	// answer, in nanoseconds (0 until the first answer).
	latency atomic.Int64
}

// NewReadClient checks the configuration and returns a read client. Rate
// is the read rate; MaxAttempts, Timeout, Counters and the backoff apply to
// reads as they do to sends.
func NewReadClient(cfg Config) (*ReadClient, error) {
	if cfg.BitOrder != mark.BitZeroLast && cfg.BitOrder != mark.BitZeroFirst {
		return nil, errors.New("reading marks back needs the service's bit order of StandardMark: give --profile, made by markimport preflight")
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &ReadClient{c: c, queue: make(chan struct{}, pacerQueue(c.pacer.pace()))}, nil
}

// Latency is how long a read takes from the moment the pacer lets it go
// to its answer (a moving average; 0 before the first answer): what a
// caller reading ahead of its writes must cover.
func (r *ReadClient) Latency() time.Duration { return time.Duration(r.latency.Load()) }

// Search implements mark.MarkReader with one search_contact_group
// request, retried as Send retries mark_contact: throttled answers slow the
// pacer and retry, transient ones and answers that break the documented
// shape (answer.go) retry with backoff up to MaxAttempts, an expired
// usersig is renewed, and a fatal code returns a *mark.FatalError. Any
// other code, or attempts spent, is a *mark.ReadError for these
// conversations only; the marks are returned only from an answer read
// whole.
func (r *ReadClient) Search(ctx context.Context, from string, convs []mark.Conversation) (map[mark.Conversation]mark.ServerMarks, error) {
	c := r.c
	if n := len(convs); n == 0 || n > mark.MaxSearchItems {
		return nil, fmt.Errorf("search_contact_group: %d conversations; 1-%d are allowed", n, mark.MaxSearchItems)
	}
	body := searchContactGroupBody{FromAccount: from, ContactItem: make([]wireContact, len(convs))}
	for i, cv := range convs {
		body.ContactItem[i] = contactItem(cv)
	}
	// Like writes, at most a few reads wait at the pacer; the others wait
	// here, so that a read that leaves is answered soon after it was
	// asked for.
	select {
	case r.queue <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	released := false
	var left time.Time
	release := func() {
		if !released {
			released = true
			left = time.Now()
			<-r.queue
		}
	}
	defer release()
	var got map[mark.Conversation]mark.ServerMarks
	res := c.retry(ctx, release, func() attempt {
		var marks map[mark.Conversation]mark.ServerMarks
		a := c.exchange(ctx, pathSearchContactGroup, &body, func(b []byte) (answerHead, error) {
			h, m, err := decodeSearchAnswer(b, from, convs, c.cfg.BitOrder)
			marks = m
			return h, err
		})
		if a.class == classOK {
			got = marks
		}
		return a
	})
	if res.end == ended && !left.IsZero() {
		d := int64(time.Since(left))
		if old := r.latency.Load(); old != 0 {
			d = old + (d-old)/10
		}
		r.latency.Store(d)
	}
	switch res.end {
	case ended:
		return got, nil
	case stopped:
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("stopped")
	case fatal:
		return nil, res.last.fatal
	case gaveUp:
		return nil, &mark.ReadError{Code: res.last.code, Message: fmt.Sprintf("gave up after %d attempts: %s", c.cfg.MaxAttempts, res.last.msg)}
	}
	return nil, &mark.ReadError{Code: res.last.code, Message: res.last.msg}
}
