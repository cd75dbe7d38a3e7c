#!/usr/bin/env bash
# bench.sh — the figures of `make bench`, from one run, on a generated dataset.
#
#   make bench                      # N=1000000 RATE=200
#   make bench N=200000 RATE=150
#   N=1000000 RATE=200 ./scripts/bench.sh   # after make build
#
# Environment:
#   N             rows of the validate dataset (default 1000000)
#   RATE          --rate of the send run (default 200)
#   SEED          generator seed (default 1)
#   RUNS          timed runs of each validate and DuckDB scan, taking turns; the median counts (default 5)
#   SEND_SECONDS  the send dataset is sized for about this long at RATE (default 30)
#   BENCH_DIR     work directory; generated files are reused (default /tmp/markimport-bench)
#   PROFILE=1     also write a CPU profile of validate on the CSV and print its top functions
#   SHAPES=0      skip the validate comparison on other shapes of data (few users,
#                 one user per row, 32-hex-digit ids, 3 plain columns, all fields quoted)
#   PARTS         part files of the export the single file is compared with (default 64)
#   BACKUP=0      skip the cost of --backup (runs with and without it, scripts/bench-backup.sh)
#   SKIP=0        skip what --skip-unchanged saves (scripts/bench-skip.sh, about 8 minutes)
#   S3OUT=0       skip --backup and --state in object storage against on disk (scripts/bench-s3out.sh)
#
# It measures:
#   1. validate rows/s and peak RSS for the CSV and for the Parquet of the same rows;
#   2. DuckDB (@duckdb/node-api, pinned in scripts/package.json) scanning and
#      grouping the same files, and the wall-time ratio markimport/DuckDB
#      (< 1.0: markimport is faster); both timed as whole processes;
#   3. requests planned vs the lower bound and vs a file-order streamer, both
#      computed by `markgen -analyze` independently of the planner;
#   4. a real send against `markimport fake-server` at 100 ms latency: achieved
#      requests/s vs RATE, and the most requests the emulator saw in one second;
#   5. the time from SIGINT to exit in each stage (reading, planning, sending)
#      of a 6M-row CSV;
#   6. an export of PARTS part files validated against the single file;
#   7. the Parquet statistics check (go test -bench ParquetStatsCheck);
#   8. the cost of --backup and --mode insert (scripts/bench-backup.sh);
#   9. what --skip-unchanged saves on re-runs of an imported 1M-row file,
#      and its writes when 10% changed behind its back (scripts/bench-skip.sh).
#
# How to read the figures, and what they were compared with
# ----------------------------------------------------------
# 2026-12-06, a new machine: 2 cores of an Intel Xeon instead of an AMD
# EPYC. DuckDB runs the same queries there in about half the time (CSV
# 0.45-0.48 s against 0.86 s, Parquet 0.34-0.39 s against 0.65 s), while
# markimport's build of 2026-12-05 takes what it took (validate 0.46 s): the
# first run of this script that day (SHAPES=0 BACKUP=0 SKIP=0 S3OUT=0, load
# about 1) gave validate / DuckDB 0.95 / 0.99 (min / median of the pairs),
# with --report 0.98 / 1.14, Parquet 1.61 / 1.67. What that day changed,
# each against the build before, pairs in turns on the bench file:
#   - InputReader.Next passed its record's address to Options.Reshape, so
#     Go moved every record to the heap: 1M allocations of a 184-byte
#     Record per 1M rows, and three copies of it on the way to the read
#     stage. The read stage now decodes each record into its batch's slot
#     (InputReader.NextInto): CSV wall 0.76 (CPU 0.79), Parquet 0.89 (0.87),
#     9 pairs; the same report byte for byte;
#   - Parquet records carved from slabs, as CSV's are, and a text column
#     without nulls written without its validity bitmap: Parquet 0.96 (CPU
#     0.95), 9 pairs;
#   - files written through the local file layer start their writeback
#     every 4 MiB (sync_file_range), so the fsync before the report's
#     rename does not wait for 38 MB (21 ms): --report 0.96, 15 pairs.
# Tried and dropped that day, no change beyond the noise: the unquoted
# field's end found in one pass for a comma or a quote (BenchmarkCSVRead
# 17.1 ms either way) instead of two IndexByte calls; records validated
# where they are, through a pointer, instead of copied into the call (CPU
# 0.985, wall 0.996, 9 pairs); Parquet batches of 64K rows (wall 1.06, peak
# RSS +34 MiB) or 4K rows (1.03) against 16K; bits inside a list read
# without strconv (1.01); GOGC=400 (1.00).
# Then two runs of this script (load 1-2): validate / DuckDB 0.66 / 0.67 and
# 0.68 / 0.69, with --report 0.78 / 0.79 and 0.71 / 0.81, Parquet 1.38 /
# 1.43 and 1.34 / 1.39; validate 0.347-0.357 s, --report 0.414-0.422 s,
# DuckDB 0.501-0.528 s, Parquet 0.561-0.563 s against 0.401-0.406 s. With
# the read stage holding 16 batches (Parquet 0.965 against the build
# before, 2 x 9-11 pairs), a third run: 0.70 / 0.71, --report 0.76 / 0.82,
# Parquet 1.43 / 1.44 (DuckDB 0.368 s, faster that run). DuckDB's own
# time moves by a tenth from run to run here, so a median of the pairs
# moves by about 0.05: the README gives the three.
# Where the CPU goes, --cpuprofile of 4 runs merged, by goroutine: CSV
# --report: parsing 27%, validating 24%, grouping 13%, planning 31%
# (report lines 11%, decoding the groups 11%, PlanUser 7%), write
# syscalls 4%; reading took 0.23-0.28 s of 0.41-0.44 s (the log's "input
# read"), planning and writing the report the rest, with CPU at 1.75 times
# the wall time: both cores are busy, so only less CPU can help. Parquet:
# Arrow's decoding of the
# columns 36% (dictionary pages copied value by value into builders,
# with their null bitmaps: pqarrow's byte-array record reader), making
# records 10%, validating 14%, grouping 12%, planning 14%, allocation and
# GC 10%, most of it Arrow's; that decoding alone is about DuckDB's whole
# query (0.19 s inside node), so 0.8 is out of reach through Arrow. The
# low-level column reader (file.ByteArrayColumnChunkReader) would avoid
# the builders, but its values point into a page buffer that the next
# page overwrites: each would still be copied once, and nulls and row
# groups handled by hand.
# Later that day, a second round, each change against the build before,
# pairs in turns on the bench file (the report and the plan the same each
# time):
#   - the low-level reader, with that copy: the known text columns are
#     read a page at a time (ReadBatchInPage) and at most keepBytes of
#     each value copied into the batch, the id columns checked against
#     their statistics as they are decoded (readers/parquet_text.go):
#     Parquet wall 0.797, CPU 0.777 (11 pairs); its buffers handed from
#     one part file to the next (64 DuckDB parts against the single file
#     1.14 -> 0.92);
#   - a CSV record that is one plain line (no quote, nothing cut) copied
#     once and its fields sliced from it: BenchmarkCSVRead 16.5 -> 14.5 ms;
#   - each change encoded into its partition's 1 KiB stage before the
#     partition's blocks (pipeline/spill): BenchmarkStoreAdd 63-85 -> 35-44
#     ms per 1M changes;
#   - a user's unchanged items reported with its column and the outcome's
#     formatted once (report.CSV.AppendItemLines), and a field's need of
#     quotes found by a table (1.6 times faster).
# All of them against the build of the morning (0da27bd), 9-11 pairs:
# validate 0.953, --report 0.890, Parquet 0.784, night 2 of 2M rows 0.894.
# Three runs of this script then (SHAPES=0 BACKUP=0 SKIP=0 S3OUT=0, load
# 1-2; the first with a test run beside its parts section): validate /
# DuckDB 0.68, 0.73, 0.70 (medians of the pairs), --report 0.74, 0.75,
# 0.74, Parquet 1.08, 1.06, 1.13; validate 0.323-0.337 s, --report
# 0.334-0.374 s, DuckDB 0.440-0.507 s, Parquet 0.395-0.419 s against
# 0.358-0.393 s; 64 part files against one 0.99 (CSV) and 0.99 (Parquet).
# Then a record's Parquet text fields pointing into their batch's own
# memory instead of copied twice more (Parquet CPU 0.962, wall 0.954, 15
# pairs), and a fourth run: 0.69, --report 0.78 (DuckDB 0.439 s, its
# fastest), Parquet 1.08; parts 1.06 (CSV) and 1.02 (Parquet). Last,
# records validated through a pointer after all (dropped in the first
# round at CPU 0.985): --report CPU 0.966 and 0.968 (2 x 11 pairs), without
# a report 1.00. A fifth run, with the other shapes (BACKUP=0 SKIP=0
# S3OUT=0): validate 0.67, --report 0.75, Parquet 1.08; few users 0.79, a
# row per user 0.73, uuid ids 0.71, 3 plain columns 0.56, all quoted 0.74,
# each shape 0.92-0.96 of the morning's build (7 pairs in turns).
# Tried and dropped in that round (no gain beyond the noise): the stores'
# regions without huge pages (0.986; on this machine a huge page costs 7
# times as much to fault in as 512 small ones, but few are granted);
# planners 8 partitions ahead of emit instead of 2 (1.04); each user's
# changes gathered by index instead of sorted into a copy
# (BenchmarkDecoder 60-68 against 58-61 ms); a textReader decoding 16,384
# values at a time instead of 4,096 (1.03). Where the CPU goes after it
# (4 runs merged, by goroutine): CSV --report parsing 31%, validating 23%,
# grouping 12%, planning 28% (decoding the groups 10%, report lines 8%,
# packing 6%), write syscalls 5%; Parquet decoding the text columns 29%
# (Arrow's own code 13% of all), making records 22%, validating 18%,
# grouping 12%, planning 16%, GC 5%; of Arrow's 13%, its dictionary
# decoded lazily and grown a batch at a time (dictConverter.ensure) is 5%,
# which this reader cannot change.
# A third round on 2026-12-06, on a slower machine (DuckDB's CSV 0.86-1.06
# s), each change against the build before in pairs in turns:
# an id of printable ASCII checked in one pass, and a run without a
# report counting its rows a partition at a time (report.Discard takes
# lines as CSV does) instead of one status count under the report's lock
# per item: validate CPU 0.90, wall 0.89 (11 pairs); a plain CSV line
# looked at eight bytes at a time for delimiters and quotes at once:
# BenchmarkCSVRead unquoted CPU 0.91 (15 pairs), validate wall 0.975, with
# --report 0.964. Two runs of this script after it (SHAPES=0 BACKUP=0
# SKIP=0 S3OUT=0, load 1-2): validate 0.63 and 0.63 (pairs' medians),
# --report 0.73 and 0.68, Parquet 1.11 and 0.90; the plan 101,872, sending
# 198.3 requests/s, parts 1.01-1.02. Tried and dropped: the plain line's
# delimiters found by a byte loop instead of a search a field (1.06 wall,
# noisy, no gain). The state is looked up rather than merged as sorted
# streams (bench-state.sh's notes: BenchmarkLookupOrMerge).
# A fourth round on 2026-12-06 (DuckDB's CSV 0.52-0.87 s, noisy: the same
# command's wall time spreads by a tenth), each change against the build
# before: a quoted field holding no quote read on the plain line (a third
# of the bench rows quote their list of bits and went to the general
# scanner): BenchmarkCSVRead 23.3-31.5 -> 18.3-20.5 ms, validate wall 0.91
# (15 pairs); the spill decoder decoding in place and reading one-byte
# varints without a loop: BenchmarkDecoder 82-97 -> 62-75 ms; the
# planners clearing what the last partition wrote instead of their whole
# capacity (7.6% of the CPU with 1,000 users): --report 0.96-0.98. With
# --report against DuckDB, 7 pairs each, before -> after the round: the
# bench file 0.74 -> 0.61, few users 0.87 -> 0.77, a row per user 0.71 ->
# 0.65, uuid ids 0.79 -> 0.71, 3 plain columns 0.62 -> 0.55, all quoted
# 0.71 -> 0.73 (its fields hold no quote: now plain lines too). Then this
# script (SHAPES=0 BACKUP=0 SKIP=0 S3OUT=0, load about 1): validate 0.60
# (pairs' min 0.51), --report 0.67, Parquet 0.93; without a report, 11
# pairs with DuckDB: 0.55; Parquet 0.99. The plan 101,872, sending 198.3
# requests/s; 64 Parquet parts 1.16 in that run, 0.99 in 11 pairs after.
# Where the time goes now (the log's "input read"): the bench CSV is read
# in 0.25-0.28 s of 0.36-0.41 s, and the one-thread parse is most of that
# reading (0.27 CPU-s of 0.76): 0.5 needs the rest hidden behind it.
# A fifth round on 2026-12-06 (DuckDB's CSV 0.71 s): lists of bits in
# their common form ("[57, 32]", "3", "1|2") read in one pass, 104-115 ns
# for eight values against 236-259 (go test -bench; the whole validate
# does not move beyond the noise: CSV 0.98, Parquet 1.04, 11 pairs); the
# night's state changes are in bench-state.sh. Then this script (SHAPES=0
# BACKUP=0 SKIP=0 S3OUT=0, load about 1): validate 0.60 (pairs 0.52 /
# 0.58), --report 0.62 (0.55 / 0.63), Parquet 0.85 (0.82 / 0.89); with
# --report, 1,000 users, 7 pairs: 0.79 (max 0.84). The plan 101,872,
# sending 198.3 requests/s, parts 1.009 (CSV) and 1.021 (Parquet), Ctrl-C
# 9, 47 and 56 ms. Tried and dropped in that round, each in turns with the
# build before on its benchmark: the spill decoder numbering users in a
# table of its own (open addressing, maphash) instead of a Go map
# (BenchmarkDecoder 59-92 ms against 47-97); varints of the spill written
# with PutUvarint into the room the block has (BenchmarkStoreAdd with a
# third of the sets above bit 31: 56-73 ms against 63-68). Parquet's
# dictionary pages: Arrow's column reader turns each index into its value
# (11% of the CPU), and offers no way to read the indexes instead.
# A sixth round on 2026-12-06 (evening; DuckDB's CSV 0.67-0.83 s), each
# change against the build before: a Parquet text field of a batch with no
# value cut read inline into the record (textReader.cell was a call for
# every field of every row): Parquet CPU 0.964, wall 0.960 (21 pairs);
# a row beyond the conversation limit reported with its user's others (the
# outcome formatted once a user, 5% -> 4% of validate --report's CPU with
# 1,000 users); fields trimmed only when an end byte may be a space. Three
# runs of this script (SHAPES=0 BACKUP=0 SKIP=0 S3OUT=0; the second with
# the shapes too, and a review's tests beside it): validate 0.53, 0.53,
# 0.55 (pairs' medians 0.53, 0.55, 0.56), --report 0.58, 0.62, 0.64,
# Parquet 0.92, 0.95, 0.88; the shapes without a report: 1,000 users 0.67,
# a row per user 0.74, uuid ids 0.69, 3 plain columns 0.46, all quoted
# 0.66; the
# plan 101,872, sending 198.3 requests/s, parts 1.02-1.04 (CSV) and
# 0.93-1.03 (Parquet), Ctrl-C 10-27, 28-46 and 21-34 ms. With --report,
# 1,000 users, 9 pairs: 0.75 (0.66-0.86). Parquet's CPU after it (6 runs):
# Arrow's decoding 18% (its dictionary grown a batch at a time by append,
# dictConverter.ensure, 6.5%), the kept bytes copied 6.5%, the records made
# 7%; the rest validating, grouping and planning. Arrow's page decoders
# (levels, RLE dictionary indexes) are internal to it: reading the indexes
# instead of the values would mean writing a Parquet page decoder of our
# own.
# Tried and dropped in that round: each change validated straight into the
# read stage's slot (a ValidateInto) instead of returned and copied there:
# the slot's cache misses only moved into the callee (the validating
# goroutine 21.8% of the CPU against 22.7%, no less CPU in all, 6 runs).
# A seventh round on 2026-12-06 (night; DuckDB's CSV 0.63-0.83 s): a CSV
# line read whole by the plain-line path says so (record.whole), and its
# fields are neither checked for a cut again nor their sizes kept: CSV
# validate CPU 0.969, wall 0.970 (15 pairs); against DuckDB, 11 pairs on
# their own: 0.51 (min 0.41). Three runs of this script (SHAPES=0 BACKUP=0
# SKIP=0 S3OUT=0): validate 0.55, 0.54, 0.54 (pairs' medians 0.53, 0.56,
# 0.54), --report 0.65, 0.53, 0.60, Parquet 0.93, 0.83, 0.91; the plan
# 101,872, sending 198.3 requests/s, parts 0.94-1.04 (CSV) and 0.98-1.00
# (Parquet), Ctrl-C 8-25, 27-51 and 22-49 ms. CPU of a CSV validate (5 runs
# after it): reading 34% (the plain-line scan 21%), validating 25%,
# grouping 11%, planning 28%; 1.95 cores busy on average from 20 ms to the
# end (/proc sampled every 10 ms, two runs). The process starts its main 9 ms in, after
# the libraries' package initialisers (Arrow's compute 1.1 ms, Prometheus
# 0.5 ms, gRPC and protobuf through pqarrow's flight import): fixed, 2-3% of
# a run.
# Tried and dropped in that round, each against the build before, 15 pairs
# unless said:
# the read stage's batches handed back without clearing them (the records'
# and the changes' slots, 1.4% of the CPU in memclr): wall 0.998; a record
# whose columns are in the fields' order copied in one conversion from the
# scanner's fields instead of field by field: wall 1.016; the spill
# decoder's varints of two and three bytes (every row number) read without
# the general loop: wall 1.000 (21 pairs). At this point
# every stage's per-row work is a few nanoseconds spread over many lines;
# 0.5 needs about 8% less CPU in all, and no single piece left is that
# large (the largest, the plain-line scan, is the one-thread floor).
# The eighth round, the same night: the binary built with a CPU profile
# (cmd/markimport/default.pgo, made by scripts/pgo.sh: how, and the pairs
# against the build without it, are there). Three runs of this script
# (SHAPES=0 BACKUP=0 SKIP=0 S3OUT=0): validate 0.48, 0.48, 0.47 (pairs'
# medians 0.46, 0.49, 0.49), --report 0.55, 0.60, 0.56, Parquet 0.82, 0.85,
# 0.82 (0.81, 0.85, 0.80); the plan 101,872, sending 198.3 requests/s,
# parts 0.97-1.05 (CSV) and 0.99-1.02 (Parquet), Ctrl-C 9-20, 32-53 and
# 38-47 ms. Against DuckDB, 15 pairs on their own: 0.49. Parquet's CPU
# then (5 runs): Arrow's column reader 16%, its dictionary grown by
# appending as the indexes reach further (dictConverter.ensure) 7%, the GC
# 6% (111 of the 230 MB a run allocates are that dictionary's). Tried and
# dropped: a profile with Parquet weighing twice as much (with --report,
# and few users): Parquet 0.985 (21 pairs), CSV 1.005 (11), within the
# noise.
# The ninth round (2026-12-07), on a Xeon where DuckDB scans the CSV in
# 0.69-0.78 s (0.90 s the night before): the collector paced by the live
# heap (cmd/markimport/heappace.go: 3 collections in a Parquet validate
# instead of 11), and a Parquet batch's uncut text fields set without
# looking at the others. Against the build before, in pairs in turns:
# the pacer alone, Parquet wall 0.967, CPU 0.956 (21 pairs), peak 165
# against 126 MiB; CSV (the pacer turned off with GOGC=100) wall 0.984
# (25), peak 104 against 94 MiB; night 2 of 2M rows wall 0.957 (11), peak
# 195 against 149 MiB; night 2 of 20M rows 1.01 (3 pairs), peak 757-812
# against 805-824 MiB (a large heap is paced as Go's default), and against
# a validate of the same file 1.34 (1.30-1.41, 5 pairs), peak 702-861 MiB,
# within the default --memory-limit of 1 GiB. The uncut fields:
# Parquet wall 0.974, CPU 0.966 (21). Both against DuckDB, 21 pairs each:
# 0.835, the build before 0.888. Three runs of this script (SHAPES=0
# BACKUP=0 SKIP=0 S3OUT=0): validate 0.52, 0.51, 0.51 (pairs' medians
# 0.52, 0.51, 0.51), --report 0.65, 0.58, 0.55, Parquet 0.85, 0.83, 0.81
# (0.85, 0.80, 0.81), peak 162-189 MiB; the plan 101,872, sending 198.2-198.3
# requests/s, parts 0.89-1.02 (CSV) and 1.01-1.03 (Parquet), Ctrl-C 7-21,
# 23-47 and 28-68 ms. The CSV's ratio rose from 0.47-0.48 with the same
# code (the build before against this one, 21 pairs: 1.02): DuckDB is
# faster on this machine, not markimport slower. Tried and dropped: GOGC
# 800 (wall 1.02 against the pacer's 400, 15 pairs, 225 MiB); textReader
# decoding 16,384 values a call instead of 4,096 (wall 1.03, 21 pairs).
# The tenth round (2026-12-07, the same machine; DuckDB scans the CSV in
# 0.72-0.85 s): arrow-go v18.9.0, whose dictionary decoder decodes new
# entries in place into a dictionary grown twice at a time, where v18.8.0
# made a slice of them for each batch and appended it (dictConverter.ensure
# 9% of the CPU, now 1.6%). Against the v18.8.0 build, pairs in turns:
# Parquet wall 0.95, CPU 0.953 (21 pairs), peak 145-153 against 160-168
# MiB; 64 Parquet parts 0.984, CSV 0.98 (15 each); beside DuckDB 0.784
# against 0.834 (15 each). Three runs of this script (SHAPES=0 BACKUP=0
# SKIP=0 S3OUT=0): Parquet 0.76, 0.77, 0.75 (pairs' medians 0.79, 0.77,
# 0.75), validate 0.53, 0.50, 0.49 (0.49, 0.50, 0.49), --report 0.58,
# 0.55, 0.54; the plan 101,872, sending 198.3 requests/s, parts 0.99-1.04
# (CSV) and 1.02-1.09 (Parquet), Ctrl-C 6-14, 28-53 and 29-68 ms. The
# profile made again after the upgrade (make pgo) gained nothing against
# the one before (Parquet 0.984, CSV 1.016, 15 pairs each), so it was not
# kept. Later that day, the same hot paths, three more runs: CSV 0.40,
# 0.46, 0.50 (pairs' medians 0.51, 0.48, 0.50; 21 pairs on their own
# 0.496), --report 0.59, 0.54, 0.54, Parquet 0.75, 0.79, 0.82 (0.75, 0.82,
# 0.76; DuckDB's Parquet 0.53, 0.44 and 0.38 s); the plan 101,872, sending
# 198.3 requests/s, parts 0.99-1.02 (CSV) and 1.05-1.08 (Parquet), Ctrl-C
# 6-31, 18-37 and 32-50 ms.
#
# The README's Performance table quotes one run of this script on 2026-12-02
# (2 cores, AMD EPYC, Go 1.26.8, Node 20, DuckDB 1.5.6 through
# @duckdb/node-api, load average 1.6-2.5), after that day's changes (the
# one-way import layering, data-lake inputs, the incremental state).
#
# Validate vs DuckDB. Median of RUNS (5) runs, markimport and DuckDB taking
# turns, whole processes timed, start-up included for both (DuckDB's own
# query time, "inside node", is printed beside it: scripts/duckdb-scan.mjs).
# Pitfall: the machine's speed drifts during a session (in the quoted run,
# validate of the CSV took 0.44-0.59 s), so only ratios from one run are
# compared, never seconds across runs. The 2026-11-25 ratios were 0.45 (CSV)
# and 0.98 (Parquet) on a quieter machine; the three runs of 2026-12-02 gave
# 0.50-0.54 and 1.04-1.06: the same code's share of a busier machine. The
# build from before the one-way layering (ac997a8) and that day's, run in
# turns five times each on the same files, took 0.56 and 0.57 s (CSV) and
# 0.87 and 0.85 s (Parquet), medians. Parquet has no goal and is about even:
# decoding through Arrow costs more than DuckDB's native reader. validate does
# more than DuckDB's query (every rule of each row, the merge, the
# 1000-conversation limit, the packing), with one goroutine reading, one
# validating and one grouping, then two planners.
#
# The README's table keeps one figure a row; the rest of that run: DuckDB's
# own query time was 0.74 s (CSV) and 0.43 s (Parquet) inside node, against
# 1.176 and 0.871 s as whole processes.
#
# Other shapes, CSV, 1M rows, markimport / DuckDB (2026-12-02): few users
# over the limit (-users 1000, 32 MB) 0.726 / 1.119 s: 0.65; a row per user
# (-users 1000000, 33 MB) 0.599 / 1.199 s: 0.50; 32-hex-digit ids (-ids
# uuid, 80 MB) 0.749 / 1.431 s: 0.52; 3 plain columns (-layout narrow,
# 18 MB) 0.478 / 0.989 s: 0.48; uuid ids, 5 columns, all quoted (-layout
# quoted -ids uuid, 85 MB) 0.547 / 1.236 s: 0.44.
# Other shapes. The worst is the few-users file (0.65; 0.59 on 2026-11-25): a
# quarter of its rows are rejected beyond the limit and every user needs a
# conversation index; it was 1.0-1.2 before a user's rejected rows took one
# allocation.
#
# What made validate fast, each step measured side by side against the
# previous build (--cpuprofile, perf stat -e page-faults, DuckDB in the same
# loop):
#   - grouping appends each row to one of 256 partitions (their tails stay in
#     cache) instead of interning its strings in one table of every distinct
#     string, which cost a cache miss or two per string per row and made
#     grouping the bottleneck, worst on long ids (1M rows of UUIDs: 0.84 s,
#     then 0.64 s); each partition is grouped on its own when planned;
#   - reading (encoding/csv) and validating run in two goroutines, grouping in
#     a third, then two planners take partitions as they come free;
#   - a dry run plans into per-planner slabs reused once reported: no garbage
#     from items, rows, rejected rows and requests; a user's rejected rows take
#     one allocation, its conversation index one string-keyed map per type;
#   - partition blocks are carved from 8 MiB regions that ask for transparent
#     huge pages (madvise): a page fault costs about 8 us on this virtual
#     machine, and a 1M-row validate went from 35,000 faults to 12,000.
#   - (2026-12-05) the report's lines are formatted by the two planners, a
#     partition's users into one buffer outside the report's lock, and emit
#     writes each buffer in one piece in partition order: the report is
#     byte for byte the one-planner report (TestPartLinesMatchLineAtATime;
#     cmp on the bench file and on a 20M-row file); before, emit formatted
#     every line under the lock in one goroutine;
#   - (2026-12-05) the CSV reader carves the strings of records from 64 KiB
#     slabs, one allocation for hundreds of records (mallocgc 5.7% -> 0.9%
#     of validate's CPU).
# The README's 2026-12-05 rows: this script with SHAPES=0 BACKUP=0 SKIP=0
# on a quiet machine (load 0.2-1.2): validate 0.443 s, --report 0.527 s,
# DuckDB 0.861 s, Parquet 0.655 / 0.652 s; send 99.1%, peak 200/s, the plan
# at the lower bound; the build before, 7 pairs in turn: validate --report
# 0.85 (wall), 0.86 (CPU). An earlier run that day
# on a machine shared with other work (load 6-16 during the run, so whole
# seconds are 2-4 times the quiet figures and DuckDB's threads suffered
# more than markimport). Its ratios are quoted as min / median of the five
# pairs' ratios. The same day, each command in turn 7 times on the same
# file: validate --report / DuckDB 0.43-0.62, median 0.49; validate /
# DuckDB median 0.31; this build against the one before (b22250f):
# validate --report wall 0.91 (CPU 0.82), validate wall 0.82 (CPU 0.95);
# on a quieter moment (load 1.7) the build before took 0.46 s, 0.68 s with
# --report, DuckDB 0.87 s. A 20M-row validate --report (markgen -n 20000000
# -seed 3): 38.5 s and 777 MiB against 54.3 s and 808 MiB before, the
# same report.
# Where the CPU goes (--cpuprofile, three runs merged, validate --report):
# parsing CSV 30%, validating 18%, grouping 12%, planning 33% (report lines
# 11%, PlanUser 10%, decoding partitions 8%), writing 2%. The read stage's
# three goroutines and the plan stage's two planners keep both cores busy
# (CPU 1.8x wall), so more goroutines cannot pay on 2 cores: only less CPU
# can. Parquet misses its 0.8 goal: arrow-go's byte-array record reader is
# 38% of validate's CPU on the Parquet file, about DuckDB's whole time.
# Tried and dropped: reading Parquet string columns as Arrow dictionaries
# (slower: Arrow re-hashes every dictionary).
#
# Parsing CSV in parallel chunks (readers/csvpar.go, 2026-12-05): exact, but
# off below 4 cores. Profile of validate on the bench file, 3 runs merged
# (--cpuprofile): the decoding goroutine 42% of the CPU (the CSV scanner
# 25%), validating 23%, the rest grouping and planning; a trace showed
# about 0.8 goroutines waiting for a core all through the read, so no core
# is idle. With 2 workers (GOMAXPROCS=2) the workers took 33% and the
# hand-off of their records 17%: CPU 0.75-0.80 s against 0.67-0.74 s.
# Side by side, the one-thread build (main, /tmp/old) and the parallel one
# (/tmp/new), 14 pairs in turns (two runs of 7), load 6-7 on 2 cores:
#   for i in 1..7: old validate, new validate, node scripts/duckdb-scan.mjs,
#                  old validate --report, new validate --report
# wall new/old, median of the pairs' ratios: validate 1.05 (0.79-2.00),
# --report 1.15 (0.85-1.58); validate / DuckDB 0.89 (old), 0.97 (new).
# At that load DuckDB's threads suffer too: only the ratios between the two
# builds are meant, not against the quiet figures above.
#
# Memory. A valid row held for grouping takes its encoded size, no per-row
# object: three varints (row, set, clear), two bytes, then from_account, the
# peer and the custom mark each after its length; strings are not interned
# (see above). On the bench file a row takes 42 bytes, with 36-character ids
# (-ids uuid) 101; the log line "input read" gives the total (held_bytes, in
# 8 MiB regions): 41,943,040 bytes for the 1M-row file. Not run here, by hand:
# a 20,000,000-row unsorted CSV (markgen -n 20000000 -seed 3; 698 MB,
# 2,000,000 users) validated in 8.8 s, peak RSS 723 MiB, under the default
# --memory-limit 1GiB (it spilled; 29-30 s and 894-940 MiB at the start of that
# work), timed with /usr/bin/time -f '%e s %M KiB'. A 100,000,000-row unsorted
# CSV (five markgen -n 20000000 -users 10000000 -seed 101..105 files joined
# under one header; 3.5 GB) validated in 50.4 s, peak RSS 1.02 GiB: 24 s to
# read and spill, 26 s to plan 9,994,686 requests. Before a fix it took 118 s
# and 2.8 GiB: reused planning buffers kept old partitions alive past their
# length.
#
# Sending. The emulator counts a request at the time the kernel received its
# bytes (Linux), and the client counts a departure when it writes the
# request, in the goroutine that writes it. Pitfall, and why both: the
# emulator used to count when its handler ran, which on a busy machine came
# tens of milliseconds late and bunched (peaks of 202-265 handler stamps a
# second against 200-205 kernel receive times, measured side by side), and
# the client counted when net/http handed it a connection, before the
# hand-off to the writer; on a machine at load 4-7 the stalled emulator
# recorded 201-223 arrivals in a second. Throttles at the default rate, with
# the send command below (6,113 requests) run ten times with one core kept
# busy (yes >/dev/null &): at load 1.3-7.6 from other work besides, 0 in ten
# runs of ten (peak 200 a second, 196.9-198.4 requests/s); at 7-10, 5-54 in
# five runs (peaks 203-242: the kernel delays the writes themselves;
# --rate-margin 0.02 leaves more room). The code before both fixes: 0 in four
# runs at load 1-2, 8 and 10 at 2, 4 and 12 at 5.5-6, 11 and 99 at 12; with
# only one of the two fixes, 1-16 at 6-7. `run --rate 500` against the
# emulator's 200/s: exit 0, every row ok, 19-74 throttles, 185-200 requests/s
# (three runs, load 2-10). The 0 ms and 500 ms figures of the README were run by
# hand with `fake-server --latency 0ms|500ms` and the same send file; the
# 100 ms figures (198.3/s, peak 200, no 60007) were the same in the last four
# runs of this script, re-measured after the state store's rework. The run
# time ratio counts the whole process, reading and planning included.
# At 0 ms and 500 ms: 198.3/s, 99.2% of the quota, peak 200/s, no 60007;
# run time 1.013 and 1.028 times requests/rate (at 500 ms the last answers
# take 0.5 s). The send command (Ctrl-C fake-server at the end: its last
# line counts the throttled answers):
#
#   markimport fake-server --listen 127.0.0.1:8080 --sdkappid 1400000000 --admin administrator --secret-key-file KEY --quiet &
#   bin/markgen -n 60000 -users 6000 -seed 1 -invalid 0 -o send.csv
#   MARKIMPORT_SECRET_KEY=$(cat KEY) markimport run --input send.csv --report r.csv --endpoint http://127.0.0.1:8080 \
#       --sdkappid 1400000000 --admin administrator --quiet
#
# Interrupt. SIGINT is sent once the JSON log shows the stage. Before the
# one-way layering, validate ignored the first Ctrl-C for 13.5 s and
# run --fake took 18.7 s to exit.
#
# Parts. CSV split by lines (markgen writes no line break inside a field),
# Parquet split by DuckDB (scripts/split-parquet.mjs); each pair runs back to
# back and the ratio is the median of the pairs' ratios, so the machine's
# drift falls on both sides. The quoted figures come from a later run of the
# same day, on a slower moment of the machine. Part files share their
# buffers (the CSV reader's 1 MiB buffer, the Parquet reader's pool): before
# that, 64 fresh 1 MiB buffers cost the CSV export a fifth of its time in
# page faults (ratio 1.20).
#
# Parts, 64 part files vs one file (make bench PARTS=64): CSV 0.687 / 0.681
# s: 1.00, 83 / 80 MiB; Parquet 1.093 / 1.060 s: 1.01, 123 / 131 MiB;
# 101,872 requests each.
#
# Parquet statistics check: about 2.7 ns per string value, 2-3% of a Parquet
# read's CPU time.
set -euo pipefail

