#!/usr/bin/env bash
# Figures of the incremental mode (--state), for the README: `make bench-state`.
#
#   STATE_N   rows of the nightly file (default 20000000; the 100M-key store
#             benchmark runs with STATE_KEYS, default 100000000; 0 skips it)
#   PAIRS     validate and night 2 runs, in turns (default 3)
#   BENCH_DIR work directory (default /tmp/markimport-bench)
#
# Night 1 imports the file into `markimport fake-server` with its rate limit
# off (and --rate 10000, the ceiling), only to build the state: at the API's 200/s it
# would take hours. Then, side by side:
#   - validate of the file (no report) and validate --report;
#   - night 2, the same file with --state: requests sent (must be 0), wall
#     time, peak RSS;
#   - night 3, with 1% of the conversations changed (a later row with a new
#     custom mark): requests sent against the lower bound for exactly the
#     changed items, computed by markgen -analyze on the changed rows alone;
#   - the state's size on disk;
#   - the store alone: write and look up STATE_KEYS keys (go test -bench Store).
#
# The figures, and how they were measured
# ---------------------------------------
# The README quotes the run on the final code of 2026-12-02 (below: night 1
# 678 s ...); the other figures here are no longer in it.
# One run (2026-12-02, STATE_N=20000000: 2,000,000 users): night 1 sent
# 2,037,304 requests in 823 s; it ran then at --rate 100000, before the
# ceiling of 10000, and reached about 2,500/s either way. validate without a
# report 9.4-10.8 s (peak RSS 773 MiB), validate --report 17.9-18.0 s; night 2
# 0 requests in 14.9-20.9 s (806 MiB), validate beside it 11.1-12.2 s; night 3
# 171,049 requests in 76 s, exactly the lower bound for the changed items.
# The state of 18,200,912 conversations takes 436,866,445 bytes (24 each).
# The run on the final code of that day (STATE_KEYS=10000000): night 1 678 s;
# validate 11.82 s (896 MiB), validate --report 17.45 s, night 2 17.48 s with
# 0 requests (1.48x validate, 811 MiB), night 3 171,049 requests in 59.8 s;
# the store alone with 10M keys: write 616 ns/key, lookup 125 ns/key, 24.0
# bytes/key.
#
# 2026-12-06, an Intel Xeon machine (STATE_N=20000000 STATE_KEYS=0
# PAIRS=3, load 1-4), after the read stage stopped moving every record to
# the heap and reports started their writeback as they are written
# (scripts/bench.sh): night 1 2,037,304 requests in 556 s; validate 8.31-8.50
# s (782 MiB), validate --report 10.54 s; night 2 0 requests in 12.41-12.81
# s, 1.50x validate (pairs min 1.46 / median 1.52), 779 MiB; night 3
# 171,049 requests, the lower bound, in 44.9 s. The night got faster (13.79
# -> 12.64 s) but validate more (9.53 -> 8.41 s, another machine): night 2
# does what validate does plus a report line for each of 20M rows and 18M
# state lookups. At 2M rows (PAIRS=5, load 1-2): night 2 0.89-0.93 s
# against validate 0.65-0.69 s, pairs 1.29 / 1.35, 164 MiB. Where night 2's
# CPU goes (2M rows, --cpuprofile, 3 runs): parsing 22%, validating 13%,
# grouping 17%, planning 38% (state lookups 8%, of which hashing the key
# and the item 4%; report lines 9%; decoding the groups 9%; PlanUser 7%),
# write syscalls 5%.
# The final build of that day (the read stage holding 16 batches), night 2
# and validate in turns on night 3's file (20,200,000 rows) and state, which
# then holds every item, 3 pairs: night 2 11.75-12.45 s, 0 requests, 835
# MiB; validate 7.95-8.24 s, 860 MiB; ratio 1.46 / 1.48 / 1.51 (min /
# median / max of the pairs). The commands: `markimport run --input
# night3.in.csv --report r.csv --overwrite --summary s.json --overwrite
# --state state "${API[@]}" --quiet` against `markimport validate --input
# night3.in.csv --quiet`.
# Later that day, after a second round of changes (scripts/bench.sh: a
# plain CSV line copied once, changes staged before the store's blocks, a
# user's unchanged items reported with its columns formatted once), one
# run (STATE_KEYS=0, load 1-2): night 1 518 s; validate 7.70-8.10 s (725
# MiB), validate --report 9.41 s; night 2 0 requests in 10.80-11.36 s,
# 1.40x validate (pairs min 1.38 / median 1.40), 833 MiB; night 3 171,049
# requests in 40.2 s. The same commands as above on night 3's file and
# state, 4 pairs in turns: night 2 10.95 s, validate 7.78 s, 1.40 (range
# 1.33-1.51). At 2M rows (PAIRS=5): night 2 0.77-0.88 s against validate
# 0.59-0.63 s, pairs 1.30 / 1.31, 172 MiB. The final build (Parquet
# records pointing into their batch, records validated through a
# pointer), the same commands on night 3's file and state, 5 pairs: night
# 2 10.09-10.48 s, validate 6.87-7.33 s, 1.43 (range 1.41-1.47), peak RSS
# 699-869 MiB. Where night 2's CPU goes then
# (2M rows, 3 runs): parsing 25%, validating 19%, grouping 9%, planning
# 39% (state lookups 11%, decoding the groups 10%, report lines 6%), write
# syscalls 6%. The state's items are still looked up one by one in a
# bucketed index of each partition (a lookup touches the index and one or
# two cache lines), not merged with the planned items as sorted streams:
# a merge needs the planned items sorted by key first, and that sort
# costs more than the lookups it would replace. 2026-12-06, one partition
# of a 20M-conversation state (80,000 entries; go test -run X -bench
# LookupOrMerge -count 3 ./pipeline/state): hashing the planned items,
# which both need, 64-74 ns an item; with the lookups 145-150 ns; with the
# sort a merge needs first instead 247-271 ns, before any merging.
# 2026-12-06, the day's third round (an id checked in one pass, a run
# without a report counting a partition at a time, CSV lines read eight
# bytes at a time), a slower machine, STATE_KEYS=0 PAIRS=3: night 1
# 2,037,304 requests in 684 s; validate 12.49 s (835 MiB), --report 13.70
# s; night 2 15.97 s, 1.28x validate (pairs 1.16 / 1.30), 853 MiB; night 3
# 171,049 requests, the lower bound. At 2M rows (PAIRS=5): 1.38x (pairs
# 1.25 / 1.44), against validate --report 1.10x: validate gained more
# than night 2, which always writes its report.
# 2026-12-06, the fourth round (quoted fields read on the plain line, the
# spill decoder in place, planners clearing only what they wrote), an
# Intel Xeon, STATE_KEYS=0 PAIRS=3: night 1 2,037,304 requests in 577 s;
# validate 7.09 s (677 MiB), --report 9.03 s; night 2 11.15 s, 1.57x
# validate (pairs 1.35 / 1.58), 1.23x --report, 792 MiB: the goal of 1.5
# missed, validate having gained and night 2 not (11.17 s before). Its
# profile (2M rows, 3 runs merged): the state filter 24% of the CPU (the
# lookups 10%, the unchanged items' report lines 10%), the input digested
# for the journal 3.5%. At 2M rows (PAIRS=5): 1.35x (pairs 1.33 / 1.35).
# 2026-12-06, the fifth round: a user's items keyed from one pass over its
# name (the keys pinned as on disk by TestKeysAsOnDisk), an item's bits
# hashed with their zero high bytes as one multiplication, a user's items
# hashed 32 at a time before their lookups, the unchanged ones reported a
# run at a time straight from the plans (no copy), and a report line's
# user and type formatted once a type. BenchmarkLookupOrMerge, 4 runs in
# turns with the build before: hash 48-61 ns against 49-71, lookup
# 100-119 against 124-158; batches of 32 against one at a time alone,
# 103-125 against 123-124. Night 2 on night 3's file and state, 5 pairs
# with the build before: wall 0.90, CPU 0.90; 7 pairs with validate: 1.36
# (1.25-1.45), night 2 10.28 s against 7.84 s. Then this script
# (STATE_KEYS=0 PAIRS=5): night 1 648 s; validate 9.02 s (792 MiB),
# --report 8.90 s; night 2 10.75 s, 1.19x validate (pairs 1.13 / 1.24),
# 795 MiB; night 3 171,049 requests, the lower bound, in 44.1 s. At 2M rows
# (PAIRS=5, a slow spell: validate 0.86 s against 0.55-0.59 s before it):
# 1.36x of the medians (pairs 1.26 / 1.29), 162 MiB. Night 2's CPU then (2M
# rows, 3 runs): the state filter 19% (lookups 8%, the unchanged items'
# report lines 8.5%), the input digested for the journal 4%.
# 2026-12-06, the sixth round: the state filter empties the items it
# gathers once (a user of one request cleared the last user of several's
# again: memclr 1.8% of night 2 on uuid ids), and a partition's lines are
# counted in a short list instead of a map (1.6% on a row per user). Night
# 2 of a row-per-user file (1M rows, 537,208 users), 6 runs of each build
# in turns with --cpuprofile: CPU 6.10 s against 6.45 s, the state filter
# 1.31 s against 1.76 s. Night 2 against validate on 1M-row files of four
# shapes (night 1 with this script's emulator, 9 pairs in turns, median /
# min): the bench file 1.47 / 1.32, 1,000 users 1.47 / 1.32, uuid ids
# 1.57 / 1.21, a row per user 1.48 / 1.38. At 1M rows nothing spills, so
# night 2's own work weighs more than at 20M: on uuid ids (3 runs) the
# state filter 20% of its CPU (keys and lookups 10%, of which hashing
# the 32-byte ids byte by byte 5%, as the keys on disk are; report lines
# 6.5%) and the input's SHA-256 6%. The CPU stays at 1.8-2.0 cores from
# the first 60 ms to the end (sampled from /proc), as validate's does:
# nothing waits.
# The sixth round's build on night 3's file and state (20,200,000 rows), 5
# pairs in turns with validate: night 2 10.39 s (789 MiB), validate 7.67 s,
# 1.28 (1.13-1.42; the fifth round 1.36).
# 2026-12-06, the seventh round (a CSV line read whole keeps no sizes:
# validate 3% less CPU), STATE_KEYS=0 PAIRS=5: night 1 2,037,304 requests
# in 875 s (fuzz tests and a review's race tests beside it); validate
# 11.66-15.98 s (a slow spell; 893 MiB), --report 13.96 s; night 2 0
# requests in 16.12 s (median of 5), 1.33x validate, pairs min 0.99 /
# median 1.23, 811 MiB; night 3 171,049 requests (the lower bound) in
# 51.6 s. The eighth round (the binary built with cmd/markimport/
# default.pgo) on night 3's file and state, 7 pairs in turns: night 2
# 14.4-17.8 s, validate 10.7-14.7 s (another slow spell), 1.33 of the
# pairs (1.07-1.54), 795 MiB at most. The ninth round (2026-12-07, the
# collector paced by the live heap, cmd/markimport/heappace.go), the same
# file and state, 5 pairs in turns: night 2 9.79 s, validate 7.29 s (the
# medians), 1.34 of the pairs (1.30-1.41), 702-861 MiB; against the eighth
# round's build, 3 pairs: wall 1.01, 757-812 against 805-824 MiB.
# The tenth round (2026-12-07, arrow-go v18.9.0; night 2's code is the
# ninth round's), the same file and state, with a copy of the state (0.2 s)
# timed in each night 2: 5 pairs 1.54 (1.29-1.73; night 2 13.16 s,
# validate 8.54 s), then 7 pairs 1.31 (1.15-1.67; 11.62 s, 8.54 s), peak
# 660-810 MiB; against the ninth round's build, 5 pairs: wall 1.004. The
# ratio swings with the machine: night 2 writes a report line a row (about
# 870 MB), reads the state (437 MB) and digests its input (706 MB) besides
# reading it: 1.9 s of system time against validate's 1.2 s. It writes no
# state: with nothing confirmed, no new generation is made (strace shows
# only the LOCK opened for writing). Later that day, the same code, 5
# pairs: 1.21 (1.13-1.51; night 2 10.18 s, validate 8.38 s, 695 MiB); then
# 7 pairs: 1.50 (1.26-1.85; night 2 11.18 s, validate 7.09 s, 802 MiB).
# A merge with the state as sorted streams, weighed once more (2026-12-07,
# go test -run X -bench LookupOrMerge ./pipeline/state, 6 runs; every
# variant now takes each user's key once, as Unchanged does): the planned
# items placed by a counting sort into the state index's own buckets
# (about four entries each, so that no bucket needs sorting further), then
# the state read in order: 50-59 ns an item against 58-84 for the lookups
# at 80,000 entries a partition (a 20M state; hashing alone 15-29, a
# comparison sort 151-203), 57-79 against 89-116 at 400,000
# (MARKIMPORT_BENCH_PART=400000, a 100M state; hashing 18-26). About 10 ns
# an item at 20M (0.2 of a night's 18-21 CPU-s, 1%) and about 35 at 100M
# (some 3%), for holding a partition's plans whole until the last is
# placed (about 50 MB a planner at 100M), where the planners plan a user
# at a time in reused memory: the lookups stay.
# 2026-12-05 (STATE_N=20000000 STATE_KEYS=0 PAIRS=3; load 3-7, other
# builds and tests beside it): night 1 2,037,304 requests in 672 s;
# validate 9.53 s (878 MiB), validate --report 13.24 s; night 2 0 requests
# in 13.79 s (median of 3), 1.45x validate, pairs min 1.37 / median 1.48,
# 878 MiB (within the default --memory-limit of 1 GiB); night 3 171,049
# requests (the lower bound for the changed items) in 42.8 s; the state
# 436,866,465 bytes for 18,200,912 conversations.
# 2026-12-05, quiet (load 0.4-1.4), night 1's state of the same file, five
# pairs in turn: night 2 1.39 s, validate 1.01 s, ratio 1.37-1.41, median
# 1.39, 146 MiB; against the build before, five pairs: 0.91 (CPU 0.92).
# 2026-12-05 (STATE_N=2000000 STATE_KEYS=0 PAIRS=5, a machine shared with
# other work, load 7-17): night 1 370.7 s; validate 6.6-15.8 s, night 2
# 8.6-16.0 s with 0 requests, pairs min 0.97, median 1.30 (the median
# night over the median validate: 1.48); 150 MiB. The build before
# (b22250f) in turns with this one, four pairs on the same state: night 2
# wall 0.84 (CPU 0.96). CPU of night 2 (--cpuprofile): parsing 22%,
# validating 14%, grouping 11%, planning 16%, state lookups 8% (of which
# the lookup itself under 3%: the rest is hashing the key and the item,
# which a merge join of sorted streams needs too, so lookups stay), report
# lines 12% (formatted by the planners a partition at a time, written by
# emit in partition order), writes 4%, the input's SHA-256 2%.
#
# Night 2 against validate: the goal is 2x a validate without a report
# (night 2 writes one line per row, 20 million unchanged lines, and looks up
# 18 million conversations); measured 1.31-1.71x. Pitfall: on a shared 2-CPU
# machine the two drift apart between runs, so they were run side by side,
# validate then night 2, three times, with night 1's state (`validate --input
# marks.csv --quiet`, then `run --input marks.csv --report night2.csv
# --overwrite --state state --quiet` against the emulator). The same runs of
# the code before the changes below: night 2 29.4-33.3 s, validate 9.9-13.2 s,
# 2.36-2.96x. What brought night 2 from 25-33 s to 15-21 s: the planners plan
# into their reused memory on a real run too (the state's filter copies the
# items it keeps for the sender; night 2 drops nearly all), with no heap copy
# of each item looked up; a user's unchanged lines are formatted by its
# planner outside the report's lock (the columns after the row once an item,
# tested byte for byte against the plain writer) and copied out in one
# write; each state partition is loaded into the memory the one before
# released (256 fresh buffers were page faults); and the input's SHA-256 (for
# --resume) is taken while the input is read, not before.
#
# Earlier, night 2 and the validates were measured side by side, three
# times, on night 3's file (its state then holds every item); this script's
# own run measured night 2 at 28.9 s against 10.8 s and 14.5 s. What brought
# night 2 from 34-36 s to 26 s on that file: lookups moved from the one
# goroutine that emits plans into the two planners (each loads the partition
# it plans); a bucket index over each partition (the top bits of the hashed
# key name a bucket of about four entries: a lookup touches two cache lines,
# where a binary search of a 10 MB partition missed the cache a dozen times:
# 430 ns a lookup, then about 120); one buffer for a user's unchanged items;
# no message on unchanged lines; report records written straight into the
# buffer (byte for byte as encoding/csv, tested against it). What remains is
# reading and planning as in validate, and writing 20 million report lines.
#
# The store alone at 100M keys (MARKIMPORT_BENCH_KEYS=100000000 go test -run
# '^$' -bench Store -benchtime 1x ./pipeline/state, this script's last step):
# write 73.1 s (731 ns/key), lookup 23.7 s (237 ns/key), 24.0 B/key. The
# alternatives: scripts/storecmp.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_N=${STATE_N:-20000000}
STATE_KEYS=${STATE_KEYS:-100000000}
PAIRS=${PAIRS:-3}
BENCH_DIR=${BENCH_DIR:-/tmp/markimport-bench}
M=$ROOT/bin/markimport
G=$BENCH_DIR/markgen
mkdir -p "$BENCH_DIR"
(cd "$ROOT" && go build -o "$M" ./cmd/markimport && go build -o "$G" ./cmd/markgen)
log() { echo "bench-state: $*" >&2; }
W=$BENCH_DIR/state-n$STATE_N
mkdir -p "$W"
IN=$W/marks.csv
if [[ ! -e $IN.done ]]; then
	log "generating $IN"
	"$G" -n "$STATE_N" -users "$((STATE_N / 10))" -seed 7 -invalid 0 -o "$IN"
	touch "$IN.done"
