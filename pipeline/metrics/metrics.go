package metrics

import (
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The metric names.
const (
	nameLastSuccess   = "markimport_last_success_timestamp_seconds"
	nameStageDuration = "markimport_stage_duration_seconds"
	nameRows          = "markimport_rows_total"
	nameHTTPRequests  = "markimport_http_requests_total"
	nameThrottles     = "markimport_throttles_total"
	nameRetries       = "markimport_retries_total"
	nameItemsSent     = "markimport_items_sent_total"
	nameRequestsSaved = "markimport_requests_saved_total"
	nameExitCode      = "markimport_exit_code"
)

// Values are what a command did, for its metrics.
type Values struct {
	// Command is validate, run or verify.
	Command string
	// Rows counts the rows reported, by status.
	Rows map[string]int64
	// HTTPRequests counts the requests that left by how their try ended
	// ("0", an API code, "-1", "-2", "http_429"); Throttled counts the
	// throttled ones among them, by the same codes.
	HTTPRequests map[string]int64
	Throttled    map[string]int64
	Retries      int64
	// ItemsSent is the items of the requests that left.
	ItemsSent int64
	// RequestsSaved is the requests not needed because the state found
	// the items unchanged since confirmed, or the server held them.
	RequestsSaved int64
	// Stages is the time taken, in seconds, by stage ("total", "read",
	// "send").
	Stages map[string]float64
	// ExitCode is the command's exit code once it ended; nil while it runs.
	ExitCode *int
	// LastSuccess is when the command last ended with exit code 0 (Unix
	// seconds; 0 when unknown, and then left out).
	LastSuccess float64
}

// succeeded reports whether the command ended with exit code 0.
func (v *Values) succeeded() bool { return v.ExitCode != nil && *v.ExitCode == 0 }

// gather is v as metric families, sorted by name, each metric carrying
// labels (the textfile's command label; none for a push, whose grouping
// says it). With lastSuccess false the last-success time is left out.
func gather(v Values, labels prometheus.Labels, lastSuccess bool) ([]*dto.MetricFamily, error) {
	reg := prometheus.NewRegistry()
	r := prometheus.WrapRegistererWith(labels, reg)
	byLabel := func(name, help, label string, counts map[string]int64) {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
		for _, k := range sortedKeys(counts) {
			c.WithLabelValues(k).Add(float64(counts[k]))
		}
		r.MustRegister(c)
	}
	counter := func(name, help string, n int64) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		c.Add(float64(n))
		r.MustRegister(c)
	}
	gauge := func(name, help string, x float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(x)
		r.MustRegister(g)
	}
	byLabel(nameRows, "Rows reported, by status.", "status", v.Rows)
	byLabel(nameHTTPRequests, "HTTP requests that left, by the code their try ended with (http_STATUS for an HTTP status other than 200).", "code", v.HTTPRequests)
	byLabel(nameThrottles, "Throttled answers, by code.", "code", v.Throttled)
	counter(nameRetries, "Requests sent again after a failed try.", v.Retries)
	counter(nameItemsSent, "Items of the requests that left.", v.ItemsSent)
	counter(nameRequestsSaved, "Requests not needed: items unchanged since the API confirmed them (--state), or already on the server.", v.RequestsSaved)
	stages := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameStageDuration, Help: "Time taken, by stage (total: the whole command; read: the input read whole before planning; send: the sending phase)."}, []string{"stage"})
	for _, s := range sortedKeys(v.Stages) {
		stages.WithLabelValues(s).Set(v.Stages[s])
	}
	r.MustRegister(stages)
	if v.ExitCode != nil {
		gauge(nameExitCode, "The command's exit code.", float64(*v.ExitCode))
	}
	if lastSuccess && v.LastSuccess > 0 {
		gauge(nameLastSuccess, "When the command last ended with exit code 0, in Unix seconds.", v.LastSuccess)
	}
	fams, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return fams, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
