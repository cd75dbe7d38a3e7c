# Helpers for the scripts that run `markimport fake-server`, sourced by
# bench-backup.sh, bench-skip.sh, bench-s3out.sh, s3compat.sh and pgo.sh.
# The caller sets M (the markimport binary), W (its work folder, removed at
# exit) and log(); this file makes the secret key ($W/key) and defines:
#
#   json FILE KEY[.KEY]   a summary's value, 0 when absent
#   start_fake NAME FLAGS a fake-server on a free loopback port: its pid in
#                         FAKE_PID, its address in ADDR, its output in
#                         $W/NAME.fake (the last line counts what it saw)
#   stop_fake PID         SIGINT, then wait: it prints its counts and exits
#   make_profile          the service profile ($W/profile.json) that reads
#                         need, by preflight against an emulator of its own,
#                         so that its few requests count in no measured run
KEY=$W/key
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$KEY")

json() {
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)' "$1" "$2"
}

start_fake() {
	local name=$1
	shift
	local out=$W/$name.fake
	: >"$out" # before the server's redirection, which its process makes
	"$M" fake-server --listen 127.0.0.1:0 --sdkappid 1400000000 --admin administrator \
		--secret-key-file "$KEY" --quiet "$@" >"$out" 2>"$W/$name.fake.err" &
	FAKE_PID=$! ADDR=
	for ((i = 0; i < 100; i++)); do
		ADDR=$(sed -n 's|^fake-server listening on http://||p' "$out" || true)
		[[ -n $ADDR ]] && break
		sleep 0.1
	done
	[[ -n $ADDR ]] || { log "fake-server did not start: $(cat "$W/$name.fake.err")"; exit 1; }
}

stop_fake() {
	kill -INT "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

make_profile() {
	start_fake preflight
	MARKIMPORT_SECRET_KEY=$(cat "$KEY") "$M" preflight --scratch bench_a:c2c:bench_b --profile "$W/profile.json" \
		--endpoint "http://$ADDR" --sdkappid 1400000000 --admin administrator --quiet >"$W/preflight.out" 2>&1 ||
		{ log "preflight failed: $(cat "$W/preflight.out")"; exit 1; }
	stop_fake "$FAKE_PID"
}