N=${N:-1000000}
RATE=${RATE:-200}
SEED=${SEED:-1}
RUNS=${RUNS:-5}
SEND_SECONDS=${SEND_SECONDS:-30}
BENCH_DIR=${BENCH_DIR:-/tmp/markimport-bench}
PROFILE=${PROFILE:-0}
SHAPES=${SHAPES:-1}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
MARKIMPORT=$ROOT/bin/markimport
MARKGEN=$ROOT/bin/markgen
SDKAPPID=1400000000
ADMIN=administrator

die() {
	echo "bench: error: $*" >&2
	exit 1
}
log() { echo "bench: $*" >&2; }

for v in N RATE SEED RUNS SEND_SECONDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: want a positive integer"
done
[[ -x $MARKIMPORT ]] || die "$MARKIMPORT is missing: run 'make bench' (it builds it) or 'make build' first"
command -v go >/dev/null || die "go is not on PATH (needed to build bin/markgen)"
mkdir -p "$BENCH_DIR" || die "cannot create BENCH_DIR $BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

# Everything started in the background is stopped, and the secret removed,
# however the script ends.
FAKE_PID=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/markimport-bench.XXXXXX")
cleanup() {
	if [[ -n $FAKE_PID ]] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill -TERM "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools ----

TIME_BIN=${TIME_BIN:-/usr/bin/time}
if [[ ! -x $TIME_BIN && $TIME_BIN == /usr/bin/time ]]; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		log "installing GNU time (for peak RSS)"
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time; } >/dev/null 2>&1 ||
			log "apt-get install time failed; peak RSS will be unknown"
	fi
