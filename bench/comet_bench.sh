#!/bin/sh
# The comet adapter against the Comet emulator (tests/emulators/comet_emu.py)
# with LAT ms of injected latency per request (default 20):
#   download  xport copy comet:bench/big DIR: one experiment of SERIES series
#             x N points (default 10 x 1,000,000), every point
#   upload    xport copy DIR comet:bench/up into an empty server (batches of
#             1000 points, gzip), then the server's point count checked
#   many      EXPS small experiments (default 1,000; 1 series x 10 points,
#             2 parameters, 1 other) downloaded, then uploaded
# Prints points/s (experiments/s), peak RSS and requests made each way.
# The emulator keeps every point in Python objects (about 200 B a point):
# scale N down on a small machine.
# Usage: bench/comet_bench.sh [N] [SERIES] [EXPS] [LAT]   (needs build-release/:
#   cmake --build build-release --target xport xport-bench-runstat;
#   XPORT_BUILD=DIR uses another build directory, relative to the source root)
set -eu
N=${1:-1000000}
S=${2:-10}
E=${3:-1000}
LAT=${4:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case ${XPORT_BUILD:=build-release} in /*) B=$XPORT_BUILD ;; *) B=$ROOT/$XPORT_BUILD ;; esac
X=$B/cmd/xport
RS=$B/bench/xport-bench-runstat
[ -x "$X" ] && [ -x "$RS" ] || { echo "build $B first (xport, xport-bench-runstat)" >&2; exit 2; }
T=$(mktemp -d)
EMU=
trap '[ -n "$EMU" ] && kill $EMU 2>/dev/null; rm -rf "$T"' EXIT
KEY=bench0comet000000000000000000key
export COMET_API_KEY=$KEY

emu_start() {
    [ -n "$EMU" ] && { kill $EMU 2>/dev/null; wait $EMU 2>/dev/null || true; }
    rm -f "$T/port"
    python3 -u "$ROOT/tests/emulators/comet_emu.py" --api-key $KEY --latency-ms "$LAT" \
        > "$T/port" 2> "$T/emu.err" &
    EMU=$!
    while [ ! -s "$T/port" ]; do sleep 0.1; done
    U="http://127.0.0.1:$(awk '{print $2}' "$T/port")"
    export COMET_URL_OVERRIDE="$U/clientlib/"
}

# runstat's "wall_seconds=S peak_rss_kib=K exit=E" from file $1
stat_of() { sed -n 's/.*wall_seconds=\([0-9.]*\) peak_rss_kib=\([0-9]*\) exit=\([0-9]*\).*/\1 \2 \3/p' "$1"; }
requests() { curl -sf "$U/__emu/stats?recent=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
held() { curl -sf "$U/__emu/stats?recent=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pointsIn"])'; }
report() { # label secs rss_kib count unit requests
    printf '%-10s %8.2f s  %10.0f %s/s  peak RSS %7.1f MiB  %6d requests\n' "$1" "$2" \
        "$(echo "$4 / $2" | bc -l)" "$5" "$(echo "$3 / 1024" | bc -l)" "$6"
}
run() { # name args...: xport under runstat, its stats in $T/name.stat
    name=$1; shift
    curl -sf -X DELETE "$U/__emu/stats" >/dev/null
    "$RS" "$X" "$@" >/dev/null 2> "$T/$name.stat" || { cat "$T/$name.stat" >&2; exit 1; }
}

TOTAL=$((N * S))
echo "Comet emulator, ${LAT} ms per request: 1 experiment x $S series x $N points ($TOTAL)"
emu_start
NAMES=$(python3 -c "import json,sys; print(json.dumps(['series_%02d' % i for i in range(int(sys.argv[1]))]))" "$S")
curl -sf -X POST "$U/__emu/seed" --data-binary "{\"workspaces\":{\"bench\":{\"projects\":{\"big\":{\"experiments\":[{\"key\":\"b0000000000000000000000000000001\",\"name\":\"long\",\"start\":1700000000000,\"end\":1700000100000,\"others\":{\"Name\":\"long\"},\"gen_metrics\":{\"names\":$NAMES,\"points\":$N}}]}}}}}" >/dev/null

run down copy -q comet:bench/big "$T/dl"
set -- $(stat_of "$T/down.stat"); DL=$1; DLRSS=$2; DLREQ=$(requests)
got=$(cat "$T"/dl/bench/big/long/metrics/*/data.jsonl | wc -l)
[ "$got" -eq "$TOTAL" ] || { echo "download: $got points, expected $TOTAL" >&2; exit 1; }
report download "$DL" "$DLRSS" "$TOTAL" points "$DLREQ"

emu_start
curl -sf -X POST "$U/__emu/seed" --data-binary '{"workspaces":{"bench":{"projects":{}}}}' >/dev/null
run up copy -q "$T/dl" comet:bench/up
set -- $(stat_of "$T/up.stat"); UP=$1; UPRSS=$2; UPREQ=$(requests)
h=$(held)
[ "$h" -eq "$TOTAL" ] || { echo "upload: server holds $h points, expected $TOTAL" >&2; exit 1; }
report upload "$UP" "$UPRSS" "$TOTAL" points "$UPREQ"
echo "           the server holds $h points"
rm -rf "$T/dl"

echo "Comet emulator, ${LAT} ms per request: $E experiments x (1 series x 10 points, 2 parameters, 1 other)"
emu_start
python3 -c '
import json, sys
n = int(sys.argv[1])
exps = [{"key": "e%031d" % i, "name": "run-%05d" % i, "start": 1700000000000 + i,
         "end": 1700000001000 + i, "params": {"lr": 0.001, "seed": i},
         "others": {"Name": "run-%05d" % i},
         "metrics": [{"name": "loss", "value": 1.0 / (k + 1), "step": k, "ts": 1700000000000 + k}
                     for k in range(10)]} for i in range(n)]
print(json.dumps({"workspaces": {"bench": {"projects": {"many": {"experiments": exps}}}}}))
' "$E" > "$T/many.json"
curl -sf -X POST "$U/__emu/seed" --data-binary @"$T/many.json" >/dev/null
run mdown copy -q comet:bench/many "$T/many"
set -- $(stat_of "$T/mdown.stat"); MD=$1; MDRSS=$2; MDREQ=$(requests)
report download "$MD" "$MDRSS" "$E" experiments "$MDREQ"
run mup copy -q "$T/many" comet:bench/many2
set -- $(stat_of "$T/mup.stat"); MU=$1; MURSS=$2; MUREQ=$(requests)
report upload "$MU" "$MURSS" "$E" experiments "$MUREQ"