fi
KEY=$W/key
printf 'bench-state-key' >"$KEY"
PORT=$((20000 + RANDOM % 20000))
"$M" fake-server --listen "127.0.0.1:$PORT" --rate-limit -1 --sdkappid 1400000000 --admin administrator --secret-key-file "$KEY" --quiet >"$W/fake.log" 2>&1 &
FAKE=$!
trap 'kill $FAKE 2>/dev/null || true' EXIT
sleep 1
export MARKIMPORT_SECRET_KEY=bench-state-key
API=(--endpoint "http://127.0.0.1:$PORT" --sdkappid 1400000000 --admin administrator)
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2"; }
timed() { # timed NAME CMD...: wall seconds and peak RSS into T_S, T_KB
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err" || true
	read -r T_S T_KB <"$W/$name.time"
}
rm -rf "$W/state" "$W"/night*.csv* "$W"/night*.json "$W"/v*.csv*
log "night 1: building the state ($STATE_N rows, unlimited emulator)"
timed night1 "$M" run --input "$IN" --report "$W/night1.csv" --summary "$W/night1.json" --state "$W/state" "${API[@]}" --rate 10000 --concurrency 64 --quiet
N1_S=$T_S N1_REQ=$(json "$W/night1.json" requests_sent)
STATE_BYTES=$(du -sb "$W/state" | cut -f1)
log "night 1: $N1_REQ requests in ${N1_S}s; state $STATE_BYTES bytes"