fi
HAVE_TIME=0
if [[ -x $TIME_BIN ]] && "$TIME_BIN" -f '%M' -o /dev/null true 2>/dev/null; then
	HAVE_TIME=1
fi

log "building bin/markgen"
go build -o "$MARKGEN" ./cmd/markgen || die "go build ./cmd/markgen failed"

# now_ns prints a monotonic-enough wall clock in nanoseconds.
now_ns() { date +%s%N; }

# timed OUT ERR CMD...: runs CMD with stdout to OUT and stderr to ERR; sets
# T_WALL (seconds), T_RSS (peak KiB, or "?") and T_CODE (exit code).
timed() {
	local out=$1 err=$2 start end
	shift 2
	local rss=$TMP/rss
	: >"$rss"
	start=$(now_ns)
	if ((HAVE_TIME)); then
		set +e
		"$TIME_BIN" -q -f '%M' -o "$rss" "$@" >"$out" 2>"$err"
		T_CODE=$?
		set -e
	else
		set +e
		"$@" >"$out" 2>"$err"
		T_CODE=$?
		set -e
	fi
	end=$(now_ns)
	T_WALL=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	T_RSS=$(tail -n 1 "$rss" 2>/dev/null | tr -dc '0-9')
	[[ -n $T_RSS ]] || T_RSS="?"
}

