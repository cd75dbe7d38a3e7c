package timeline

import "fmt"

// Series is a run's sending over time: one point per interval of
// IntervalSeconds from the run's start, the last one possibly partial.
type Series struct {
	IntervalSeconds int64   `json:"interval_seconds"`
	Points          []Point `json:"points"`
}

// Point is what one interval counted.
type Point struct {
	// AtSeconds is when the interval begins, in seconds since the start.
	AtSeconds int64 `json:"at_seconds"`
	// Requests put on the wire (retries included), and how many of their
	// answers were throttles.
	Requests  int64 `json:"requests"`
	Throttled int64 `json:"throttled"`
	// Items the API confirmed, and items that failed (refused, or given
	// up on after their attempts).
	ItemsOK     int64 `json:"items_ok"`
	ItemsFailed int64 `json:"items_failed"`
	// LatencyP50 and LatencyP99 are the answers' latency percentiles in
	// milliseconds (0 when no answer came in the interval).
	LatencyP50 float64 `json:"latency_p50_ms"`
	LatencyP99 float64 `json:"latency_p99_ms"`
}

// Check refuses a series that a recorder cannot have made: read back from
// a summary file, it is believed only whole and in range.
func (s *Series) Check() error {
	if s == nil {
		return nil
	}
	if s.IntervalSeconds < 1 || s.IntervalSeconds&(s.IntervalSeconds-1) != 0 {
		return fmt.Errorf("timeline: interval_seconds %d is not a power of two seconds", s.IntervalSeconds)
	}
	if len(s.Points) == 0 || len(s.Points) > maxPoints {
		return fmt.Errorf("timeline: %d points, not 1 to %d", len(s.Points), maxPoints)
	}
	for i, p := range s.Points {
		switch {
		case p.AtSeconds != int64(i)*s.IntervalSeconds:
			return fmt.Errorf("timeline: point %d begins at %d s, not %d", i, p.AtSeconds, int64(i)*s.IntervalSeconds)
		case p.Requests < 0 || p.Throttled < 0 || p.ItemsOK < 0 || p.ItemsFailed < 0 || p.Throttled > p.Requests:
			return fmt.Errorf("timeline: point %d has counts out of range (%+v)", i, p)
		case p.LatencyP50 < 0 || p.LatencyP99 < p.LatencyP50:
			return fmt.Errorf("timeline: point %d has latencies out of order (p50 %g ms, p99 %g ms)", i, p.LatencyP50, p.LatencyP99)
		}
	}
	return nil
}
