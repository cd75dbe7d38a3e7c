#!/usr/bin/env bash
# Reading an export from object storage against the same files on local
# disk, for the README: `make bench-s3`.
#
#   S3_N        rows of the Parquet export (default 1000000)
#   S3_PAIRS    pairs of runs, bucket and local taking turns (default 3)
#   BENCH_DIR   work directory; the generated export is reused
#               (default /tmp/markimport-bench)
#
# markgen writes the export (one Parquet file in a folder, as a one-part
# export); scripts/s3serve (gofakes3 on a loopback port, a helper of this
# script only) holds it in a bucket. Each pair validates the bucket's
# prefix and the local folder, whole processes timed by /usr/bin/time -v
# (wall time, peak RSS), each pair in the other order than the last. The bytes the server sent for all the bucket runs,
# divided by the runs, are the bytes one validate fetched, set against the
# object's size: a Parquet file is read by its footer and the column chunks
# of the known columns, never whole.
#
# The README quotes S3_PAIRS=4 of 2026-12-05 on a machine at load 19-22 (2
# cores shared): bucket/local 5.82/5.42, 4.81/6.50, 6.74/4.48, 7.11/5.80 s
# (ratios 1.07, 0.74, 1.50, 1.23), peak RSS 138-147 MiB from the bucket,
# 130-139 MiB local; 10,747,495 bytes served per validate for a
# 10,746,995-byte object: markgen writes only columns markimport reads,
# so every chunk is fetched once, plus the listing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/markimport-bench}
N=${S3_N:-1000000}
PAIRS=${S3_PAIRS:-3}
M=$ROOT/bin/markimport
G=$ROOT/bin/markgen
S=$ROOT/bin/s3serve
mkdir -p "$BENCH_DIR"
(cd "$ROOT" && go build -o "$M" ./cmd/markimport && go build -o "$G" ./cmd/markgen && go build -o "$S" ./scripts/s3serve)
log() { echo "bench-s3: $*" >&2; }
EXPORT=$BENCH_DIR/s3-export-n$N
if [[ ! -s $EXPORT/part-00000.parquet ]]; then
	log "generating $EXPORT"
	mkdir -p "$EXPORT"
	"$G" -n "$N" -seed 7 -invalid 0 -o "$EXPORT/part-00000.parquet"
fi
SIZE=$(stat -c %s "$EXPORT/part-00000.parquet")
W=$(mktemp -d "$BENCH_DIR/s3.XXXXXX")
"$S" -bucket lake -put "$EXPORT" -prefix exports/marks/ >"$W/endpoint" 2>"$W/served" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
for _ in $(seq 100); do [[ -s $W/endpoint ]] && break; sleep 0.1; done
export AWS_ENDPOINT_URL_S3=$(head -1 "$W/endpoint") AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
# one timed validate: prints "wall_seconds peak_rss_kib"
timed() {
	/usr/bin/time -v "$M" validate --input "$1" --quiet >/dev/null 2>"$W/time" || [[ $? -le 1 ]]
	awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s }
		/Maximum resident set size/ { r = $2 } END { printf "%.3f %d\n", w, r }' "$W/time"
}
for p in $(seq "$PAIRS"); do
	# taking turns at going first
	if ((p % 2)); then
		read -r bw br < <(timed s3://lake/exports/marks/)
		read -r lw lr < <(timed "$EXPORT")
	else
		read -r lw lr < <(timed "$EXPORT")
		read -r bw br < <(timed s3://lake/exports/marks/)
	fi
	echo "pair $p: bucket ${bw} s, ${br} KiB; local ${lw} s, ${lr} KiB; ratio $(awk -v a="$bw" -v b="$lw" 'BEGIN { printf "%.2f", a / b }')"
done
kill $SERVER
wait $SERVER 2>/dev/null || true
SERVED=$(awk '/bytes_served/ { print $2 }' "$W/served")
awk -v s="$SERVED" -v p="$PAIRS" -v size="$SIZE" 'BEGIN { printf "fetched per validate: %d bytes of a %d-byte object (%.1f%%)\n", s / p, size, 100 * s / p / size }'
