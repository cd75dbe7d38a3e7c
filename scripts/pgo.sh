#!/usr/bin/env bash
# Makes cmd/markimport/default.pgo again: `make pgo`.
#
# default.pgo is a CPU profile of markimport at work. Go's compiler reads it
# whenever it builds the binary (go build, go test ./cmd/markimport, the
# Dockerfile: -pgo=auto, the default; other packages' tests are built
# without it) and optimises the hot paths it shows: it inlines the calls the
# profile finds hot, devirtualises the hot indirect ones (validate through a
# function value, the report lines through their writer's interface, the
# Parquet reader through the readers' interface: go build -gcflags
# 'markimport/...=-m' ./cmd/markimport | grep devirtualizing lists them) and
# lays out the code. Without the file the binary is the same program, slower; a stale
# profile (after the code it saw has moved) costs only what it no longer
# helps: the compiler matches call sites by function and line offset.
#
# What is profiled is where the binary spends its CPU when it is not waiting
# for the API (sending is bound by the quota, 200 requests/s):
#   - validate of the 1M-row bench CSV (as make bench generates it), without
#     and with --report, and of four other shapes: few users (most rows over
#     the 1000-conversation limit), a row per user, 32-hex-digit ids quoted
#     throughout, and 2% of rows invalid;
#   - validate of the same rows in Parquet;
#   - a second night with nothing changed (--state, 200,000 rows) after a
#     first night into fake-server.
# Each run's profile has the weight of its CPU time. The profiles are taken
# from a build without a profile (-pgo=off), so the result does not depend
# on the profile it replaces, and merged by go tool pprof -proto.
#
# Environment: BENCH_DIR (default /tmp/markimport-bench, shared with make
# bench: its files are reused), RUNS (runs of each, default 2).
#
# Measured on 2026-12-06 (Intel Xeon, 2 cores): the build with the profile
# this script wrote against the same code without it, pairs in turns (each
# pair back to back, the median of the pairs' ratios), every output the
# same byte for byte (the reports of validate and night 2): validate of the 1M-row bench CSV wall 0.913 (CPU
# 0.922, 15 pairs), with --report 0.964 (CPU 0.934, 11 pairs), Parquet
# 0.938 (CPU 0.923, 15 pairs), a second night of 2M rows (make
# bench-state's, 0 requests) 0.950 (9 pairs); other shapes, 9 pairs each:
# uuid ids 0.944, and 3 plain columns, a shape not profiled, 0.897. A first
# profile made by hand from much the same runs (no invalid rows, the night
# of 2M rows) gave 0.928, 0.914, 0.952 and 0.921: the figures move by about 3% from one set of pairs to
# the next. Building the binary the first time takes longer (the
# dependencies are compiled with the profile too): 2 min on 2 cores; later
# builds are cached. Made again on 2026-12-07, after a change to Parquet's
# records: against the profile before, 15 pairs, Parquet 0.992 and CSV
# 1.006, within the noise. That profile is the one in the tree: made again
# after the move to arrow-go v18.9.0 (the same day), it gained nothing
# against it (Parquet 0.984, CSV 1.016, 15 pairs each) and was not kept.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/markimport-bench}
RUNS=${RUNS:-2}
OUT=$ROOT/cmd/markimport/default.pgo
log() { echo "pgo: $*" >&2; }
die() {
	log "$*"
	exit 1
}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a whole number of runs, 1 or more: \"$RUNS\""

mkdir -p "$BENCH_DIR"
W=$(mktemp -d "$BENCH_DIR/pgo.XXXXXX")
cleanup() {
	[[ -n ${FAKE_PID:-} ]] && stop_fake "$FAKE_PID"
	rm -rf "$W" "$OUT.tmp"
}
trap cleanup EXIT

M=$W/markimport
MARKGEN=$BENCH_DIR/markgen
log "building markimport without a profile, and markgen"
(cd "$ROOT" && go build -pgo=off -o "$M" ./cmd/markimport && go build -o "$MARKGEN" ./cmd/markgen)

