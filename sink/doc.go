// Package sink is markimport's client of the IM REST API's mark_contact
// call. It owns everything about the wire: request types, the decoding and
// checking of every answer in one place (answer.go: nothing incomplete,
// duplicated or malformed is believed), the URL with its credentials (sent
// to the endpoint only: no redirect is followed), the endpoint of each
// region, one pacer shared by every worker so that the server never sees
// more than the allowed rate, the classification of every answer (retry,
// fail the item, stop the run), retries with backoff, and the matching of
// results to items by conversation.
// It returns exactly one outcome per item, so the pipeline can report every
// input row. ReadClient reads marks back with search_contact_group for
// verify, through a pacer of its own (the read API has its own limit).
package sink