# median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# maximum of the numbers given as arguments ("?" if none is a number).
maximum() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | tail -n 1 | grep . || echo "?"; }
# mib KiB: KiB as MiB, or "?".
mib() { [[ $1 =~ ^[0-9]+$ ]] && awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }' || echo "?"; }
# div A B [FORMAT]: A/B, or "?" when either is not a number or B is 0.
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf f, a / b; else printf "?" }'; }

# json_get FILE KEY: a top-level scalar of a JSON file.
json_get() {
	if command -v jq >/dev/null; then
		jq -r --arg k "$2" '.[$k] // empty' "$1"
	elif command -v python3 >/dev/null; then
		python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
	else
		grep -o "\"$2\": *[^,}]*" "$1" | head -n 1 | sed 's/.*: *//; s/"//g'
	fi
}

# ------------------------------------------------------------- datasets ----

# shellcheck source=scripts/benchfiles.sh
. "$ROOT/scripts/benchfiles.sh" # generate

BASE=$BENCH_DIR/marks-n$N-seed$SEED
CSV=$BASE.csv
PARQUET=$BASE.parquet
generate "$CSV" -n "$N" -seed "$SEED" -invalid 0
generate "$PARQUET" -n "$N" -seed "$SEED" -invalid 0

# ------------------------------------------------------------- validate ----