# The files have make bench's names and marks, and are shared with it.
# shellcheck source=scripts/benchfiles.sh
. "$ROOT/scripts/benchfiles.sh" # generate
# shellcheck source=scripts/fakeserver.sh
. "$ROOT/scripts/fakeserver.sh" # start_fake, stop_fake; the key $KEY
BASE=$BENCH_DIR/marks-n1000000-seed1
generate "$BASE.csv" -n 1000000 -seed 1 -invalid 0
generate "$BASE.parquet" -n 1000000 -seed 1 -invalid 0
generate "$BASE-users1000.csv" -n 1000000 -seed 1 -invalid 0 -users 1000
generate "$BASE-users1000000.csv" -n 1000000 -seed 1 -invalid 0 -users 1000000
generate "$BASE-quoteduuid.csv" -n 1000000 -seed 1 -invalid 0 -layout quoted -ids uuid
generate "$BENCH_DIR/marks-n1000000-seed2-invalid2pct.csv" -n 1000000 -seed 2 -invalid 0.02

PROFILES=()
n=0
# profile MAX ARGS...: RUNS runs of markimport ARGS, each with its CPU
# profile; an exit code above MAX fails. validate exits 1 when rows are not
# ok (invalid, or over the 1000-conversation limit), which some of these
# files are on purpose.
profile() {
	local max=$1 i code
	shift
	for ((i = 1; i <= RUNS; i++)); do
		n=$((n + 1))
		code=0
		"$M" "$@" --quiet --cpuprofile "$W/$n.prof" >"$W/$n.out" 2>"$W/$n.err" || code=$?
		((code <= max)) || die "markimport $* failed (exit $code): $(tail -3 "$W/$n.err")"
		PROFILES+=("$W/$n.prof")
	done
}
log "profiling validate"
profile 0 validate --input "$BASE.csv"
profile 0 validate --input "$BASE.csv" --report "$W/report.csv" --overwrite
profile 0 validate --input "$BASE.parquet"
profile 1 validate --input "$BASE-users1000.csv" --report "$W/report.csv" --overwrite
profile 0 validate --input "$BASE-users1000000.csv"
profile 0 validate --input "$BASE-quoteduuid.csv"
profile 1 validate --input "$BENCH_DIR/marks-n1000000-seed2-invalid2pct.csv" --report "$W/report.csv" --overwrite

log "profiling a second night (--state) against fake-server"
NIGHT=$BENCH_DIR/marks-n200000-seed7.csv
generate "$NIGHT" -n 200000 -users 20000 -seed 7 -invalid 0
start_fake night --rate-limit -1
MARKIMPORT_SECRET_KEY=$(cat "$KEY")
export MARKIMPORT_SECRET_KEY
API=(--endpoint "http://$ADDR" --sdkappid 1400000000 --admin administrator)
"$M" run --input "$NIGHT" --report "$W/night1.csv" --summary "$W/night1.json" --state "$W/state" "${API[@]}" --rate 10000 --concurrency 64 --quiet >"$W/night1.out" 2>"$W/night1.err" ||
	die "night 1 failed: $(tail -3 "$W/night1.err")"
profile 0 run --input "$NIGHT" --report "$W/night2.csv" --summary "$W/night2.json" --overwrite --state "$W/state" "${API[@]}"
# The field itself, present and 0 (json would read an absent one as 0).
grep -Eq "\"requests_sent\": *0[,}]" "$W/night2.json" || die "night 2 sent requests: $(cat "$W/night2.json")"
stop_fake "$FAKE_PID"
FAKE_PID=

# Written beside the old one and renamed over it: an interrupted run
# leaves the old profile whole.
go tool pprof -proto "${PROFILES[@]}" >"$OUT.tmp" 2>"$W/pprof.err" || die "go tool pprof failed: $(tail -3 "$W/pprof.err")"
[[ -s $OUT.tmp ]] || die "the merged profile is empty"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT from ${#PROFILES[@]} profiles ($(wc -c <"$OUT") bytes)"
