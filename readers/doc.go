// Package readers turns import files (CSV and Parquet) into a stream of
// records, each with its 1-based row number and the raw text of the columns
// markimport knows. It does not validate values: that belongs to the
// pipeline. A row that cannot be read as a record (a wrong number of fields,
// a broken quote) is still returned, with Problem set, so that it can be
// reported instead of dropped; only an unreadable file stops the stream.
//
// It owns what an --input names (a file, standard input, a folder of part
// files with Hive-style key=value folders, a glob), the order in which the
// files are read (the order of the --input values, then natural name
// order: data_2 before data_10), the formats and their compression (gzip,
// zstd), the bounds on what a record keeps, and the messages that quote a
// value from a file. It imports nothing of the project: the pipeline and
// the reports import it.
//
// # Parquet
//
// A Parquet file is read a batch of 16,384 rows at a time, and only its
// known columns, each column chunk streamed through a 256 KiB buffer, so
// memory does not grow with the file. It must be a file that can be seeked
// (not standard input, a pipe or a device). Before the footer is decoded,
// the framing is checked so that the common ways of not being Parquet get a
// one-line message: an empty file, a file that does not start with PAR1 (a
// CSV named .parquet), one whose last four bytes are not PAR1 (truncated),
// and an encrypted one (PARE), which is refused. A panic of the Parquet
// library on a malformed file is recovered into an *InputError.
//
// The Parquet library (arrow-go v18.8.0) accepts some damaged pages without
// an error and decodes them into wrong values. The known case is a
// DELTA_BINARY_PACKED page of a required INT32 column whose header has been
// damaged to declare a count of 0 values and a first value of 0, while the
// page holds 100: the library only checks that the declared count is not
// above the page's number of values, and so returns 100 zeros instead of
// the real ids (and its low-level batch reader never returns on that column
// chunk). TestParquetStatsCorruptDeltaPage writes such a column and
// damages its page header the same way. Importing marks for the wrong users is worse than
// stopping, so every decoded value of the id columns (from_account,
// to_account, to_group_id) is checked against the min/max statistics of its
// column chunk, and a value outside them stops the file with an input error
// naming the row, the column, the row group and the bounds ("row group 1
// of 1 (numbered from 1): decoded value "0" is outside the statistics of
// its column chunk (min "1", max "105")"). List columns (set_mark,
// clear_mark) are read by this package's own level decoder, which refuses
// a page that decodes to fewer or more values than its definition levels
// declare.
//
// Statistics are trusted only where they can be: the library reads the
// min_value/max_value fields only when the file declares a column order,
// and otherwise falls back to the deprecated min/max fields, which old
// writers computed with signed comparisons; so the deprecated ones are
// trusted for signed integer columns only, and unsigned integers and byte
// arrays need min_value/max_value. The library also drops the statistics of
// writer versions known to compute them wrong, and malformed statistics are
// not trusted. The empty string is never checked: arrow-go's own writer
// leaves empty values out of the statistics of dictionary columns, so a
// valid file can hold "" below its minimum.
//
// What the check cannot catch: wrong values that fall within [min, max];
// files without statistics, or with only the deprecated fields on text or
// unsigned columns; empty strings; and the columns type, opt_type and
// custom_mark, which are not checked. It costs a few nanoseconds a value
// (BenchmarkParquetStatsCheck measures it with the check on and off).
package readers
