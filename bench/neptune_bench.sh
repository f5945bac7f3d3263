#!/bin/sh
# Download of a Neptune 2.x project from the loopback emulator
# (tests/emulators/neptune_emu.py): RUNS runs x (20 atoms + 5 float series of
# POINTS points + 1 file of 1,000 bytes), LATENCY_MS added to every request.
# Prints runs/s, points/s, peak RSS and HTTP requests per run.
# Usage: bench/neptune_bench.sh [RUNS] [POINTS] [LATENCY_MS] [JOBS]
#        (defaults 2000 10000 20 2; needs build-release/)
set -eu
RUNS=${1:-2000}
POINTS=${2:-10000}
LAT=${3:-20}
JOBS=${4:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build-release
[ -x "$B/cmd/xport" ] || { echo "build build-release first" >&2; exit 2; }
T=$(mktemp -d)
python3 -u "$ROOT/tests/emulators/neptune_emu.py" --latency-ms "$LAT" > "$T/port" 2> "$T/emu.err" &
EMU=$!
trap 'kill $EMU 2>/dev/null; rm -rf "$T"' EXIT
while [ ! -s "$T/port" ]; do sleep 0.1; done
PORT=$(awk '{print $2}' "$T/port")
U="http://127.0.0.1:$PORT"
curl -sf -X POST "$U/__emu/seed" --data-binary \
  "{\"projects\":[{\"workspace\":\"b\",\"name\":\"p\",\"key\":\"B\",\"generate\":{\"runs\":$RUNS,\"atoms\":20,\"float_series\":5,\"points\":$POINTS,\"files\":1,\"file_size\":1000}}]}" >/dev/null
NEPTUNE_API_TOKEN=$(curl -sf "$U/__emu/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
export NEPTUNE_API_TOKEN
curl -sf -X DELETE "$U/__emu/stats" >/dev/null
start=$(date +%s.%N)
"$B/bench/xport-bench-runstat" "$B/cmd/xport" download -q -j "$JOBS" --from neptune b/p \
  -o "$T/out"
end=$(date +%s.%N)
n=$(cat "$T"/out/b/p/*/metrics/*/data.jsonl | wc -l)
req=$(curl -sf "$U/__emu/stats?recent=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
echo "$RUNS runs x 5 series x $POINTS points ($n points), ${LAT} ms latency, -j $JOBS:"
echo "  $(echo "$end - $start" | bc) s, $(echo "$RUNS / ($end - $start)" | bc -l | cut -c1-7) runs/s," \
     "$(echo "$n / ($end - $start)" | bc) points/s, $req requests" \
     "($(echo "$req / $RUNS" | bc -l | cut -c1-5) per run)"
