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
// value from a file. It imports nothing of the project but its own
// package objstore (the s3:// client): the pipeline and the reports import
// it.
//
// # CSV
//
// RFC 4180, UTF-8 with an optional byte order mark, a header row required;
// lines end in \n, \r\n or \r; .csv.gz and .csv.zst are decompressed by
// their extension, concatenated gzip members included (a truncated stream,
// or bytes after the end of a gzip stream, is an input error naming the
// codec and the byte offset). The delimiter is one ASCII character
// (--delimiter, or Excel's sep= first line). The encoding is judged on a
// file's first 64 KiB: UTF-16 and UTF-32, GB18030 (GBK, GB2312) and
// Shift-JIS are input errors that name the encoding and the iconv command;
// other bytes that are not UTF-8 (a stray byte, Latin-1, or such bytes
// later in the file) make their rows invalid.
//
// A plain CSV file on local disk (not compressed, not standard input, not
// an object) of over 8 MiB of rows is parsed in parallel chunks of 4 MiB
// from 4 cores (GOMAXPROCS) up, with the rows, row numbers, line numbers
// and errors of the one-thread reader whatever its quotes (csvpar.go says
// how); below 4 cores it is read by one goroutine, because the pipeline's
// read stage already keeps 2 cores busy and the parallel parse measured
// slower there (parallelCSV gives the figures).
//
// # Files, folders and globs
//
// --input takes a file, a folder (every data file beneath it) or a glob
// matched here (*, ?, [a-z] within a name, ** for any folders; a folder it
// matches is read whole). Files are read one at a time in natural name
// order, folder by folder (data_2 before data_10, part-00009 before
// part-00010), rows in file order, as one file. Names starting with . or _
// (_SUCCESS, _committed_*, _temporary/, .part-0.crc), *.crc and empty files
// are skipped; the others must be .csv, .tsv, .txt, .parquet, .pq (.gz,
// .zst for CSV) or extensionless (Hive's 000000_0, told by Parquet's magic
// bytes); anything else (README.md), no data file or two formats is an
// input error naming them.
//
// Hive partitions: a folder key=value under the input's folder (or the
// glob's first wildcard folder) gives column key to the files that lack it,
// URL-decoded (a%20b is "a b"; __HIVE_DEFAULT_PARTITION__ is empty); keys
// that are not columns (date=2026-12-01) are ignored. A file that has the
// column (DuckDB's WRITE_PARTITION_COLUMNS) must agree with its folder,
// spaces aside but in custom_mark, an empty cell only with a null folder,
// else the row is invalid; two folder names giving one column two values
// (from_account=a/FromAccount=b/) are an input error.
//
// Symlinks are followed as find -L does; a loop, a second way into a
// folder or a dangling link is an input error, and so is one file reached
// by two paths (a hard link, a.csv and ./a.csv, a folder and a glob),
// told by device and inode, and a folder or a glob's root written with
// ".." after a symbolic link (lnk/../e: the files beneath it would be
// opened by paths cleaned as text, ./e's). The reports of several files
// name each row's file relative to the input folder or the glob's root
// (the folder before its first wildcard), or as given; with several
// --input values, by its path as the input reached it (that folder or
// root before it). Two files of one name are an input error.
//
// An --input starting with s3:// names an object, a prefix or a glob in a
// bucket, resolved by the same rules (a key's segments are its folders)
// and read by the same readers, CSV streamed and Parquet by ranged reads
// (objects.go, objectwalk.go); the client of the store (package objstore)
// is made only when an input names an object. Its requests are made under
// the context the input is resolved and opened with (ResolveInputContext,
// OpenContext): a cancelled run ends a read that waits on a store that
// stopped answering. A stream that breaks off is an input error naming
// the object, never a shorter input, and a part can be read again by
// position (Part.OpenSource), a local file or an object alike.
//
// # Bounds
//
// Any input, hostile ones included, is read in bounded memory (limits.go):
// a record keeps at most 1 KiB of a column markimport reads (a known one,
// or one a mapping file names: Options.Extra), 64 KiB of one it ignores (it only goes back into a rejects file), the header's field
// count plus 64 fields, and 128 elements of a Parquet list; more makes the
// record one invalid row whose message gives the size and a short prefix.
// 16 million empty fields (a 16 KB .csv.gz), a 300 MB field or a 10 MB
// account each take under 100 MiB. A header of over 65,536 columns, or a
// column name over 64 KiB, is an input error ("is this a CSV file?").
// Parquet lists are decoded 8,192 levels at a time (a row of 60 million
// elements: 0.4 s, 5 MiB of heap), but a text value is decoded whole with
// its page: 10 MB strings peak at about 160 MiB.
//
// # Columns a mapping file names
//
// Options.Extra names columns to read beside the known ones, by name as
// the header's are matched: a mapping file's source columns (starred,
// is_group), in CSV by header and in Parquet as a projection of those
// columns (text, integers, and booleans read "true" or "false"). They come
// in Record.Extra; Options.Replaced keeps a file's column from being read
// as a known column the mapping makes itself, and Options.Reshape, applied
// by an Input's reader to every record, makes the known columns from them.
// The mapping itself is not this package's: it only reads.
//
// # Parquet
//
// Any writer (pyarrow, Spark, Hive, DuckDB, parquet-go, Arrow), any codec
// (snappy, gzip, zstd, brotli, lz4 in its Hadoop framing and LZ4_RAW,
// none), data pages v1 and v2. The column types read:
//
//   - from_account, to_account, to_group_id, custom_mark: string,
//     large_string, string_view, binary, large_binary (bytes verbatim:
//     invalid UTF-8 is reported invalid), dictionary-encoded strings, or
//     any integer width; read as the text.
//   - type, opt_type: any integer width, signed or unsigned (read as
//     decimal text), or a string (c2c, group, 1).
//   - set_mark, clear_mark: list<int*>, large_list, fixed_size_list, the
//     legacy 2-level and the Spark/Hive/Avro list layouts, read as [1,2]
//     ([] for an empty list); or a string in the CSV forms (names
//     included).
//   - any column: null is empty.
//
// Another type (from_account as double, set_mark as list<string>) is an
// input error naming the column and the type, before any row is read. A Parquet file is read
// a batch of 16,384 rows at a time, and only its known columns, each column
// chunk streamed through a 256 KiB buffer, so memory does not grow with the
// file. It must be a file that can be seeked (not standard input, a pipe or
// a device). Before the footer is decoded, the framing is checked so that
// the common ways of not being Parquet get a one-line message: an empty
// file, a file that does not start with PAR1 (a CSV named .parquet), one
// whose last four bytes are not PAR1 (truncated), and an encrypted one
// (PARE), which is refused. A panic of the Parquet library on a malformed
// file is recovered into an *InputError.
//
// A damaged page can decode without an error into wrong values: the
// Parquet library verifies no page checksum (which many writers leave out
// anyway), and a byte changed inside a page can read as another value, in
// an uncompressed page as in a snappy one (snappy keeps no checksum: one
// bit changed in a page turns "user0" into "urer0").
// TestParquetStatsCorruptPlainValue sets the first byte of a PLAIN page's
// first from_account to 0, and the library reads 0 where the file held 1.
// Up to v18.8.0 the library also read a DELTA_BINARY_PACKED page whose
// header declares 0 of its 100 values as 100 zeros (a file of the fuzz
// corpus of apache/arrow-testing); v18.9.0 refuses that page, and
// TestParquetCorruptDeltaPage keeps it refused. Importing marks for the
// wrong users is worse than stopping, so every decoded value of the id
// columns (from_account, to_account, to_group_id) is checked against the
// min/max statistics of its column chunk, and a value outside them stops
// the file with an input error naming the row, the column, the row group
// and the bounds ("row group 1 of 1 (numbered from 1): decoded value "0"
// is outside the statistics of its column chunk (min "1", max "100")").
// List columns (set_mark, clear_mark) are read by this package's own
// level decoder, which refuses a page that decodes to fewer or more values
// than its definition levels declare. So are the known columns of plain
// text (a string or binary byte array, not nested), whose values are
// checked against the statistics as they are decoded, and of which only
// the part a record keeps is copied.
//
// Statistics are trusted only where they can be: the library reads the
// min_value/max_value fields only when the file declares a column order,
// and otherwise falls back to the deprecated min/max fields, which old
// writers computed with signed comparisons; so the deprecated ones are
// trusted for signed integer columns only, and unsigned integers and byte
// arrays need min_value/max_value. The library also drops the statistics of
// writer versions known to compute them wrong, and malformed statistics are
// not trusted. The empty string is never checked: arrow-go's own writer,
// up to v18.8.0, left empty values out of the statistics of dictionary
// columns, so a valid file can hold "" below its minimum.
//
// What the check cannot catch: wrong values that fall within [min, max];
// files without statistics, or with only the deprecated fields on text or
// unsigned columns; empty strings; and the columns type, opt_type and
// custom_mark, which are not checked. It costs about 2.7 ns a string
// value, 2-3% of a Parquet read's CPU (BenchmarkParquetStatsCheck measures
// it with the check on and off).
package readers
