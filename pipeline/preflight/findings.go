package preflight

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Findings is what preflight established about the service, as a profile
// stores it.
type Findings struct {
	// BitOrder is "bit-0-last" or "bit-0-first" (mark.BitOrder's names).
	BitOrder string `json:"bit_order"`
	// StandardMarkWidth is 64 when StandardMark is always 64 characters,
	// 0 when the zeros beyond the highest set bit are dropped.
	StandardMarkWidth int `json:"standard_mark_width"`
	// NoMarksReadAs is how a conversation whose marks were all cleared
	// reads: "empty" (""), "zeros" (only '0') or "absent" (not in the
	// answer).
	NoMarksReadAs string `json:"no_marks_read_as"`
	// SetAndClear is what one item that sets and clears the same bit does:
	// "refused NNNNN", "set-wins", "clear-wins" or "ignored".
	SetAndClear string `json:"set_and_clear"`
	// EmptyCustomClears reports that OptType 2 with CustomMark "" clears
	// the custom mark.
	EmptyCustomClears bool `json:"empty_custom_clears"`
	// CustomRoundTrip reports that a 256-byte custom mark, ASCII and
	// multi-byte UTF-8, reads back byte for byte.
	CustomRoundTrip bool `json:"custom_round_trip"`
	// UnknownFrom is what the service answers for a From_Account that was
	// never imported: "refused NNNNN" or "accepted".
	UnknownFrom string `json:"unknown_from"`
	// LatencyP50Ms and LatencyP99Ms are the round trips preflight saw, in
	// milliseconds.
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP99Ms float64 `json:"latency_p99_ms"`
	// Concurrency is the --concurrency that keeps enough requests in
	// flight to send at the quota at the p99 latency.
	Concurrency int `json:"concurrency_for_quota"`
}

// Check is one line of preflight's table.
type Check struct {
	Name string
	// Expected is what markimport can work with.
	Expected string
	Found    string
	// Consequence is what the finding means for an import.
	Consequence string
	// Fails is set when markimport cannot work with what was found.
	Fails bool
}

// concurrencyFor is the number of requests in flight that sends rate
// requests a second when each takes latency, with a quarter more for
// jitter, at least 1.
func concurrencyFor(rate float64, latency time.Duration) int {
	n := int(math.Ceil(rate * latency.Seconds() * 1.25))
	return max(n, 1)
}

// percentile returns the q-th quantile (0..1) of ds by the nearest-rank
// method; 0 for none.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

func refused(code int) string { return fmt.Sprintf("refused %d", code) }
