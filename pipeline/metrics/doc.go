// Package metrics exposes what a validate, run or verify did to a
// monitoring system, after Prometheus' guidance for batch jobs: the key
// number is when the job last succeeded, beside how much it did.
//
// Values holds the numbers; the caller takes them from the same counters
// as the command's summary (mark.Counters while the command runs, the
// summary at its end), so that the metrics and the summary cannot
// disagree. gather turns them into metric families in a registry of their
// own (never the global one, which would add the Go runtime's metrics).
//
// Two ways out, each for one side of the monitoring:
//
//   - WriteFile writes the node_exporter textfile collector's format
//     (Prometheus text), whole or not at all through pipeline/durable: a
//     collector scraping at any moment reads the previous file or the new
//     one, never a torn one. Every metric carries a command label, so that
//     the files of validate, run and verify can sit in one collector
//     folder.
//   - Push sends them to a Pushgateway, grouped by job, command and
//     instance. Every push replaces that group whole (PUT): adding to it
//     (POST) would leave an earlier run's family beside this run's numbers
//     wherever this run has no series of it (no throttles, no requests).
//     The last-success time is in a group of its own (the same labels and
//     outcome="success"), which only a success replaces, so that the
//     gateway keeps the previous success's through any failure. The
//     textfile keeps it the same way: the caller reads the last-success
//     time of the file it replaces (LastSuccess) and writes it again
//     unless this run succeeded.
//
// The metrics, each with the summary field it is taken from:
//
//	markimport_last_success_timestamp_seconds   end of the last run that exited 0
//	markimport_exit_code                        exit_code, at the end
//	markimport_stage_duration_seconds{stage}    elapsed_seconds (total), read_seconds (read), send_seconds (send)
//	markimport_rows_total{status}               statuses (state hits: status="unchanged")
//	markimport_http_requests_total{code}        http_requests_by_code (0, an API code, -1, -2, http_429)
//	markimport_throttles_total{code}            throttled_by_code
//	markimport_items_sent_total                 items_sent
//	markimport_retries_total                    retries
//	markimport_requests_saved_total             requests_saved
//
// The names follow Prometheus' conventions: the markimport_ prefix,
// snake_case, the unit in the name (_seconds, _timestamp_seconds) and
// _total on counters. No value or label holds a credential: the numbers
// are counts, durations and codes, and the push URL's user and password go
// in the request's Authorization header, never in an error.
//
// The package imports pipeline/durable of the project, and the Prometheus
// client library.
package metrics
