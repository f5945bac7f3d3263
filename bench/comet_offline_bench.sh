#!/bin/sh
# comet-offline both ways on one archive of N points (default 1,000,000, one
# series, from xport-bench-gen): the layout written as a comet_ml offline
# archive, then the archive listed and downloaded again; prints each step's
# time, points/s and peak RSS (GNU time), and checks that the download
# equals the layout (xport verify). Memory must not follow N: messages.json
# is streamed and its metric lines spooled.
# Usage: bench/comet_offline_bench.sh [N]   (needs build-release/:
#   cmake --build build-release --target xport xport-bench-gen;
#   XPORT_BUILD=DIR uses another build directory, relative to the source root)
set -eu
N=${1:-1000000}
cd "$(dirname "$0")/.."
B=${XPORT_BUILD:-build-release}
X=$PWD/$B/cmd/xport
G=$PWD/$B/bench/xport-bench-gen
[ -x "$X" ] && [ -x "$G" ] || { echo "build $B first (targets xport, xport-bench-gen)" >&2; exit 2; }
W=$(mktemp -d /tmp/xport-cobench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export XDG_STATE_HOME="$W/state"
"$G" "$W/lay" "$N" >/dev/null
step() { # step NAME CMD...: time and peak RSS of CMD
    name=$1; shift
    /usr/bin/time -f "%e %M" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    read -r s kb <"$W/t"
    awk -v n="$name" -v s="$s" -v kb="$kb" -v pts="$N" \
        'BEGIN { printf "%-10s %7.2f s  %10.0f points/s  peak RSS %6.1f MiB\n", n, s, pts / (s > 0 ? s : 1), kb / 1024 }'
}
step write "$X" copy -q "$W/lay" "comet-offline:$W/co"
echo "archive: $(du -h "$W"/co/*.zip | cut -f1) ($N points)"
step list "$X" list "comet-offline:$W/co"
step download "$X" download -q --from comet-offline "$W/co" -o "$W/back"
"$X" verify "$W/lay" "$W/back" >/dev/null && echo "verify: equal" ||
    echo "verify: differs (see xport verify $W/lay $W/back)"