declare -A V_WALL V_RSS V_STATUS V_OUT V_WALLS V_RSSS
# one_validate KIND FILE I [ARG...]: one timed validate run (with ARGs),
# its figures appended.
one_validate() {
	local kind=$1 file=$2 i=$3
	shift 3
	[[ ${V_STATUS[$kind]:-ok} == ok ]] || return 0
	V_STATUS[$kind]=ok
	timed "$TMP/validate-$kind.out" "$TMP/validate-$kind.err" "$MARKIMPORT" validate --input "$file" --quiet "$@"
	# Exit 1 only says that some rows are not valid (rejected beyond the
	# conversation limit, in a shape made for that).
	if [[ $T_CODE -gt 1 ]]; then
		V_STATUS[$kind]="FAILED (exit $T_CODE: $(head -c 300 "$TMP/validate-$kind.err" | head -n 2 | tr '\n' ' '))"
		log "validate $kind: ${V_STATUS[$kind]}"
		return 0
	fi
	V_WALLS[$kind]+=" $T_WALL"
	V_RSSS[$kind]+=" $T_RSS"
	log "validate $kind run $i: ${T_WALL}s, peak RSS $(mib "$T_RSS") MiB"
	[[ $i -eq 1 ]] && cp "$TMP/validate-$kind.out" "$TMP/plan-$kind.out"
	V_OUT[$kind]=$TMP/plan-$kind.out
}

# --------------------------------------------------------------- DuckDB ----

