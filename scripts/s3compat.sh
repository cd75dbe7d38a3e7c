#!/usr/bin/env bash
# Object storage against independent S3 servers: `make s3compat` (not part
# of make test). The Go tests use gofakes3 in process; this rehearses the
# same features against other servers that the script starts itself on
# loopback, each in a fresh folder:
#
#   s3rver     npm, pinned in scripts/package.json (npm ci when missing)
#   moto       moto_server (pip moto[server]), when installed
#   seaweedfs  `weed server -s3`: bin/weed or `weed` on the PATH, else
#              built from the Go module proxy into bin/weed (a few minutes
#              once; S3COMPAT_BUILD_WEED=0: skipped instead)
#
# A server that is not installed is reported "skipped", not failed. Each
# server is checked twice, with the AWS SDK's default checksums and with
# AWS_REQUEST_CHECKSUM_CALCULATION=when_required and
# AWS_RESPONSE_CHECKSUM_VALIDATION=when_required (COS's recipe), each in a
# bucket of its own. The IM API is the tool's emulator: `run --fake
# --fake-state FILE` where its marks are compared (the file is the whole
# state, sorted), `markimport fake-server` where a run is killed. The
# objects are put and listed by scripts/s3cli (the AWS SDK). Checks:
#
#  hive     DuckDB's Hive-partitioned exports (testdata/lake, Parquet and
#           CSV, keys with %-escapes) imported from the bucket and from
#           local disk into two fresh emulators: the same marks (the state
#           files byte for byte), the same report (sorted: lines are in
#           send order), the same counts and exit code.
#  outputs  --report, --rejects, --summary, --backup as s3:// objects:
#           these four and the backup's KEY.check, nothing else (no lease,
#           no journal); report, rejects and backup as a run with local
#           outputs writes them; a second run is refused (exit 2) without
#           --overwrite, and with it because of the backup, the objects
#           unchanged (key, size, ETag, time, SHA-256 of the bytes); a
#           run with --overwrite and no backup replaces the report and
#           the summary, and the listing shows it.
#  nights   three nights with --state s3://BUCKET/state/: night 1 sends
#           what a run without state sends, night 2 nothing (exit 0),
#           night 3 (some conversations changed, some new) exactly the
#           requests and items of the changed conversations alone, and
#           leaves the marks those give.
#  rollback fake-server holds a seed; a run with --backup s3://... at 20
#           requests/s is killed with kill -9 once its journal has
#           segments in the bucket; `run --input s3://.../KEY.journal/`
#           from a fresh --temp-dir exits 0, then verify of the journal
#           and of the seed exit 0, and so does verify of every bit and
#           custom mark of the seed's conversations (as a reference
#           emulator holds them after the seed alone), the import's new
#           conversations empty: every mark as before (these verifies
#           pass before the kill and fail between it and the rollback).
#  (info)   whether the server refuses a PUT If-None-Match: * over an
#           object and a GET If-Match with a stale ETag (s3cli probe).
#  large    validate of a 700,000-row file with --report and --rejects in
#           the bucket: the report, past 16 MiB, goes up as a multipart
#           upload; both objects are the files written on disk.
#  resume   a run with --report, --summary and --backup in the bucket is
#           killed with kill -9; `run --resume` in an empty --temp-dir
#           (retried while the killed run's lease, 2 minutes, holds)
#           finishes it: exit 0, every row ok in the report object, the
#           backup and its check present, verify of the input exit 0;
#           then that backup, read from the bucket, rolls the import back
#           (exit 0, and verify of it exit 0).
#
# Needs go, node/npm (s3rver), python3, curl; about 4 minutes a server and
# checksum setting, most of it the resume's wait for the lease.
#
#   S3COMPAT_SERVERS    servers to try (default "s3rver moto seaweedfs")
#   S3COMPAT_CHECKSUMS  default and/or when_required (default both)
#   S3COMPAT_CHECKS     some of hive outputs nights large rollback (default:
#                       all of them and resume)
#   S3COMPAT_KEEP=1     keep the work folder (its path is printed)
#
# Exit 0 when every check of every server started passed; the last lines
# are a table of results per server.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=${S3COMPAT_SERVERS:-s3rver moto seaweedfs}
CHECKSUMS=${S3COMPAT_CHECKSUMS:-default when_required}
M=$ROOT/bin/markimport
G=$ROOT/bin/markgen
C=$ROOT/bin/s3cli
(cd "$ROOT" && go build -o "$M" ./cmd/markimport && go build -o "$G" ./cmd/markgen && go build -o "$C" ./scripts/s3cli)
log() { echo "s3compat: $*" >&2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/s3compat.XXXXXX")
PIDS=()
cleanup() {
	if ((${#RESULTS[@]})); then
		echo
		echo "s3compat results ($(date -u +%Y-%m-%d)):"
		printf '  %s\n' "${RESULTS[@]}"
	fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ ${S3COMPAT_KEEP:-} == 1 ]]; then log "work folder kept: $W"; else rm -rf "$W"; fi
}
RESULTS=()
trap cleanup EXIT
# A command failing outside the checks' own tests ends the script (set -e),
# saying which; the results so far are printed at exit.
set -E
trap 'log "line $LINENO failed ($BASH_COMMAND): the script stops here"' ERR
# shellcheck source=scripts/fakeserver.sh
. "$ROOT/scripts/fakeserver.sh"
make_profile
export MARKIMPORT_SECRET_KEY
MARKIMPORT_SECRET_KEY=$(cat "$KEY")
API=(--sdkappid 1400000000 --admin administrator --profile "$W/profile.json")

# The inputs: a seed and an import over the same 300 users (the import
# changes some of the seed's conversations and adds others), and the
# nightly file.
"$G" -n 3000 -users 300 -seed 11 -invalid 0 -o "$W/seed.csv"
"$G" -n 3000 -users 300 -seed 12 -invalid 0 -o "$W/import.csv"
"$G" -n 4000 -users 400 -seed 13 -invalid 0 -o "$W/night1.csv"
# Night 3: night 1 plus rows that change 40 existing conversations (a new
# custom mark, appended so it is the last word) and add 25 new ones;
# changed.csv holds every row of night 3 of those 65 conversations.
python3 - "$W/night1.csv" "$W/night3.csv" "$W/changed.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
cols = list(rows[0].keys())
conv = lambda r: (r['from_account'], 'g' if r['to_group_id'] else 'c', r['to_group_id'] or r['to_account'])
seen = []
for r in rows:
    if conv(r) not in seen and r['to_account']:
        seen.append(conv(r))
    if len(seen) == 40:
        break
extra = []
for i, (user, _, peer) in enumerate(seen):
    extra.append({**dict.fromkeys(cols, ''), 'from_account': user, 'type': 'c2c', 'to_account': peer, 'set_mark': '33', 'custom_mark': 'night3-%d' % i})
for i in range(25):
    extra.append({**dict.fromkeys(cols, ''), 'from_account': rows[i * 7]['from_account'], 'type': 'c2c', 'to_account': 'newpeer%d' % i, 'set_mark': '[0,34]'})
changed = {conv(r) for r in extra}
assert len(changed) == 65
for path, out in ((sys.argv[2], rows + extra), (sys.argv[3], [r for r in rows + extra if conv(r) in changed])):
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator='\n')
        w.writeheader()
        w.writerows(out)
EOF

# The seed's marks, every bit: the emulator's state after the seed alone
# (run --fake), written as one row a conversation that sets its bits,
# clears all the others and sets its custom mark (exact-seed.csv), and the
# conversations only the import names as rows clearing everything
# (exact-new.csv): verify of the first must match every row, of the
# second find each conversation empty or missing.
"$M" run --fake --fake-state "$W/seed-state.json" --input "$W/seed.csv" --report "$W/seed-state.csv" --quiet >"$W/seed-state.out" 2>&1
python3 - "$W/seed-state.json" "$W/import.csv" "$W/exact-seed.csv" "$W/exact-new.csv" <<'EOF'
import csv, json, sys
state = json.load(open(sys.argv[1]))
cols = ['from_account', 'type', 'to_account', 'to_group_id', 'set_mark', 'clear_mark', 'custom_mark', 'opt_type']
def row(user, group, peer, std, custom):
    bits = lambda want: '[' + ','.join(str(b) for b in range(64) if (std >> b & 1) == want) + ']'
    return {'from_account': user, 'type': 'group' if group else 'c2c', 'to_account': '' if group else peer,
            'to_group_id': peer if group else '', 'set_mark': bits(1) if std else '', 'clear_mark': bits(0),
            'custom_mark': custom, 'opt_type': '3'}
seeded = set()
with open(sys.argv[3], 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=cols, lineterminator='\n')
    w.writeheader()
    for user, marks in sorted(state.items()):
        for m in marks:
            seeded.add((user, m['type'] == 2, m['peer']))
            w.writerow(row(user, m['type'] == 2, m['peer'], m['standard'], m.get('custom', '')))
new = set()
for r in csv.DictReader(open(sys.argv[2], newline='')):
    k = (r['from_account'], bool(r['to_group_id']), r['to_group_id'] or r['to_account'])
    if k not in seeded:
        new.add(k)
with open(sys.argv[4], 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=cols, lineterminator='\n')
    w.writeheader()
    for k in sorted(new):
        w.writerow(row(*k, 0, ''))
EOF

# The large check's file: its report is past 16 MiB, so it goes up as a
# multipart upload.
"$G" -n 700000 -users 7000 -seed 14 -invalid 0.01 -o "$W/large.csv"

# --- the servers: each sets S3URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# and S3PID, or returns 1 when it is not installed.
free_ports() { # N: N distinct free loopback ports, all bound at once while chosen
	python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
wait_line() { # FILE SED-EXPR: the first match, within 30 s
	local v
	for ((i = 0; i < 300; i++)); do
		v=$(sed -n "$2" "$1" 2>/dev/null | head -1)
		[[ -n $v ]] && { echo "$v"; return 0; }
		sleep 0.1
	done
	return 1
}
wait_http() { # URL: any HTTP answer within 60 s
	for ((i = 0; i < 600; i++)); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	return 1
}
start_s3rver() {
	local s3rver=$ROOT/scripts/node_modules/.bin/s3rver
	if [[ ! -x $s3rver ]]; then
		command -v npm >/dev/null || return 1
		(cd "$ROOT/scripts" && npm ci --no-audit --no-fund --loglevel=error) >&2 || return 1
	fi
	mkdir -p "$1/data"
	"$s3rver" -d "$1/data" -a 127.0.0.1 -p 0 >"$1/server.out" 2>&1 &
	S3PID=$!
	PIDS+=("$S3PID")
	S3URL=http://$(wait_line "$1/server.out" 's|^S3rver listening on ||p') || return 1
	AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
}
start_moto() {
	command -v moto_server >/dev/null || return 1
	local port
	port=$(free_ports 1)
	moto_server -H 127.0.0.1 -p "$port" >"$1/server.out" 2>&1 &
	S3PID=$!
	PIDS+=("$S3PID")
	S3URL=http://127.0.0.1:$port
	wait_http "$S3URL" || return 1
	AWS_ACCESS_KEY_ID=moto AWS_SECRET_ACCESS_KEY=moto
}
# SeaweedFS's weed, built from the Go module proxy into bin/weed when
# missing (its go.mod has a replace directive, so `go install` refuses it:
# it is built as the main module, in a copy of the downloaded source).
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
build_weed() {
	[[ ${S3COMPAT_BUILD_WEED:-1} == 1 ]] || return 1
	log "building SeaweedFS $WEED_VERSION into bin/weed (once)"
	local dir
	dir=$(cd "$W" && GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') || return 1
	rm -rf "$W/weed-src" && cp -r "$dir" "$W/weed-src" && chmod -R u+w "$W/weed-src"
	(cd "$W/weed-src" && go build -o "$ROOT/bin/weed" ./weed) >"$W/weed-build.out" 2>&1 || { tail -3 "$W/weed-build.out" >&2; return 1; }
	rm -rf "$W/weed-src"
}
start_seaweedfs() {
	local weed
	weed=$(command -v "$ROOT/bin/weed" weed 2>/dev/null | head -1) || true
	if [[ -z $weed ]]; then
		build_weed || return 1
		weed=$ROOT/bin/weed
	fi
	local p
	# gRPC's ports too: their default, port+10000, may not exist. Volumes
	# as many as the disk holds: each bucket takes several of its own, and
	# the default of 8 runs out at the second bucket (writes then fail).
	read -ra p <<<"$(free_ports 8)"
	mkdir -p "$1/data"
	"$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$1/data" -master.port="${p[0]}" -master.port.grpc="${p[1]}" \
		-volume.port="${p[2]}" -volume.port.grpc="${p[3]}" -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" \
		-s3 -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" -master.volumeSizeLimitMB=64 -volume.max=0 >"$1/server.out" 2>&1 &
	S3PID=$!
	PIDS+=("$S3PID")
	S3URL=http://127.0.0.1:${p[6]}
	wait_http "$S3URL" || return 1
	AWS_ACCESS_KEY_ID=weed AWS_SECRET_ACCESS_KEY=weed
}

# --- checks
FAILED=0
CASE=
pass() { RESULTS+=("$CASE $1 ok${2:+ $2}"); log "$CASE $1: ok${2:+ $2}"; }
fail() { RESULTS+=("$CASE $1 FAILED: $2"); FAILED=1; log "$CASE $1: FAILED: $2"; }
# mi NAME ARGS...: markimport with its output in $D/NAME.out; the exit code in RC.
mi() {
	local name=$1
	shift
	"$M" "$@" --quiet >"$D/$name.out" 2>&1 && RC=0 || RC=$?
}
jget() { json "$1" "$2"; }

hive_check() {
	local fmt ok=1 why=''
	for fmt in parquet csv; do
		"$C" put "$BK" "lake/hive-$fmt/" "$ROOT/testdata/lake/duckdb_hive_$fmt"
		mi hive-$fmt-b run --fake --fake-state "$D/hive-$fmt-b.json" --input "s3://$BK/lake/hive-$fmt/" --report "$D/hive-$fmt-b.csv" --summary "$D/hive-$fmt-b.sum.json" --temp-dir "$D"
		local rb=$RC
		mi hive-$fmt-l run --fake --fake-state "$D/hive-$fmt-l.json" --input "$ROOT/testdata/lake/duckdb_hive_$fmt/" --report "$D/hive-$fmt-l.csv" --summary "$D/hive-$fmt-l.sum.json" --temp-dir "$D"
		local rl=$RC
		if [[ $rb != "$rl" || $rl -gt 1 ]]; then
			ok=0 why+="$fmt: exit $rb from the bucket, $rl from disk ($(tail -1 "$D/hive-$fmt-b.out")); "
			continue
		fi
		cmp -s "$D/hive-$fmt-b.json" "$D/hive-$fmt-l.json" || { ok=0 why+="$fmt: the emulators' marks differ; "; }
		cmp -s <(sort "$D/hive-$fmt-b.csv") <(sort "$D/hive-$fmt-l.csv") || { ok=0 why+="$fmt: the reports differ; "; }
		local k
		for k in rows statuses.ok statuses.invalid requests_sent items_sent conversations; do
			[[ $(jget "$D/hive-$fmt-b.sum.json" $k) == "$(jget "$D/hive-$fmt-l.sum.json" $k)" ]] || { ok=0 why+="$fmt: $k differs; "; }
		done
		[[ $(jget "$D/hive-$fmt-b.sum.json" items_sent) -gt 0 ]] || { ok=0 why+="$fmt: nothing sent; "; }
	done
	if ((ok)); then pass hive; else fail hive "$why"; fi
}

outputs_check() {
	local ok=1 why='' out="s3://$BK/out"
	local args=(--input "s3://$BK/lake/hive-csv/" --report "$out/report.csv" --rejects "$out/rejects.csv" --summary "$out/summary.json" --backup "$out/backup.csv")
	mi out1 run --fake --fake-state "$D/out.json" "${args[@]}" --temp-dir "$D"
	[[ $RC == 1 ]] || { fail outputs "first run: exit $RC, not 1 (invalid rows): $(tail -2 "$D/out1.out")"; return; }
	mi out-l run --fake --fake-state "$D/out-l.json" --input "$ROOT/testdata/lake/duckdb_hive_csv/" --report "$D/out-l.csv" \
		--rejects "$D/out-l-rejects.csv" --summary "$D/out-l.json.sum" --backup "$D/out-l-backup.csv" --temp-dir "$D"
	"$C" ls "$BK" out/ >"$D/out.ls1"
	local keys
	keys=$(awk '{print $1}' "$D/out.ls1" | tr '\n' ' ')
	[[ $keys == "out/backup.csv out/backup.csv.check out/rejects.csv out/report.csv out/summary.json " ]] || { ok=0 why+="objects: $keys; "; }
	local f
	for f in report rejects backup; do
		local l=$D/out-l.csv
		[[ $f == rejects ]] && l=$D/out-l-rejects.csv
		[[ $f == backup ]] && l=$D/out-l-backup.csv
		"$C" get "$BK" "out/$f.csv" "$D/out-$f.got"
		cmp -s <(sort "$D/out-$f.got") <(sort "$l") || { ok=0 why+="$f differs from the local run's; "; }
	done
	"$C" get "$BK" out/summary.json "$D/out-summary.got"
	[[ $(jget "$D/out-summary.got" statuses.ok) == "$(jget "$D/out-l.json.sum" statuses.ok)" && $(jget "$D/out-summary.got" backup_rows) -gt 0 ]] ||
		{ ok=0 why+="summary object: ok $(jget "$D/out-summary.got" statuses.ok), backup_rows $(jget "$D/out-summary.got" backup_rows); "; }
	mi out2 run --fake --fake-state "$D/out.json" "${args[@]}" --temp-dir "$D"
	[[ $RC == 2 ]] || { ok=0 why+="second run without --overwrite: exit $RC; "; }
	"$C" ls "$BK" out/ >"$D/out.ls2"
	cmp -s "$D/out.ls1" "$D/out.ls2" || { ok=0 why+="objects changed by the refused run; "; }
	mi out3 run --fake --fake-state "$D/out.json" "${args[@]}" --overwrite --temp-dir "$D"
	[[ $RC == 2 ]] || { ok=0 why+="second run with --overwrite over the backup: exit $RC; "; }
	"$C" ls "$BK" out/ >"$D/out.ls3"
	cmp -s "$D/out.ls1" "$D/out.ls3" || { ok=0 why+="objects changed by the refused --overwrite run; "; }
	# The control: with --overwrite and no backup the report and summary
	# are replaced (another input, so other bytes), which the listing sees.
	mi out4 run --fake --fake-state "$D/out.json" --input "s3://$BK/lake/hive-parquet/" --report "$out/report.csv" --summary "$out/summary.json" --overwrite --temp-dir "$D"
	[[ $RC == 1 ]] || { ok=0 why+="a run with --overwrite and no backup: exit $RC; "; }
	"$C" ls "$BK" out/ >"$D/out.ls4"
	[[ $(diff "$D/out.ls1" "$D/out.ls4" | grep -c '^>') == 2 && $(grep -c '^out/report.csv ' "$D/out.ls4") == 1 ]] ||
		{ ok=0 why+="--overwrite did not replace the report and summary alone: $(diff "$D/out.ls1" "$D/out.ls4" | grep '^>' | awk '{print $2}' | tr '\n' ' '); "; }
	if ((ok)); then pass outputs; else fail outputs "$why"; fi
}

nights_check() {
	local ok=1 why='' st="s3://$BK/state/"
	# The references, without state: night 1 alone, then the changed
	# conversations alone on top of it.
	mi ref1 run --fake --fake-state "$D/ref.json" --input "$W/night1.csv" --report "$D/ref1.csv" --summary "$D/ref1.sum" --temp-dir "$D"
	mi ref3 run --fake --fake-state "$D/ref.json" --input "$W/changed.csv" --report "$D/ref3.csv" --summary "$D/ref3.sum" --temp-dir "$D"
	local n
	for n in 1 2 3; do
		local in=$W/night$n.csv
		[[ $n == 2 ]] && in=$W/night1.csv
		mkdir -p "$D/night$n-tmp"
		mi night$n run --fake --fake-state "$D/nights.json" --input "$in" --state "$st" --report "$D/night$n.csv" --summary "$D/night$n.sum" --temp-dir "$D/night$n-tmp"
		[[ $RC == 0 ]] || { ok=0 why+="night $n: exit $RC ($(tail -1 "$D/night$n.out")); "; }
	done
	local r1 r3 i3
	r1=$(jget "$D/ref1.sum" requests_sent) r3=$(jget "$D/ref3.sum" requests_sent) i3=$(jget "$D/ref3.sum" items_sent)
	[[ $r1 -gt 0 && $(jget "$D/night1.sum" requests_sent) == "$r1" && $(jget "$D/night1.sum" items_sent) == "$(jget "$D/ref1.sum" items_sent)" ]] ||
		{ ok=0 why+="night 1: $(jget "$D/night1.sum" requests_sent) requests, not $r1; "; }
	[[ $(jget "$D/night2.sum" requests_sent) == 0 && $(jget "$D/night2.sum" statuses.unchanged) == 4000 ]] ||
		{ ok=0 why+="night 2: $(jget "$D/night2.sum" requests_sent) requests, $(jget "$D/night2.sum" statuses.unchanged) unchanged; "; }
	[[ $i3 == 65 && $(jget "$D/night3.sum" requests_sent) == "$r3" && $(jget "$D/night3.sum" items_sent) == 65 ]] ||
		{ ok=0 why+="night 3: $(jget "$D/night3.sum" requests_sent) requests and $(jget "$D/night3.sum" items_sent) items, not $r3 and 65 ($i3); "; }
	cmp -s "$D/nights.json" "$D/ref.json" || { ok=0 why+="the marks after night 3 differ from the reference's; "; }
	if ((ok)); then pass nights "(requests $r1, 0, $r3)"; else fail nights "$why"; fi
}

large_check() {
	local ok=1 why=''
	mi large-b validate --input "$W/large.csv" --report "s3://$BK/large/report.csv" --rejects "s3://$BK/large/rejects.csv" --temp-dir "$D"
	local rb=$RC
	mi large-l validate --input "$W/large.csv" --report "$D/large-l.csv" --rejects "$D/large-l-rejects.csv" --temp-dir "$D"
	[[ $rb == 1 && $RC == 1 ]] || { ok=0 why+="exit $rb to the bucket, $RC on disk (1: invalid rows); $(tail -1 "$D/large-b.out"); "; }
	"$C" get "$BK" large/report.csv "$D/large-b.csv" 2>/dev/null || : >"$D/large-b.csv"
	"$C" get "$BK" large/rejects.csv "$D/large-b-rejects.csv" 2>/dev/null || : >"$D/large-b-rejects.csv"
	local size
	size=$(stat -c %s "$D/large-b.csv")
	((size > 16 << 20)) || { ok=0 why+="the report object has $size bytes, not past 16 MiB; "; }
	cmp -s "$D/large-b.csv" "$D/large-l.csv" || cmp -s <(sort "$D/large-b.csv") <(sort "$D/large-l.csv") || { ok=0 why+="the report object differs from the local report; "; }
	cmp -s "$D/large-b-rejects.csv" "$D/large-l-rejects.csv" || { ok=0 why+="the rejects object differs from the local file; "; }
	local etag
	etag=$("$C" ls "$BK" large/report.csv | awk '{print $3}')
	if ((ok)); then pass large "($size bytes, ETag $etag)"; else fail large "$why"; fi
}

# journal_segments PREFIX: the .csv segments under it in the bucket.
journal_segments() { "$C" ls "$BK" "$1" 2>/dev/null | awk '$1 ~ /\/[0-9]+\.csv$/' | wc -l; }
# kill_mid_run NAME PID JOURNAL...: kill -9 once every journal prefix holds
# at least two segments; false if the run ended before that.
kill_mid_run() {
	local name=$1 pid=$2
	shift 2
	local i p ready
	for ((i = 0; i < 600; i++)); do
		ready=1
		for p in "$@"; do (($(journal_segments "$p") >= 2)) || ready=0; done
		((ready)) && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -9 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null || true
		return 1
	fi
	wait "$pid" 2>/dev/null || true
	((ready))
}

start_killed_run() { # NAME FAKE-ADDR OUT-PREFIX: a run in the background, its pid in KPID
	mkdir -p "$D/$1-tmp"
	"$M" run --endpoint "http://$2" "${API[@]}" --rate 20 --input "$W/import.csv" --report "s3://$BK/$3/report.csv" \
		--summary "s3://$BK/$3/summary.json" --backup "s3://$BK/$3/backup.csv" --temp-dir "$D/$1-tmp" --quiet >"$D/$1.out" 2>&1 &
	KPID=$!
}

# verify_is NAME INPUT TEMP WANT WHAT: verify INPUT against the emulator
# at $addr (the caller's), its report $D/NAME.csv; an exit code other than
# WANT fails the caller's check (ok, why), saying WHAT.
verify_is() {
	mi "$1" verify --endpoint "http://$addr" "${API[@]}" --input "$2" --report "$D/$1.csv" --temp-dir "$3"
	[[ $RC == "$4" ]] || { ok=0 why+="$5: exit $RC, want $4; "; }
}

rollback_check() {
	local ok=1 why=''
	start_fake "$CASE-rb"
	PIDS+=("$FAKE_PID")
	local addr=$ADDR fpid=$FAKE_PID
	mi seed run --endpoint "http://$addr" "${API[@]}" --input "$W/seed.csv" --report "$D/seed.csv" --temp-dir "$D"
	[[ $RC == 0 ]] || { ok=0 why+="seed: exit $RC; "; }
	verify_is verify0 "$W/seed.csv" "$D" 0 "verify of the seed before"
	verify_is exact0 "$W/exact-seed.csv" "$D" 0 "verify of every bit of the seed's conversations before"
	start_killed_run kill "$addr" kill
	kill_mid_run kill "$KPID" kill/backup.csv.journal/ || { ok=0 why+="the run ended before its journal had two segments: $(tail -1 "$D/kill.out"); "; }
	verify_is verify1 "$W/seed.csv" "$D" 1 "verify of the seed after the kill (nothing changed?)"
	verify_is exact1 "$W/exact-seed.csv" "$D" 1 "verify of every bit of the seed's conversations after the kill"
	mkdir -p "$D/rollback-tmp"
	mi rollback run --endpoint "http://$addr" "${API[@]}" --input "s3://$BK/kill/backup.csv.journal/" --report "$D/rollback.csv" --temp-dir "$D/rollback-tmp"
	[[ $RC == 0 ]] || { ok=0 why+="rollback: exit $RC ($(tail -1 "$D/rollback.out")); "; }
	verify_is verify2 "s3://$BK/kill/backup.csv.journal/" "$D/rollback-tmp" 0 "verify of the journal"
	verify_is verify3 "$W/seed.csv" "$D" 0 "verify of the seed after the rollback"
	verify_is exact2 "$W/exact-seed.csv" "$D" 0 "verify of every bit of the seed's conversations after the rollback"
	mi exact3 verify --endpoint "http://$addr" "${API[@]}" --input "$W/exact-new.csv" --report "$D/exact3.csv" --temp-dir "$D"
	[[ $(awk -F, 'NR > 1 && $5 != "match" && $5 != "missing"' "$D/exact3.csv" | wc -l) == 0 && $(wc -l <"$D/exact3.csv") -gt 1 ]] ||
		{ ok=0 why+="the import's new conversations are not empty after the rollback; "; }
	local rows
	rows=$(($(wc -l <"$D/rollback.csv") - 1))
	stop_fake "$fpid"
	if ((ok)); then pass rollback "($rows rows restored)"; else fail rollback "$why"; fi
}

resume_kill() {
	start_fake "$CASE-res"
	PIDS+=("$FAKE_PID")
	RES_ADDR=$ADDR RES_FAKE=$FAKE_PID
	start_killed_run res1 "$RES_ADDR" res
	RES_KILLED=1
	kill_mid_run res1 "$KPID" res/backup.csv.journal/ res/report.csv.journal/ || RES_KILLED=0
}

resume_check() {
	local ok=1 why=''
	((RES_KILLED)) || { ok=0 why+="the run ended before both journals had two segments: $(tail -1 "$D/res1.out"); "; }
	mkdir -p "$D/res2-tmp"
	local i
	for ((i = 0; i < 40; i++)); do # the killed run's lease: 2 minutes
		"$M" run --resume --endpoint "http://$RES_ADDR" "${API[@]}" --rate 200 --input "$W/import.csv" --report "s3://$BK/res/report.csv" \
			--summary "s3://$BK/res/summary.json" --backup "s3://$BK/res/backup.csv" --temp-dir "$D/res2-tmp" --quiet >"$D/res2.out" 2>&1 && RC=0 || RC=$?
		[[ $RC == 2 ]] && grep -q lease "$D/res2.out" || break
		sleep 5
	done
	[[ $RC == 0 ]] || { ok=0 why+="resume: exit $RC ($(grep -v '^time=' "$D/res2.out" | tail -2 | tr '\n' ' ')); "; }
	"$C" get "$BK" res/report.csv "$D/res-report.got" 2>/dev/null || : >"$D/res-report.got"
	local okrows
	okrows=$(awk -F, 'NR > 1 && $5 == "ok"' "$D/res-report.got" | wc -l)
	[[ $okrows == 3000 && $(wc -l <"$D/res-report.got") == 3001 ]] || { ok=0 why+="report object: $okrows ok of $(($(wc -l <"$D/res-report.got") - 1)) rows; "; }
	local keys
	keys=$("$C" ls "$BK" res/ | awk '!/\.journal\// {print $1}' | tr '\n' ' ')
	[[ $keys == "res/backup.csv res/backup.csv.check res/report.csv res/summary.json " ]] || { ok=0 why+="objects: $keys; "; }
	mi verify-res verify --endpoint "http://$RES_ADDR" "${API[@]}" --input "$W/import.csv" --report "$D/verify-res.csv" --temp-dir "$D"
	[[ $RC == 0 ]] || { ok=0 why+="verify of the input: exit $RC; "; }
	# The backup the two runs made together rolls the import back whole.
	mi res-rb run --endpoint "http://$RES_ADDR" "${API[@]}" --input "s3://$BK/res/backup.csv" --report "$D/res-rb.csv" --temp-dir "$D"
	[[ $RC == 0 ]] || { ok=0 why+="rollback of the resumed run's backup: exit $RC ($(tail -1 "$D/res-rb.out")); "; }
	mi verify-rb verify --endpoint "http://$RES_ADDR" "${API[@]}" --input "s3://$BK/res/backup.csv" --report "$D/verify-rb.csv" --temp-dir "$D"
	[[ $RC == 0 ]] || { ok=0 why+="verify of that rollback: exit $RC; "; }
	stop_fake "$RES_FAKE"
	if ((ok)); then pass resume "(waited $((i * 5)) s for the lease)"; else fail resume "$why"; fi
}

for server in $SERVERS; do
	SD=$W/$server
	mkdir -p "$SD"
	# None of the previous server's settings: weed takes AWS_ACCESS_KEY_ID
	# and AWS_SECRET_ACCESS_KEY in its environment as its only identity.
	unset AWS_REQUEST_CHECKSUM_CALCULATION AWS_RESPONSE_CHECKSUM_VALIDATION AWS_ENDPOINT_URL_S3 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	if ! "start_$server" "$SD"; then
		RESULTS+=("$server skipped: not installed or did not start ($(tail -1 "$SD/server.out" 2>/dev/null))")
		log "$server: skipped"
		continue
	fi
	export AWS_ENDPOINT_URL_S3=$S3URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION=us-east-1 \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
	log "$server at $S3URL"
	for mode in $CHECKSUMS; do
		CASE="$server/$mode"
		D=$SD/$mode
		mkdir -p "$D"
		if [[ $mode == when_required ]]; then
			export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
		else
			unset AWS_REQUEST_CHECKSUM_CALCULATION AWS_RESPONSE_CHECKSUM_VALIDATION
		fi
		BK=compat-${mode//_/-}
		if ! "$C" mb "$BK" 2>"$D/mb.err"; then
			fail bucket "$(cat "$D/mb.err")"
			continue
		fi
		# What the server makes of the conditions markimport sends (not a
		# check: the tool looks first and compares ETags itself; COS ignores
		# If-None-Match too).
		probe=$("$C" probe "$BK" probe/object 2>&1) || probe="probe failed: $probe"
		RESULTS+=("$CASE conditions: $(echo "$probe" | tr '\n' ' ')")
		if [[ -z ${S3COMPAT_CHECKS:-} ]]; then
			resume_kill # first: its lease expires while the others run
			hive_check
			outputs_check
			nights_check
			large_check
			rollback_check
			resume_check
		else
			for check in $S3COMPAT_CHECKS; do "${check}_check"; done
		fi
	done
	kill "$S3PID" 2>/dev/null || true
	wait "$S3PID" 2>/dev/null || true
done

((FAILED)) || RESULTS+=("every check passed")
exit $FAILED
