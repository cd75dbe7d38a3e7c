#!/usr/bin/env bash
# Figures of the incremental mode (--state), for the README: `make bench-state`.
#
#   STATE_N   rows of the nightly file (default 20000000; the 100M-key store
#             benchmark runs with STATE_KEYS, default 100000000)
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
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_N=${STATE_N:-20000000}
STATE_KEYS=${STATE_KEYS:-100000000}
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

timed validate "$M" validate --input "$IN" --quiet
V_S=$T_S V_KB=$T_KB
timed validate-report "$M" validate --input "$IN" --report "$W/v.csv" --overwrite --quiet
VR_S=$T_S
timed night2 "$M" run --input "$IN" --report "$W/night2.csv" --summary "$W/night2.json" --state "$W/state" "${API[@]}" --quiet
N2_S=$T_S N2_KB=$T_KB N2_REQ=$(json "$W/night2.json" requests_sent)
log "night 2: $N2_REQ requests in ${N2_S}s (validate ${V_S}s, with a report ${VR_S}s), peak RSS $((N2_KB / 1024)) MiB"

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

log "the store alone: $STATE_KEYS keys (go test -bench Store)"
STORE=$(cd "$ROOT" && MARKIMPORT_BENCH_KEYS=$STATE_KEYS go test -run '^$' -bench Store -benchtime 1x -timeout 60m ./pipeline/state 2>&1 | grep -E '^Benchmark' || true)

cat <<OUT

## markimport bench-state

Command: \`make bench-state STATE_N=$STATE_N\` (scripts/bench-state.sh); $(nproc) CPUs; $(go version | sed 's/^go version //')
Nightly file: $STATE_N rows, $((STATE_N / 10)) users (markgen -seed 7), $(du -h "$IN" | cut -f1)

| run | requests sent | wall time | peak RSS |
|---|---|---|---|
| night 1 (builds the state; emulator without rate limit) | $N1_REQ | ${N1_S} s | |
| validate (no report) | 0 | ${V_S} s | $((V_KB / 1024)) MiB |
| validate --report | 0 | ${VR_S} s | |
| night 2, the same file, --state | $N2_REQ | ${N2_S} s ($(awk -v a="$N2_S" -v b="$V_S" 'BEGIN { printf "%.2f", a / b }')× validate, $(awk -v a="$N2_S" -v b="$VR_S" 'BEGIN { printf "%.2f", a / b }')× validate --report) | $((N2_KB / 1024)) MiB |
| night 3, 1% of conversations changed | $N3_REQ (lower bound for the changed items: $LB) | ${N3_S} s | |

State on disk: $STATE_BYTES bytes for $(json "$W/night1.json" conversations) conversations.

The store alone, $STATE_KEYS keys:

\`\`\`
$STORE
\`\`\`
OUT