declare -A D_WALL D_RSS D_QUERY D_STATUS D_WALLS D_RSSS D_QUERIES
DUCKDB_VERSION=
duckdb_setup() {
	command -v node >/dev/null || { echo "node not found"; return 1; }
	command -v npm >/dev/null || { echo "npm not found"; return 1; }
	local dir=$ROOT/scripts
	if [[ ! -d $dir/node_modules/@duckdb/node-api ]]; then
		log "installing @duckdb/node-api into scripts/node_modules"
		if [[ -f $dir/package-lock.json ]]; then
			(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || { echo "npm ci failed"; return 1; }
		else
			(cd "$dir" && npm install --no-audit --no-fund --loglevel=error) >&2 || { echo "npm install failed"; return 1; }
		fi
	fi
}
# one_duckdb KIND FILE I: one timed DuckDB scan, its figures appended.
one_duckdb() {
	local kind=$1 file=$2 i=$3 q
	[[ ${D_STATUS[$kind]:-ok} == ok ]] || return 0
	D_STATUS[$kind]=ok
	timed "$TMP/duckdb-$kind.out" "$TMP/duckdb-$kind.err" node "$ROOT/scripts/duckdb-scan.mjs" "$file"
	if [[ $T_CODE -ne 0 ]]; then
		D_STATUS[$kind]="FAILED (exit $T_CODE: $(head -n 2 "$TMP/duckdb-$kind.err" | tr '\n' ' '))"
		log "duckdb $kind: ${D_STATUS[$kind]}"
		return 0
	fi
	q=$(json_get "$TMP/duckdb-$kind.out" query_seconds 2>/dev/null || sed -n 's/.*"query_seconds":\([0-9.]*\).*/\1/p' "$TMP/duckdb-$kind.out")
	D_WALLS[$kind]+=" $T_WALL"
	D_RSSS[$kind]+=" $T_RSS"
	D_QUERIES[$kind]+=" $q"
	log "duckdb $kind run $i: ${T_WALL}s (query ${q}s), peak RSS $(mib "$T_RSS") MiB: $(cat "$TMP/duckdb-$kind.out")"
	cp "$TMP/duckdb-$kind.out" "$TMP/duckdb-$kind.last"
}

DUCKDB=1
if ! why=$(duckdb_setup); then
	log "duckdb: unavailable ($why)"
	DUCKDB=0
	D_STATUS[csv]="unavailable ($why)" D_STATUS[parquet]="unavailable ($why)"
else
	DUCKDB_VERSION=$(node -p 'require("./scripts/node_modules/@duckdb/node-api/package.json").version' 2>/dev/null || echo "?")
fi

# markimport and DuckDB take turns, run after run, so that a change in the
# machine's load falls on both alike; for the CSV, validate with its report
# (csv-report) takes its turn too.
for kind in csv parquet; do
	file=$CSV
	[[ $kind == parquet ]] && file=$PARQUET
	for ((i = 1; i <= RUNS; i++)); do
		one_validate "$kind" "$file" "$i"
		[[ $DUCKDB == 1 ]] && one_duckdb "$kind" "$file" "$i"
		[[ $kind == csv ]] && one_validate csv-report "$file" "$i" --report "$TMP/validate-report.csv" --overwrite
	done
	if [[ $kind == csv ]]; then
		# shellcheck disable=SC2086
		[[ ${V_STATUS[csv-report]} == ok ]] && V_WALL[csv-report]=$(median ${V_WALLS[csv-report]}) || V_WALL[csv-report]="?"
	fi
	if [[ ${V_STATUS[$kind]} == ok ]]; then
		# shellcheck disable=SC2086
		V_WALL[$kind]=$(median ${V_WALLS[$kind]})
		# shellcheck disable=SC2086
		V_RSS[$kind]=$(maximum ${V_RSSS[$kind]})
	else
		V_WALL[$kind]="?" V_RSS[$kind]="?"
	fi
	if [[ ${D_STATUS[$kind]} == ok ]]; then
		# shellcheck disable=SC2086
		D_WALL[$kind]=$(median ${D_WALLS[$kind]})
		# shellcheck disable=SC2086
		D_RSS[$kind]=$(maximum ${D_RSSS[$kind]})
		# shellcheck disable=SC2086
		D_QUERY[$kind]=$(median ${D_QUERIES[$kind]})
	else
		D_WALL[$kind]="?" D_RSS[$kind]="?" D_QUERY[$kind]="?"
	fi
done

# --------------------------------------------------------------- shapes ----

# The same comparison, CSV only, on other shapes of data of N rows: DuckDB's
# speed depends on the data differently from markimport's.
SHAPE_LINES=
SHAPE_WORST=
if [[ $SHAPES == 1 ]]; then
	few=$((N / 1000 > 0 ? N / 1000 : 1))
	for spec in "$few users (most over the 1000-conversation limit)|-users $few|users$few" \
		"$N users (about one row each)|-users $N|users$N" \
		"32-hex-digit ids (markgen -ids uuid)|-ids uuid|uuid" \
		"3 plain columns (markgen -layout narrow)|-layout narrow|narrow" \
		"32-hex-digit ids, 5 columns, every field quoted (-layout quoted -ids uuid)|-layout quoted -ids uuid|quoteduuid"; do
		IFS='|' read -r label args tag <<<"$spec"
		file=$BENCH_DIR/marks-n$N-seed$SEED-$tag.csv
		# shellcheck disable=SC2086
		generate "$file" -n "$N" -seed "$SEED" -invalid 0 $args
		for ((i = 1; i <= RUNS; i++)); do
			one_validate "$tag" "$file" "$i"
			[[ $DUCKDB == 1 ]] && one_duckdb "$tag" "$file" "$i"
		done
		vw="?" dw="?"
		# shellcheck disable=SC2086
		[[ ${V_STATUS[$tag]} == ok ]] && vw=$(median ${V_WALLS[$tag]})
		# shellcheck disable=SC2086
		[[ ${D_STATUS[$tag]:-} == ok ]] && dw=$(median ${D_WALLS[$tag]})
		ratio=$(div "$vw" "$dw")
		SHAPE_LINES+="| $label | $(du -h "$file" | cut -f1) | $vw s | $dw s | $ratio |"$'\n'
		SHAPE_WORST=$(awk -v a="$SHAPE_WORST" -v b="$ratio" 'BEGIN { if (b !~ /^[0-9.]+$/) print a; else if (a == "" || b + 0 > a + 0) print b; else print a }')
	done
fi

PROFILE_TOP=
if [[ $PROFILE == 1 ]]; then
	log "profiling validate on the CSV"
	rm -f "$BENCH_DIR/validate-csv.prof"
	"$MARKIMPORT" validate --input "$CSV" --quiet --cpuprofile "$BENCH_DIR/validate-csv.prof" >/dev/null 2>&1 || true
	PROFILE_TOP=$(go tool pprof -top -nodecount=25 "$MARKIMPORT" "$BENCH_DIR/validate-csv.prof" 2>/dev/null | sed -n '1,35p' || true)
fi

# -------------------------------------------------------------- planner ----

# plan_field FILE WORD: the first number after WORD in validate's summary.
plan_field() { [[ -f $1 ]] && awk -v w="$2" '$1 == w { print $2; exit }' "$1" || true; }
PLAN_FILE=${V_OUT[csv]:-${V_OUT[parquet]:-}}
PLANNED=$(plan_field "$PLAN_FILE" requests)
PLAN_USERS=$(plan_field "$PLAN_FILE" users)
PLAN_CONVS=$(plan_field "$PLAN_FILE" conversations)
PLAN_PQ=$(plan_field "${V_OUT[parquet]:-}" requests)

log "analyzing $CSV (markgen -analyze)"
"$MARKGEN" -analyze "$CSV" >"$TMP/analyze.out" || die "markgen -analyze failed"
ana() { sed -n "s/^$1=//p" "$TMP/analyze.out"; }
LOWER=$(ana lower_bound)
STREAMER=$(ana streamer)
A_USERS=$(ana users)
A_CONVS=$(ana conversations)

if [[ -z $PLANNED ]]; then
	PLAN_CHECK="UNKNOWN (validate failed)"
elif [[ $PLANNED == "$LOWER" && $PLAN_USERS == "$A_USERS" && $PLAN_CONVS == "$A_CONVS" ]]; then
	PLAN_CHECK=OK
else
	PLAN_CHECK="MISMATCH (planned $PLANNED, lower bound $LOWER; users $PLAN_USERS vs $A_USERS; conversations $PLAN_CONVS vs $A_CONVS)"
fi
if [[ -n $PLAN_PQ && $PLAN_PQ != "$PLANNED" ]]; then
	PLAN_CHECK="$PLAN_CHECK; Parquet plan differs: $PLAN_PQ requests"
fi
SAVING=$(awk -v p="${PLANNED:-x}" -v s="$STREAMER" 'BEGIN { if (p ~ /^[0-9]+$/ && s > 0) printf "%.1f%%", 100 * (1 - p / s); else printf "?" }')
STREAM_FACTOR=$(div "$STREAMER" "${PLANNED:-x}" "%.1f")

# -------------------------------------------------------------- sending ----

# The send dataset: about RATE*SEND_SECONDS requests. Generated files plan
# about one request per ten rows; one correction from the measured plan.
TARGET=$((RATE * SEND_SECONDS))
send_dataset() {
	local rows=$1 path=$BENCH_DIR/send-n$1-seed$SEED.csv
	generate "$path" -n "$rows" -users "$((rows / 10 > 0 ? rows / 10 : 1))" -seed "$SEED" -invalid 0
	SEND_CSV=$path
	SEND_PLANNED=$("$MARKIMPORT" validate --input "$path" --quiet 2>"$TMP/send-validate.err" | awk '$1 == "requests" { print $2; exit }' || true)
	[[ $SEND_PLANNED =~ ^[0-9]+$ ]] || die "validate of the send dataset $path printed no plan: $(head -n 3 "$TMP/send-validate.err")"
}
SEND_ROWS=$((TARGET * 10))
send_dataset "$SEND_ROWS"
if ((SEND_PLANNED < TARGET * 97 / 100 || SEND_PLANNED > TARGET * 103 / 100)); then
	SEND_ROWS=$((SEND_ROWS * TARGET / SEND_PLANNED))
	send_dataset "$SEND_ROWS"
fi
log "send dataset: $SEND_ROWS rows, $SEND_PLANNED requests planned (target $TARGET)"

KEYFILE=$TMP/secret.key
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$KEYFILE")
FAKE_OUT=$TMP/fake.out
: >"$FAKE_OUT" # before the server's redirection, which its process makes
"$MARKIMPORT" fake-server --listen 127.0.0.1:0 --latency 100ms --sdkappid "$SDKAPPID" --admin "$ADMIN" \
	--secret-key-file "$KEYFILE" --quiet >"$FAKE_OUT" 2>"$TMP/fake.err" &
FAKE_PID=$!
ADDR=
for ((i = 0; i < 100; i++)); do
	ADDR=$(sed -n 's|^fake-server listening on http://||p' "$FAKE_OUT")
	[[ -n $ADDR ]] && break
	kill -0 "$FAKE_PID" 2>/dev/null || die "fake-server exited: $(cat "$TMP/fake.err")"
	sleep 0.1
done
[[ -n $ADDR ]] || die "fake-server did not start listening within 10s"
log "fake-server on $ADDR (100 ms latency); sending $SEND_PLANNED requests at --rate $RATE"

REPORT=$TMP/send-report.csv
SUMMARY=$TMP/send-summary.json
set +e
MARKIMPORT_SECRET_KEY=$(cat "$KEYFILE") "$MARKIMPORT" run --input "$SEND_CSV" --report "$REPORT" --summary "$SUMMARY" \
	--endpoint "http://$ADDR" --sdkappid "$SDKAPPID" --admin "$ADMIN" --quiet --rate "$RATE" >"$TMP/run.out" 2>"$TMP/run.err"
RUN_CODE=$?
set -e
kill -INT "$FAKE_PID" 2>/dev/null || true
wait "$FAKE_PID" 2>/dev/null || true
FAKE_PID=
FAKE_LINE=$(grep '^fake-server stopped:' "$FAKE_OUT" || true)
[[ -n $FAKE_LINE ]] || log "fake-server printed no final line: $(cat "$TMP/fake.err")"
PEAK=$(sed -n 's|.*peak \([0-9]*\)/s mark_contact.*|\1|p' <<<"$FAKE_LINE")
SERVER_THROTTLED=$(sed -n 's|.*accepted, \([0-9]*\) throttled.*|\1|p' <<<"$FAKE_LINE")
[[ $RUN_CODE -eq 0 ]] || log "markimport run exited $RUN_CODE: $(head -n 3 "$TMP/run.err" | tr '\n' ' ')"
if [[ -s $SUMMARY ]]; then
	ACHIEVED=$(json_get "$SUMMARY" requests_per_second)
	HTTP_REQ=$(json_get "$SUMMARY" http_requests)
	SEND_SECS=$(json_get "$SUMMARY" send_seconds)
	THROTTLED=$(json_get "$SUMMARY" throttled)
	SENT=$(json_get "$SUMMARY" requests_sent)
else
	ACHIEVED="?" HTTP_REQ="?" SEND_SECS="?" THROTTLED="?" SENT="?"
fi
ACHIEVED_FMT=$(div "$ACHIEVED" 1 "%.1f")
EFFICIENCY=$(awk -v a="$ACHIEVED" -v r="$RATE" 'BEGIN { if (a ~ /^[0-9.]+$/) printf "%.1f%%", 100 * a / r; else printf "?" }')
SEND_SECS_FMT=$(div "$SEND_SECS" 1 "%.1f")

# ------------------------------------------------------------ interrupt ----

# Time from SIGINT to exit in each stage of a larger file: reading, planning
# (validate), and sending (run --fake). The stage is recognised from the
# JSON log: a progress line while reading, "input read" once planning
# starts, requests done while sending.
INT_N=${INT_N:-6000000}
INT_CSV=$BENCH_DIR/interrupt-n$INT_N-seed$SEED.csv
generate "$INT_CSV" -n "$INT_N" -users "$((INT_N / 4))" -seed "$SEED" -invalid 0
declare -A INT_MS INT_CODE INT_DONE
# interrupt_at NAME PATTERN CMD...: start CMD, send SIGINT once its log
# matches PATTERN, and record the milliseconds to its exit.
interrupt_at() {
	local name=$1 pattern=$2 start end pid i
	shift 2
	local err=$TMP/int-$name.err sum=$TMP/int-$name.json
	"$@" --summary "$sum" --log-format json --progress-every 20ms >/dev/null 2>"$err" &
	pid=$!
	for ((i = 0; i < 6000; i++)); do
		grep -q -E "$pattern" "$err" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	start=$(now_ns)
	kill -INT "$pid" 2>/dev/null || true
	set +e
	wait "$pid"
	INT_CODE[$name]=$?
	set -e
	end=$(now_ns)
	INT_MS[$name]=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
	INT_DONE[$name]="$(json_get "$sum" rows 2>/dev/null || echo "?") rows read, $(json_get "$sum" requests_planned 2>/dev/null || echo "?") requests planned, $(json_get "$sum" requests_sent 2>/dev/null || echo 0) sent"
	log "interrupt while $name: exit ${INT_CODE[$name]} ${INT_MS[$name]} ms after the signal (${INT_DONE[$name]})"
}
interrupt_at reading '"msg":"progress".*"rows_read":[1-9]' "$MARKIMPORT" validate --input "$INT_CSV"
interrupt_at planning '"msg":"input read"' "$MARKIMPORT" validate --input "$INT_CSV"
rm -f "$TMP/int-run.csv"*
interrupt_at sending '"requests_done":[1-9]' "$MARKIMPORT" run --fake --input "$INT_CSV" --report "$TMP/int-run.csv"

# ---------------------------------------------------------------- parts ----

# The bench file as an export of PARTS part files (a folder; CSV split by
# lines, Parquet split by DuckDB), validated side by side with the single
# file, taking turns: reading many files must cost what one file costs.
PARTS=${PARTS:-64}
PARTS_CSV=$BENCH_DIR/parts-csv-n$N-seed$SEED-p$PARTS
PARTS_PQ=$BENCH_DIR/parts-parquet-n$N-seed$SEED-p$PARTS
if [[ ! -e $PARTS_CSV/.done ]]; then
	log "splitting $CSV into $PARTS parts"
	rm -rf "$PARTS_CSV" && mkdir -p "$PARTS_CSV"
	# markgen's CSV has no line breaks inside fields: one line, one row.
	awk -v parts="$PARTS" -v n="$N" -v dir="$PARTS_CSV" 'NR == 1 { h = $0; next }
		{ k = int((NR - 2) * parts / n); f = sprintf("%s/part-%05d.csv", dir, k)
		  if (!(k in seen)) { if (last != "") close(last); print h > f; seen[k] = 1; last = f } print > f }' "$CSV"
	touch "$PARTS_CSV/.done"
fi
if [[ $DUCKDB == 1 && ! -e $PARTS_PQ/.done ]]; then
	log "splitting $PARQUET into $PARTS parts with DuckDB"
	rm -rf "$PARTS_PQ"
	if node "$ROOT/scripts/split-parquet.mjs" "$PARQUET" "$PARTS_PQ" "$PARTS" >&2; then touch "$PARTS_PQ/.done"; fi
fi
PART_KINDS="one-csv parts-csv"
[[ -e $PARTS_PQ/.done ]] && PART_KINDS+=" one-parquet parts-parquet"
for ((i = 1; i <= RUNS; i++)); do
	for kind in $PART_KINDS; do
		case $kind in
		one-csv) one_validate "$kind" "$CSV" "$i" ;;
		parts-csv) one_validate "$kind" "$PARTS_CSV" "$i" ;;
		one-parquet) one_validate "$kind" "$PARQUET" "$i" ;;
		parts-parquet) one_validate "$kind" "$PARTS_PQ" "$i" ;;
		esac
	done
