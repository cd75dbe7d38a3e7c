// Package timeline records how a run sent, second by second, for the
// summary and the sign-off page: requests put on the wire, items the API
// confirmed or refused, throttled answers, and the latency of the answers
// (p50 and p99), per interval since the run started.
//
// Its size is bounded whatever the run's length: it starts with one-second
// intervals and, when a run outlasts 600 of them, merges neighbours two
// by two (the interval doubles), so a series never holds more than 600
// points. Latency is counted in a histogram per interval whose
// bins grow by 10% (128 of them span 1 ms to about three minutes), so two
// intervals merge exactly and a percentile is within 5% of the true one.
//
// A Recorder is fed by the sender's answers (Exchange) and the pipeline's
// outcomes (Items), from many goroutines; Series is what it holds, as the
// summary's JSON carries it, and Check is how a series read back from a
// summary file is believed or refused.
//
// It imports nothing of the project.
package timeline