# Night 2 and a validate without report take turns, PAIRS times: on a
# shared machine only the ratio of a pair means something. The figures
# are the medians; the ratio is given as the min / median of the pairs'.
timed validate-report "$M" validate --input "$IN" --report "$W/v.csv" --overwrite --quiet
VR_S=$T_S
V_ALL= N2_ALL= N2_KB=0 V_KB=0
for ((i = 1; i <= PAIRS; i++)); do
	timed validate "$M" validate --input "$IN" --quiet
	V_ALL+=" $T_S" V_KB=$((T_KB > V_KB ? T_KB : V_KB)) v=$T_S
	timed night2 "$M" run --input "$IN" --report "$W/night2.csv" --overwrite --summary "$W/night2.json" --state "$W/state" "${API[@]}" --quiet
	N2_ALL+=" $T_S" N2_KB=$((T_KB > N2_KB ? T_KB : N2_KB))
	log "pair $i: validate ${v}s, night 2 ${T_S}s ($(json "$W/night2.json" requests_sent) requests)"
done
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# shellcheck disable=SC2086
V_S=$(med $V_ALL) N2_S=$(med $N2_ALL)
# shellcheck disable=SC2086
N2_RATIOS=$(paste -d' ' <(printf '%s\n' $N2_ALL) <(printf '%s\n' $V_ALL) | awk '{ print $1 / $2 }' | sort -g |
	awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f / %.2f", v[1], m }')
N2_REQ=$(json "$W/night2.json" requests_sent)
log "night 2: $N2_REQ requests in ${N2_S}s (validate ${V_S}s, pairs $N2_RATIOS; with a report ${VR_S}s), peak RSS $((N2_KB / 1024)) MiB"

# Night 3: 1% of the conversations get a later row with a new custom mark.
CH=$W/changes.csv
awk -F, 'NR > 1 && NR % 100 == 0 { print $1 "," $2 "," $3 "," $4 ",,,night3-" NR "," }' "$IN" >"$W/changes.body"
{ head -n 1 "$IN"; cat "$W/changes.body"; } >"$CH"
{ cat "$IN"; cat "$W/changes.body"; } >"$W/night3.in.csv"
# The lower bound for exactly the changed items: the changed rows' own
# conversations per user, packed 100 a request (conversations repeated in
# the sample count once).
LB=$("$G" -analyze "$CH" | sed -n 's/^lower_bound=//p')
timed night3 "$M" run --input "$W/night3.in.csv" --report "$W/night3.csv" --summary "$W/night3.json" --state "$W/state" "${API[@]}" --rate 10000 --concurrency 64 --quiet
N3_S=$T_S N3_REQ=$(json "$W/night3.json" requests_sent)
log "night 3: $N3_REQ requests (lower bound for the changed items $LB) in ${N3_S}s"

STORE="(skipped: STATE_KEYS=0)"
if ((STATE_KEYS > 0)); then
	log "the store alone: $STATE_KEYS keys (go test -bench Store)"
	STORE=$(cd "$ROOT" && MARKIMPORT_BENCH_KEYS=$STATE_KEYS go test -run '^$' -bench Store -benchtime 1x -timeout 60m ./pipeline/state 2>&1 | grep -E '^Benchmark' || true)
fi

cat <<OUT

## markimport bench-state

Command: \`make bench-state STATE_N=$STATE_N\` (scripts/bench-state.sh); $(nproc) CPUs; $(go version | sed 's/^go version //')
Nightly file: $STATE_N rows, $((STATE_N / 10)) users (markgen -seed 7), $(du -h "$IN" | cut -f1)

| run | requests sent | wall time | peak RSS |
|---|---|---|---|
| night 1 (builds the state; emulator without rate limit) | $N1_REQ | ${N1_S} s | |
| validate (no report) | 0 | ${V_S} s | $((V_KB / 1024)) MiB |
| validate --report | 0 | ${VR_S} s | |
| night 2, the same file, --state (median of $PAIRS, in turns with validate) | $N2_REQ | ${N2_S} s ($(awk -v a="$N2_S" -v b="$V_S" 'BEGIN { printf "%.2f", a / b }')× validate; pairs, min / median: $N2_RATIOS; $(awk -v a="$N2_S" -v b="$VR_S" 'BEGIN { printf "%.2f", a / b }')× validate --report) | $((N2_KB / 1024)) MiB |
| night 3, 1% of conversations changed | $N3_REQ (lower bound for the changed items: $LB) | ${N3_S} s | |

State on disk: $STATE_BYTES bytes for $(json "$W/night1.json" conversations) conversations.

The store alone, $STATE_KEYS keys:

\`\`\`
$STORE
\`\`\`
OUT