done
declare -A P_WALL P_RSS P_PLANNED
for kind in $PART_KINDS; do
	if [[ ${V_STATUS[$kind]} == ok ]]; then
		# shellcheck disable=SC2086
		P_WALL[$kind]=$(median ${V_WALLS[$kind]})
		# shellcheck disable=SC2086
		P_RSS[$kind]=$(maximum ${V_RSSS[$kind]})
		P_PLANNED[$kind]=$(sed -n 's/^  requests *\([0-9]*\) planned.*/\1/p' "${V_OUT[$kind]}")
	else
		P_WALL[$kind]="?" P_RSS[$kind]="?" P_PLANNED[$kind]="?"
	fi
done
# paired_ratio A B: the median of the run-by-run ratios of kind A to kind
# B, each pair run back to back: the machine's drift between runs falls
# on both sides of each ratio.
paired_ratio() {
	[[ ${V_STATUS[$1]:-} == ok && ${V_STATUS[$2]:-} == ok ]] || { echo "?"; return; }
	# shellcheck disable=SC2086
	median $(paste -d' ' <(printf '%s\n' ${V_WALLS[$1]}) <(printf '%s\n' ${V_WALLS[$2]}) | awk '{ printf "%.3f\n", $1 / $2 }')
}
PARTS_RATIO_CSV=$(paired_ratio parts-csv one-csv)
PARTS_RATIO_PQ=$(paired_ratio parts-parquet one-parquet)
PARTS_SAME=$([[ ${P_PLANNED[parts-csv]} == "${P_PLANNED[one-csv]}" && ${P_PLANNED[parts-parquet]:-x} == "${P_PLANNED[one-parquet]:-x}" ]] && echo "the same plan" || echo "DIFFERENT plans")
log "parts: CSV ${P_WALL[one-csv]}s one file, ${P_WALL[parts-csv]}s $PARTS parts (ratio $PARTS_RATIO_CSV); Parquet ${P_WALL[one-parquet]:-?}s, ${P_WALL[parts-parquet]:-?}s (ratio $PARTS_RATIO_PQ); $PARTS_SAME"

# ------------------------------------------------------ Parquet statistics ----

log "measuring the Parquet statistics check (go test -bench ParquetStatsCheck)"
STATS_BENCH=$(cd "$ROOT" && go test ./readers -run '^$' -bench 'ParquetStatsCheck' -benchtime 5x 2>&1 | grep -E '^Benchmark' || true)

# -------------------------------------------------------------- results ----

rows_per_s() { awk -v n="$N" -v t="$1" 'BEGIN { if (t ~ /^[0-9.]+$/ && t > 0) printf "%.0f", n / t; else printf "?" }'; }
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
goal() { # goal VALUE OP LIMIT: "met" or "NOT met"
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { if (v !~ /^[0-9.]+%?$/) { print "unknown"; exit } v += 0; ok = (op == "<=") ? v <= l : v >= l; print ok ? "met" : "NOT met" }'
}
RATIO_CSV=$(div "${V_WALL[csv]}" "${D_WALL[csv]}")
RATIO_PQ=$(div "${V_WALL[parquet]}" "${D_WALL[parquet]}")
RATIO_REPORT=$(div "${V_WALL[csv-report]}" "${D_WALL[csv]}")
# pairs A B: the ratios A/B of the runs taken in turn (the i-th of each
# list), "min / median": the machine's drift falls on both of a pair.
pairs() {
	paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '$1 ~ /^[0-9.]+$/ && $2 > 0 { print $1 / $2 }' | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) { print "?"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f / %.2f", v[1], m }'
}
PAIRS_CSV=$(pairs "${V_WALLS[csv]:-}" "${D_WALLS[csv]:-}")
PAIRS_REPORT=$(pairs "${V_WALLS[csv-report]:-}" "${D_WALLS[csv]:-}")
PAIRS_PQ=$(pairs "${V_WALLS[parquet]:-}" "${D_WALLS[parquet]:-}")
QRATIO_CSV=$(div "${V_WALL[csv]}" "${D_QUERY[csv]}")
QRATIO_PQ=$(div "${V_WALL[parquet]}" "${D_QUERY[parquet]}")
RSS_MODE=$([[ $HAVE_TIME == 1 ]] && echo "$TIME_BIN %M" || echo "unknown: no $TIME_BIN")

