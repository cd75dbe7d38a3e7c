package fakeim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// API names one of the emulated endpoints (the last path element).
type API string

// The emulated APIs, each under /v4/recentcontact/.
const (
	MarkContact        API = "mark_contact"
	SearchContactGroup API = "search_contact_group"
	GetContactGroup    API = "get_contact_group"
)

// Fault names a kind of injected failure.
type Fault string

// The injectable faults; see the Config fields of the same names.
const (
	// FaultHTTP502 is a bare HTTP 502 (Config.HTTP502Rate).
	FaultHTTP502 Fault = "http502"
	// FaultTransient is a request answered 50004 or 70500
	// (Config.TransientRate).
	FaultTransient Fault = "transient"
	// FaultItemTransient is one item answered 50004 or 50005
	// (Config.ItemTransientRate); counted per item.
	FaultItemTransient Fault = "item_transient"
	// FaultLostResponse is a request applied and then left unanswered
	// (Config.LostResponseRate).
	FaultLostResponse Fault = "lost_response"
)

// APIStats counts one API's traffic.
type APIStats struct {
	// Requests is every HTTP request to the API's path.
	Requests int64
	// Accepted is the requests the rate limiter let through.
	Accepted int64
	// Throttled is the requests answered 60007.
	Throttled int64
	// Faults is the requests that met an injected fault (transient
	// error, HTTP 502, lost response).
	Faults int64
	// MaxPerSecond is the most requests, throttled ones included, that
	// arrived in any sliding one-second window.
	MaxPerSecond int
}

// Stats is a snapshot of the emulator's counters.
type Stats struct {
	// Requests is every HTTP request, unknown paths included.
	Requests int64
	// Accepted and Throttled are summed over the APIs.
	Accepted, Throttled int64
	// MaxPerSecond is APIs[MarkContact].MaxPerSecond: the most
	// mark_contact requests, throttled ones included, that arrived in any
	// sliding one-second window.
	MaxPerSecond int
	// NotFound is the requests to unknown paths (answered HTTP 404).
	NotFound int64
	// Abandoned is the accepted requests whose client went away before
	// they were processed (mid-body or during Config.Latency); none of them
	// was applied.
	Abandoned int64
	// InFlight is the requests being served now (waiting out
	// Config.Latency included).
	InFlight int64
	// APIs breaks the traffic down per API.
	APIs map[API]APIStats
	// Faults counts the injected faults by kind.
	Faults map[Fault]int64
	// ItemsApplied is the mark_contact items whose change was applied.
	ItemsApplied int64
	// ItemsFailed is the mark_contact items answered with a non-zero
	// ResultCode, injected item faults included.
	ItemsFailed int64
	// ErrorCodes counts the non-zero request-level ErrorCodes by code.
	ErrorCodes map[int]int64
	// ResultCodes counts the non-zero item-level ResultCodes by code.
	ResultCodes map[int]int64
	// MalformedRequests counts request-level answers only a client bug
	// causes: 50002, 51006, 60002 and 60012.
	MalformedRequests int64
	// MalformedItems counts items answered ResultCode 50002.
	MalformedItems int64
}

// String is a compact one-line summary, suitable for a log.
func (st Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fakeim: %d requests (%d accepted, %d throttled, peak %d/s mark_contact)",
		st.Requests, st.Accepted, st.Throttled, st.MaxPerSecond)
	fmt.Fprintf(&b, ", items %d applied %d failed", st.ItemsApplied, st.ItemsFailed)
	for _, api := range []API{SearchContactGroup, GetContactGroup} {
		if a := st.APIs[api]; a.Requests > 0 {
			fmt.Fprintf(&b, ", %s %d requests (%d throttled, peak %d/s)", api, a.Requests, a.Throttled, a.MaxPerSecond)
		}
	}
	if st.MalformedRequests+st.MalformedItems > 0 {
		fmt.Fprintf(&b, ", MALFORMED %d requests %d items", st.MalformedRequests, st.MalformedItems)
	}
	if st.Abandoned > 0 {
		fmt.Fprintf(&b, ", %d abandoned by the client", st.Abandoned)
	}
	if st.NotFound > 0 {
		fmt.Fprintf(&b, ", %d not found", st.NotFound)
	}
	if len(st.ErrorCodes) > 0 {
		b.WriteString(", errors")
		for _, code := range slices.Sorted(maps.Keys(st.ErrorCodes)) {
			fmt.Fprintf(&b, " %d=%d", code, st.ErrorCodes[code])
		}
	}
	if len(st.ResultCodes) > 0 {
		b.WriteString(", item codes")
		for _, code := range slices.Sorted(maps.Keys(st.ResultCodes)) {
			fmt.Fprintf(&b, " %d=%d", code, st.ResultCodes[code])
		}
	}
	if len(st.Faults) > 0 {
		b.WriteString(", faults")
		for _, f := range slices.Sorted(maps.Keys(st.Faults)) {
			fmt.Fprintf(&b, " %s=%d", f, st.Faults[f])
		}
	}
	return b.String()
}

// counters is the mutable side of Stats.
type counters struct {
	mu                sync.Mutex
	requests          int64
	notFound          int64
	abandoned         int64
	inFlight          int64
	apis              map[API]APIStats
	faults            map[Fault]int64
	itemsApplied      int64
	itemsFailed       int64
	errorCodes        map[int]int64
	resultCodes       map[int]int64
	malformedRequests int64
	malformedItems    int64
}

func (c *counters) update(f func(c *counters)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apis == nil {
		c.apis = make(map[API]APIStats)
		c.faults = make(map[Fault]int64)
		c.errorCodes = make(map[int]int64)
		c.resultCodes = make(map[int]int64)
	}
	f(c)
}

func (c *counters) api(api API, f func(a *APIStats)) {
	a := c.apis[api]
	f(&a)
	c.apis[api] = a
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	var st Stats
	s.stats.update(func(c *counters) {
		st = Stats{
			Requests:          c.requests,
			NotFound:          c.notFound,
			Abandoned:         c.abandoned,
			InFlight:          c.inFlight,
			APIs:              make(map[API]APIStats, len(s.windows)),
			Faults:            copyCounts(c.faults),
			ItemsApplied:      c.itemsApplied,
			ItemsFailed:       c.itemsFailed,
			ErrorCodes:        copyCounts(c.errorCodes),
			ResultCodes:       copyCounts(c.resultCodes),
			MalformedRequests: c.malformedRequests,
			MalformedItems:    c.malformedItems,
		}
		for api := range s.windows {
			st.APIs[api] = c.apis[api]
		}
	})
	for api, w := range s.windows {
		a := st.APIs[api]
		a.MaxPerSecond = w.peak()
		st.APIs[api] = a
		st.Accepted += a.Accepted
		st.Throttled += a.Throttled
	}
	st.MaxPerSecond = st.APIs[MarkContact].MaxPerSecond
	return st
}

// copyCounts returns a copy of a counter map that is never nil.
func copyCounts[K comparable](m map[K]int64) map[K]int64 {
	if m == nil {
		return map[K]int64{}
	}
	return maps.Clone(m)
}
