// Package readers turns import files (CSV and Parquet) into a stream of
// records, each with its 1-based row number and the raw text of the columns
// markimport knows. It does not validate values: that belongs to the
// pipeline. A row that cannot be read as a record (a wrong number of fields,
// a broken quote) is still returned, with Problem set, so that it can be
// reported instead of dropped; only an unreadable file stops the stream.
package readers