cat <<EOF

## markimport bench

Command: \`make bench N=$N RATE=$RATE\` (scripts/bench.sh; SEED=$SEED RUNS=$RUNS SEND_SECONDS=$SEND_SECONDS BENCH_DIR=$BENCH_DIR)
Machine: $(nproc) CPUs, ${CPU:-unknown CPU}; $(go version | sed 's/^go version //'); node $(node --version 2>/dev/null || echo "-"); @duckdb/node-api ${DUCKDB_VERSION:-"-"}
Load average at the end: $LOADAVG (1, 5, 15 min)
Dataset: $N rows, seed $SEED, shuffled, no invalid rows: $(basename "$CSV") ($(du -h "$CSV" | cut -f1)), $(basename "$PARQUET") ($(du -h "$PARQUET" | cut -f1))

### Validate (median of $RUNS; wall time of the whole process; peak RSS: $RSS_MODE)

| input | markimport validate | rows/s | peak RSS | DuckDB scan+group | DuckDB peak RSS | ratio markimport/DuckDB, of the medians (pairs: min / median of the runs' ratios) |
|---|---|---|---|---|---|---|
| CSV | ${V_WALL[csv]} s | $(rows_per_s "${V_WALL[csv]}") | $(mib "${V_RSS[csv]}") MiB | ${D_WALL[csv]} s (query ${D_QUERY[csv]} s) | $(mib "${D_RSS[csv]}") MiB | $RATIO_CSV (pairs: $PAIRS_CSV) |
| CSV, validate --report | ${V_WALL[csv-report]} s | $(rows_per_s "${V_WALL[csv-report]}") | $(mib "$(maximum ${V_RSSS[csv-report]:-})") MiB | ${D_WALL[csv]} s | $(mib "${D_RSS[csv]}") MiB | $RATIO_REPORT (pairs: $PAIRS_REPORT) |
| Parquet | ${V_WALL[parquet]} s | $(rows_per_s "${V_WALL[parquet]}") | $(mib "${V_RSS[parquet]}") MiB | ${D_WALL[parquet]} s (query ${D_QUERY[parquet]} s) | $(mib "${D_RSS[parquet]}") MiB | $RATIO_PQ (pairs: $PAIRS_PQ) |

markimport validate: CSV ${V_STATUS[csv]}, Parquet ${V_STATUS[parquet]}. DuckDB: CSV ${D_STATUS[csv]}, Parquet ${D_STATUS[parquet]}.
DuckDB query: select count(*), count(distinct from_account), count(distinct (from_account, to_account, to_group_id)); "query" is its time inside node, without process start and library load (ratio against it: CSV $QRATIO_CSV, Parquet $QRATIO_PQ).

### Other shapes of data (CSV, $N rows each, generated with the same seed; median of $RUNS)

| data | size | markimport validate | DuckDB scan+group | ratio markimport/DuckDB |
|---|---|---|---|---|
${SHAPE_LINES:-| (skipped: SHAPES=0) | | | | |
}
### Plan

| | requests |
|---|---|
| planned by markimport | ${PLANNED:-?} |
| lower bound Σ ceil(min(convs,1000)/100) | $LOWER |
| file-order streamer (new request on each change of From_Account) | $STREAMER |

Planned vs lower bound: $PLAN_CHECK. Users $A_USERS, conversations $A_CONVS.
Saving over the streamer: $SAVING of its requests ($STREAM_FACTOR× fewer).

### Send (fake-server at 100 ms latency, --rate $RATE)

| send dataset | requests planned | HTTP requests | send time | achieved req/s | efficiency | emulator peak in 1 s | throttled (client / emulator) | exit |
|---|---|---|---|---|---|---|---|---|
| $SEND_ROWS rows | $SEND_PLANNED | $HTTP_REQ | $SEND_SECS_FMT s | $ACHIEVED_FMT | $EFFICIENCY | ${PEAK:-?}/s | ${THROTTLED:-?} / ${SERVER_THROTTLED:-?} | $RUN_CODE |

### Interrupt ($INT_N-row CSV, $(du -h "$INT_CSV" | cut -f1); SIGINT in each stage)

| stage | command | time from signal to exit | exit | done by then |
|---|---|---|---|---|
| reading | validate | ${INT_MS[reading]} ms | ${INT_CODE[reading]} | ${INT_DONE[reading]} |
| planning | validate | ${INT_MS[planning]} ms | ${INT_CODE[planning]} | ${INT_DONE[planning]} |
| sending | run --fake | ${INT_MS[sending]} ms | ${INT_CODE[sending]} | ${INT_DONE[sending]} |

### An export of $PARTS part files against the single file (a folder; validate, median of $RUNS, taking turns)

The ratio is the median of the $RUNS run-by-run ratios, each pair run back to back.

| input | one file | $PARTS parts | ratio parts/one | peak RSS one / parts | requests planned one / parts |
|---|---|---|---|---|---|
| CSV | ${P_WALL[one-csv]} s | ${P_WALL[parts-csv]} s | $PARTS_RATIO_CSV | $(mib "${P_RSS[one-csv]}") / $(mib "${P_RSS[parts-csv]}") MiB | ${P_PLANNED[one-csv]} / ${P_PLANNED[parts-csv]} |
| Parquet (parts by DuckDB) | ${P_WALL[one-parquet]:-?} s | ${P_WALL[parts-parquet]:-?} s | $PARTS_RATIO_PQ | $(mib "${P_RSS[one-parquet]:-?}") / $(mib "${P_RSS[parts-parquet]:-?}") MiB | ${P_PLANNED[one-parquet]:-?} / ${P_PLANNED[parts-parquet]:-?} |

### Parquet statistics check (1M rows, three id columns; go test -bench ParquetStatsCheck -benchtime 5x)

\`\`\`
${STATS_BENCH:-unavailable}
\`\`\`

### Goals

- validate a 1M-row CSV no slower than DuckDB scans and groups it (ratio ≤ 1.0): $RATIO_CSV — $(goal "$RATIO_CSV" "<=" 1.0)
- the same on the other shapes of data, the worst ratio: ${SHAPE_WORST:-?} — $(goal "${SHAPE_WORST:-x}" "<=" 1.0)
- send efficiency ≥ 99%: $EFFICIENCY — $(goal "$EFFICIENCY" ">=" 99)
- plan meets the lower bound: $PLAN_CHECK
- never above the rate in any one second (emulator peak ≤ $RATE): ${PEAK:-?}/s — $(goal "${PEAK:-x}" "<=" "$RATE")
- $PARTS part files cost what one file does (ratio ≤ 1.1): CSV $PARTS_RATIO_CSV — $(goal "$PARTS_RATIO_CSV" "<=" 1.1), Parquet $PARTS_RATIO_PQ — $(goal "$PARTS_RATIO_PQ" "<=" 1.1); $PARTS_SAME
- every stage stops within a second of SIGINT: reading ${INT_MS[reading]} ms, planning ${INT_MS[planning]} ms, sending ${INT_MS[sending]} ms — $(goal "$(printf '%s\n' "${INT_MS[reading]}" "${INT_MS[planning]}" "${INT_MS[sending]}" | sort -g | tail -n 1)" "<=" 1000)
EOF
if [[ -n $PROFILE_TOP ]]; then
	printf '\n### CPU profile of validate on the CSV (%s)\n\n```\n%s\n```\n' "$BENCH_DIR/validate-csv.prof" "$PROFILE_TOP"
fi

# The cost of --backup on the send dataset, side by side (scripts/bench-backup.sh).
if [[ ${BACKUP:-1} == 1 ]]; then
	BACKUP_CSV=$SEND_CSV BENCH_DIR=$BENCH_DIR "$ROOT/scripts/bench-backup.sh"
fi

# What --skip-unchanged saves (scripts/bench-skip.sh).
if [[ ${SKIP:-1} == 1 ]]; then
	BENCH_DIR=$BENCH_DIR "$ROOT/scripts/bench-skip.sh"
fi

# --backup and --state in object storage against on disk (scripts/bench-s3out.sh).
if [[ ${S3OUT:-1} == 1 ]]; then
	BENCH_DIR=$BENCH_DIR "$ROOT/scripts/bench-s3out.sh"
fi
