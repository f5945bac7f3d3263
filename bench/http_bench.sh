#!/bin/sh
# HTTP engine throughput vs the curl CLI over loopback.
#
#   bench/http_bench.sh [BUILD_DIR]
#
# BUILD_DIR holds bench/xport-bench-http (default: build-bench; make it with
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DXPORT_BUILD_TESTS=OFF
#   cmake --build build-bench --target xport-bench-http).
# Environment: SMALL_N (2000), SMALL_SIZE (4096), LARGE_SIZE (512 MiB),
# CONNS (8), LATENCY_MS (20: a server-side delay before each response).
#
# Both clients fetch the same bytes from the same server
# (tests/servers/faultserver.py, Python): the ratio compares clients; the
# absolute figures are bounded by the Python server.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-bench}
bin=$build/bench/xport-bench-http
N=${SMALL_N:-2000}
SIZE=${SMALL_SIZE:-4096}
LARGE=${LARGE_SIZE:-536870912}
CONNS=${CONNS:-8}
LAT=${LATENCY_MS:-20}

[ -x "$bin" ] || { echo "missing $bin (see the header of $0)" >&2; exit 2; }
command -v curl >/dev/null || { echo "needs the curl CLI (apt-get install -y curl)" >&2; exit 2; }

tmp=$(mktemp -d)
python3 -u "$here/tests/servers/faultserver.py" --max-seconds 1800 >"$tmp/port" 2>"$tmp/server.err" &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
i=0
while ! grep -q PORT "$tmp/port" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not start" >&2; exit 1; }
    sleep 0.1
done
base="http://127.0.0.1:$(cut -d' ' -f2 "$tmp/port")"

now() { date +%s.%N; }

# curl_small DELAY: the same COUNT files through curl --parallel
curl_small() {
    : >"$tmp/cfg"
    j=0
    while [ $j -lt "$N" ]; do
        q="seed=$((j % 251))"
        [ "$1" -gt 0 ] && q="$q&delay=$1"
        printf 'url = "%s/bytes/%s?%s"\noutput = "/dev/null"\n' "$base" "$SIZE" "$q" >>"$tmp/cfg"
        j=$((j + 1))
    done
    t0=$(now)
    curl -sS --no-progress-meter --fail --parallel --parallel-max "$CONNS" -K "$tmp/cfg"
    t1=$(now)
    echo "bytes=$((N * SIZE)) seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

curl_large() {
    q=""
    [ "$1" -gt 0 ] && q="?delay=$1"
    t0=$(now)
    got=$(curl -sS --fail -o /dev/null -w '%{size_download}' "$base/bytes/$LARGE$q")
    t1=$(now)
    echo "bytes=$got seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

field() { echo "$1" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p"; }

report() { # name xport-line curl-line
    xb=$(field "$2" bytes); xs=$(field "$2" seconds)
    cb=$(field "$3" bytes); cs=$(field "$3" seconds)
    awk -v n="$1" -v xb="$xb" -v xs="$xs" -v cb="$cb" -v cs="$cs" 'BEGIN {
        x = xb / xs / 1048576; c = cb / cs / 1048576
        printf "%-34s xport %8.1f MiB/s (%6.2f s)   curl %8.1f MiB/s (%6.2f s)   ratio %.2f\n",
               n, x, xs, c, cs, x / c }'
}

# warm up the server's content cache
curl -s -o /dev/null "$base/bytes/$SIZE" || true

for d in 0 "$LAT"; do
    x=$("$bin" small "$base" "$N" "$SIZE" "$CONNS" "$d")
    c=$(curl_small "$d")
    report "small ${N}x${SIZE} B, delay ${d} ms, ${CONNS} conns" "$x" "$c"
done
for d in 0 "$LAT"; do
    x=$("$bin" large "$base" "$LARGE" "$d")
    c=$(curl_large "$d")
    report "large ${LARGE} B, delay ${d} ms" "$x" "$c"
done
