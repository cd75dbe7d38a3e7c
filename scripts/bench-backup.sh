#!/usr/bin/env bash
# The cost of --backup, for the README: `make bench-backup` (also the last
# section of `make bench`).
#
#   BACKUP_CSV    the file to send (default: the send dataset of make bench,
#                 about 6,000 requests, generated when missing)
#   BACKUP_PAIRS  pairs of runs, with and without --backup, taking turns
#                 (default 2)
#   BENCH_DIR     work directory (default /tmp/markimport-bench)
#
# Each run sends the file to a fresh `markimport fake-server` answering
# both APIs in 100 ms, at the API's 200 requests/s. A run with --backup
# first reads every user's conversations back (search_contact_group, 300
# a request, on the read API's own 200/s) and makes the restore rows
# durable before the user's writes leave. It prints, per pair, the wall
# times and their ratio, the reads against ceil(conversations/300) per
# user, and the emulator's peaks per API; then one run --mode insert, and
# the read-to-write window per user of the backup and insert runs.
#
# The README quotes `make bench-backup BACKUP_PAIRS=3` on a quiet moment of
# the machine (load average 1.1), on the 60,000-row send file (6,000 users,
# 54,569 conversations, 6,113 requests): run 31.04-31.06 s, run --backup
# 31.17-31.18 s, ratio 1.004-1.005 (goal: within 5%), 198.2-198.3 requests/s
# while sending, peaks of 200/s on mark_contact and search_contact_group, no
# throttle; 5,997 reads, exactly ceil(conversations/300) per user (markgen
# -analyze's read_lower_bound), and 54,569 backup rows, each fsynced before
# its writes leave. run --mode insert: 31.14 s, 5,997 reads. The window per
# user, from the read's answer to the last write's answer, was 0.14 s at the
# median, 0.46 s at p99 and 0.56 s at most, for both.
#
# Pitfalls. Runs take turns (with, without) so that the machine's drift falls
# on both; each uses a fresh emulator, so no run finds the marks of the one
# before (which would turn writes into unchanged rows). The wall times alone
# do not show the window: before the readers and writers waited in their
# planners rather than at the pacers, the same runs took the same time, but
# the window was 1.5 s at the median and 1.8 s at p99, because 216 idle
# workers each held a request, already read, in front of the pacer. What
# keeps it short: the read-back reads only as far ahead of the sender as the
# reads take (three times their measured latency at the send rate, at least
# 16 and at most 256 requests), and on each API at most a tenth of a second
# of requests (20 at 200/s) wait at the pacer.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/markimport-bench}
PAIRS=${BACKUP_PAIRS:-2}
M=$ROOT/bin/markimport
G=$ROOT/bin/markgen
mkdir -p "$BENCH_DIR"
(cd "$ROOT" && go build -o "$M" ./cmd/markimport && go build -o "$G" ./cmd/markgen)
log() { echo "bench-backup: $*" >&2; }
W=$(mktemp -d "$BENCH_DIR/backup.XXXXXX")
trap 'rm -rf "$W"' EXIT
IN=${BACKUP_CSV:-$BENCH_DIR/backup-n60000.csv}
if [[ ! -s $IN ]]; then
	log "generating $IN"
	"$G" -n 60000 -users 6000 -seed 1 -invalid 0 -o "$IN"
fi
# shellcheck source=scripts/fakeserver.sh
. "$ROOT/scripts/fakeserver.sh"
make_profile

# one NAME [FLAGS...]: one run against a fresh emulator; sets WALL, READS,
# PEAKS and the summary's figures.
one() {
	local name=$1
	shift
	local out=$W/$name.fake
	start_fake "$name" --latency 100ms
	local pid=$FAKE_PID addr=$ADDR
	local start end
	start=$(date +%s.%N)
	MARKIMPORT_SECRET_KEY=$(cat "$KEY") "$M" run --input "$IN" --report "$W/$name.csv" --summary "$W/$name.json" \
		--endpoint "http://$addr" --sdkappid 1400000000 --admin administrator --profile "$W/profile.json" --quiet "$@" >"$W/$name.out" 2>"$W/$name.err" || true
	end=$(date +%s.%N)
	stop_fake "$pid"
	WALL=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	REQS=$(json "$W/$name.json" requests_sent)
	READS=$(json "$W/$name.json" read_requests)
	ROWS=$(json "$W/$name.json" backup_rows)
	THR=$(json "$W/$name.json" throttled)
	RPS=$(printf '%.1f' "$(json "$W/$name.json" requests_per_second)")
	WIN="$(json "$W/$name.json" read_to_write.p50_seconds) / $(json "$W/$name.json" read_to_write.p99_seconds) / $(json "$W/$name.json" read_to_write.max_seconds)"
	PEAKS=$(grep '^fake-server stopped:' "$out" | sed -n 's|.*peak \([0-9]*\)/s mark_contact.*|\1|p')
	RPEAK=$(grep '^fake-server stopped:' "$out" | sed -n 's|.*search_contact_group [0-9]* requests ([0-9]* throttled, peak \([0-9]*\)/s).*|\1|p')
	log "$name: ${WALL}s, $REQS requests sent, $READS reads, $ROWS backup rows, throttled $THR, peaks mark_contact ${PEAKS:-?}/s search ${RPEAK:--}/s"
}

READ_LOWER=$("$G" -analyze "$IN" | sed -n 's/^read_lower_bound=//p')
LINES=()
RATIOS=()
for ((p = 1; p <= PAIRS; p++)); do
	one plain$p
	P_WALL=$WALL P_REQS=$REQS P_PEAK=$PEAKS P_THR=$THR P_RPS=$RPS
	one backup$p --backup "$W/backup$p.restore.csv"
	RATIO=$(awk -v a="$WALL" -v b="$P_WALL" 'BEGIN { printf "%.3f", a / b }')
	RATIOS+=("$RATIO")
	LINES+=("| $p | $P_WALL s | $WALL s | $RATIO | $P_REQS / $REQS | $P_RPS / $RPS | $READS | $ROWS | ${P_PEAK:-?} / ${PEAKS:-?} / ${RPEAK:-?} | $P_THR / $THR |")
	B_WIN=$WIN
done
one insert --mode insert
I_WALL=$WALL I_WIN=$WIN I_READS=$READS
MEDIAN=$(printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
cat <<EOT

### The cost of --backup (fake-server at 100 ms latency on both APIs; \`make bench-backup\`)

Input: $(basename "$IN"), $(($(wc -l <"$IN") - 1)) rows. Pairs taken in turn, each run against a fresh emulator.

| pair | run | run --backup | ratio | requests sent (run / backup) | requests/s while sending (run / backup) | reads | backup rows | peaks/s: mark_contact (run / backup) / search | throttled (run / backup) |
|---|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${LINES[@]}")

Reads: ceil(conversations/300) per user is $READ_LOWER for this file.
Median ratio run --backup / run: $MEDIAN (goal ≤ 1.05).

Read-to-write window per user (from the read's answer to the last write's answer; p50 / p99 / max
seconds): run --backup (last pair) $B_WIN; run --mode insert (${I_WALL} s, $I_READS reads) $I_WIN.
EOT
