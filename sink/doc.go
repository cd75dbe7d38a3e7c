// Package sink is markimport's client of the IM REST API: mark_contact to
// write marks (Client) and search_contact_group to read them back for
// verify (ReadClient).
//
// It owns everything about the wire: the request types, the decoding and
// checking of every answer in one place (answer.go: nothing incomplete,
// duplicated or malformed is believed), the URL with its credentials (sent
// to the endpoint only: no redirect is followed), the usersig and its
// renewal, the endpoint of each region, the pacer, the pure classification
// of every answer (retry, fail the item, stop the run), the one retry loop,
// and the matching of results to items by conversation, never by position.
// Client.Send returns exactly one outcome per item, so the pipeline can
// report every input row; its shape is the pipeline's sender interface,
// which the client satisfies without importing it.
//
// sink imports, of the project, only pipeline/mark (the domain: items,
// outcomes, counters, fatal errors) and sink/usersig; never the pipeline,
// the readers or Arrow.
//
// A transient answer (a timeout, a reset, HTTP 5xx, a body not JSON, an
// answer that breaks the API's shape, the codes classify.go lists) is
// retried with exponential backoff and full jitter: a random delay below
// min(10 s, 200 ms·2^(attempt-1)), up to --max-attempts tries. An answer
// over 16 MiB is not believed.
//
// # Pacing
//
// The server allows a number of calls in each second (200 for
// mark_contact, the --rate) and refuses the next one with a throttle. One
// Pacer, shared by every worker of a Client, keeps what leaves under that
// whatever the number of workers and however the scheduler bunches them:
//
//   - A token bucket of burst 1 spaces departures evenly at the rate less
//     the margin (99.2% of it at the default margin, DefaultMargin, 0.008).
//   - A ring of the latest departures lets at most the rate (rounded down)
//     leave in any sliding window of 1/(1-margin) seconds: 1.008 s at the
//     default. Two requests can then only fall into one second of the
//     server if the earlier one was delayed margin/(1-margin) seconds (8 ms
//     at the default) more than the later one on its way, so timer jitter,
//     GC pauses and slow dials do not push a second over the limit. A
//     jittery network wants a larger margin (--rate-margin 0.02 allows
//     20 ms for 2% of the quota).
//   - A departure is counted at the request's first write on its
//     connection, in the goroutine that writes it (departure.go), not when
//     net/http hands a connection over, so that the count and the bytes are
//     not parted. The transport speaks HTTP/1.1, one request at a time on a
//     keep-alive connection, for the same reason; requests the transport
//     re-sends on a fresh connection are counted too.
//
// When the server throttles anyway (another client shares the quota, or the
// rate is above it), a throttle answered to a request that left at the pace
// in force lowers the pace of every worker, and the ring's ceiling with it:
// to how many of the requests that left in the second before it the server
// took, less the margin, when that is under nine tenths of the pace; by 1%
// otherwise (a bunch that arrived together, or another client's share);
// never below a twentieth of the rate less the margin. Throttles of
// requests that left before the pace was lowered, or within a second
// after, change nothing: the server's window still held the faster
// requests. After a quiet second the pace climbs back by a twentieth of
// the rate less the margin every half second up to the pace learned at the
// last throttle, then by 1% of that a second up to the rate less the
// margin, so that a raised quota is found again and one that was not is
// rarely tripped. A throttled try that the pacer answered
// by slowing down is not an attempt of the item (at most 50 such tries a
// call): only a throttle at the slowest pace spends one.
//
// A Retry-After header on a 429 or a 503 holds every worker that long,
// 30 s at most; a longer one is taken as 30 s.
//
// The pacer knows nothing of an earlier run's departures, while the server
// counts calls per second whoever makes them. So the client reports the
// time of each departure to Config.OnDeparture, and holds every request
// until Config.NotBefore. The command keeps the latest departure in the
// report's pace file (REPORT.pace: 20 decimal digits of nanoseconds since
// 1970 and a line end, overwritten in place at each departure) and starts
// a run on the same report no earlier than one window after it; a pace file
// that is torn, garbled or dated in the future is not believed, and the run
// waits one window from now instead.
//
// ReadClient reads through a pacer of its own, at the read API's rate.
package sink
