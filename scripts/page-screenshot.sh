#!/bin/sh
# Screenshot of the demo's sign-off page, as a browser shows it offline:
# make demo writes demo-page.html (the rehearsal's run), then Debian's
# Chromium renders it headless, with every network feature off, to
# demo-page.png (1200 px wide). Chromium is installed with apt-get when
# missing (root, or sudo). Usage: scripts/page-screenshot.sh [PNG]
set -eu
png=${1:-demo-page.png}
page=demo-page.html
[ -f "$page" ] || { echo "no $page: run make demo first" >&2; exit 2; }
if [ ! -x /usr/bin/chromium ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get install -y chromium >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y chromium >/dev/null; }
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$profile" --screenshot="$png" --window-size=1200,2400 \
	"file://$(realpath "$page")" 2>/dev/null
echo "screenshot: $png"
