#!/usr/bin/env bash
# Outputs and state in object storage, for the README: `make bench-s3out`
# (also a section of `make bench`).
#
#   S3OUT_N        rows of the nightly file for the state figure (default
#                  1,000,000; 100,000 users; the README's 20M figure of
#                  local state is make bench-state)
#   S3_LATENCY     delay of the S3 server before each answer (default 20ms,
#                  a PUT to a bucket in the same region)
#   BENCH_DIR      work directory (default /tmp/markimport-bench)
#
# The S3 server is scripts/s3slow (gofakes3 in memory, on loopback), the
# IM API `markimport fake-server`.
#
# 1. --backup: the send file of make bench-backup (60,000 rows, 6,113
#    requests) against a fake-server answering in 100 ms, once with the
#    backup on local disk and once in the bucket, taking turns. In the
#    bucket each group commit of the journal is also one PUT of a segment
#    before the requests it covers leave; the figure is requests/s while
#    sending, and the backup's rows. A third run puts the report in the
#    bucket too: its journal goes up as a segment per checkpoint (at most
#    one PUT a second) for --resume in a new container.
# 2. --state: night 1 builds the state (emulator without rate limit), once
#    in a local folder and once in the bucket; night 2, the same file,
#    sends nothing. The figure is night 2's wall time with the state in the
#    bucket over the same with the state on disk (each night from a fresh
#    --temp-dir: the bucket's night pulls the state first).
#
# 2026-12-05, S3OUT_N=20000000 (load 3-4, other builds beside it): backup
# 198.3 requests/s on disk, 198.1 in the bucket (54,569 rows each); night 2
# of 20M rows, 0 requests, 13.54 and 13.81 s with the state on disk, 14.93
# and 14.34 s in the bucket: 1.07x. S3OUT_N=100000 (load 2-4): backup 198.3
# requests/s on disk, 197.5 in the bucket, 198.0 with the report's journal
# mirrored to the bucket as well.
# 2026-12-06: the backup's checks mirrored too (_NNNNNNNN.check, a second
# PUT per group commit, after its segment's), against the build before
# them (06fa2dd), the bucket run of 1. alone, in turns, 3 pairs at load
# 5-8: 197.1, 194.7, 194.6 requests/s against 197.3, 198.1, 195.5 (within
# 1.7% a pair, the noise of a loaded machine's send rate).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/markimport-bench}
N=${S3OUT_N:-1000000}
S3_LATENCY=${S3_LATENCY:-20ms}
M=$ROOT/bin/markimport
G=$ROOT/bin/markgen
S=$ROOT/bin/s3slow
mkdir -p "$BENCH_DIR"
(cd "$ROOT" && go build -o "$M" ./cmd/markimport && go build -o "$G" ./cmd/markgen && go build -o "$S" ./scripts/s3slow)
log() { echo "bench-s3out: $*" >&2; }
W=$(mktemp -d "$BENCH_DIR/s3out.XXXXXX")
S3PID=
trap '[[ -n $S3PID ]] && kill $S3PID 2>/dev/null; rm -rf "$W"' EXIT
# shellcheck source=scripts/fakeserver.sh
. "$ROOT/scripts/fakeserver.sh"
make_profile

: >"$W/s3.out"
"$S" -bucket bench -latency "$S3_LATENCY" >"$W/s3.out" 2>&1 &
S3PID=$!
for ((i = 0; i < 100; i++)); do
	S3URL=$(sed -n 's|^s3slow listening on ||p' "$W/s3.out" || true)
	[[ -n $S3URL ]] && break
	sleep 0.1
done
export AWS_ENDPOINT_URL_S3=$S3URL AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true

SEND=$BENCH_DIR/backup-n60000.csv
[[ -s $SEND ]] || "$G" -n 60000 -users 6000 -seed 1 -invalid 0 -o "$SEND"
backup_run() { # NAME BACKUP [REPORT]: RPS and ROWS of one run
	start_fake "$1" --latency 100ms
	MARKIMPORT_SECRET_KEY=$(cat "$KEY") "$M" run --input "$SEND" --report "${3:-$W/$1.csv}" --summary "$W/$1.json" --backup "$2" \
		--temp-dir "$W" --endpoint "http://$ADDR" --sdkappid 1400000000 --admin administrator --profile "$W/profile.json" --quiet >"$W/$1.out" 2>&1 || true
	stop_fake "$FAKE_PID"
	RPS=$(printf '%.1f' "$(json "$W/$1.json" requests_per_second)") ROWS=$(json "$W/$1.json" backup_rows)
}
log "backup on disk"
backup_run local "$W/backup.csv"
L_RPS=$RPS L_ROWS=$ROWS
log "backup in the bucket"
backup_run bucket "s3://bench/backup.csv"
B_RPS=$RPS B_ROWS=$ROWS
log "backup and report in the bucket (the report's journal mirrored each second)"
backup_run both "s3://bench/backup2.csv" "s3://bench/report.csv"
R_RPS=$RPS R_ROWS=$ROWS

IN=$BENCH_DIR/s3out-n$N.csv
[[ -s $IN ]] || "$G" -n "$N" -users "$((N / 10))" -seed 7 -invalid 0 -o "$IN"
start_fake state --rate-limit -1
API=(--endpoint "http://$ADDR" --sdkappid 1400000000 --admin administrator)
timed() { # NAME CMD...: wall seconds in T_S
	local name=$1
	shift
	mkdir -p "$W/tmp-$name"
	/usr/bin/time -f '%e' -o "$W/$name.time" "$@" --temp-dir "$W/tmp-$name" >"$W/$name.out" 2>&1 || true
	T_S=$(cat "$W/$name.time")
}
export MARKIMPORT_SECRET_KEY
MARKIMPORT_SECRET_KEY=$(cat "$KEY")
for where in local bucket; do
	st=$W/state
	[[ $where == bucket ]] && st=s3://bench/state/
	log "night 1, state $where ($N rows)"
	timed "n1-$where" "$M" run --input "$IN" --report "$W/n1-$where.csv" --state "$st" "${API[@]}" --rate 10000 --concurrency 64 --quiet
done
for where in local bucket local bucket; do
	st=$W/state
	[[ $where == bucket ]] && st=s3://bench/state/
	rm -rf "$W/tmp-n2-$where"
	timed "n2-$where" "$M" run --input "$IN" --report "$W/n2-$where.csv" --summary "$W/n2-$where.json" --overwrite --state "$st" "${API[@]}" --quiet
	eval "N2_${where}=\"\${N2_${where}:-} $T_S\""
	eval "R2_${where}=$(json "$W/n2-$where.json" requests_sent)"
done
stop_fake "$FAKE_PID"

cat <<OUT


Command: \`make bench-s3out\` (scripts/bench-s3out.sh); $(nproc) CPUs; $(go version | sed 's/^go version //'); S3 latency $S3_LATENCY

| figure | on disk | in the bucket |
|---|---|---|
| run --backup, 6,113 requests at 100 ms: requests/s while sending | $L_RPS ($L_ROWS rows) | $B_RPS ($B_ROWS rows) |
| the same with --report in the bucket too (its journal mirrored) | | $R_RPS ($R_ROWS rows) |
| night 2 of $N rows with --state: wall seconds (two each), requests | ${N2_local} ($R2_local) | ${N2_bucket} ($R2_bucket) |
OUT
