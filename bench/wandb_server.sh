#!/bin/sh
# GraphQL download of one W&B run with N history rows (default 1,000,000,
# 3 metrics) from the loopback emulator: rows/s and peak RSS.
# Usage: bench/wandb_server.sh [ROWS] [METRICS]   (needs build-release/)
set -eu
ROWS=${1:-1000000}
METRICS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build-release
[ -x "$B/cmd/xport" ] || { echo "build build-release first" >&2; exit 2; }
T=$(mktemp -d)
python3 -u "$ROOT/tests/emulators/wandb_emu.py" > "$T/port" 2> "$T/emu.err" &
EMU=$!
trap 'kill $EMU 2>/dev/null; rm -rf "$T"' EXIT
while [ ! -s "$T/port" ]; do sleep 0.1; done
PORT=$(awk '{print $2}' "$T/port")
curl -sf -X POST "http://127.0.0.1:$PORT/__emu/seed" --data-binary \
  "{\"projects\":[{\"entity\":\"b\",\"name\":\"p\",\"runs\":[{\"name\":\"r\",\"history\":{\"rows\":$ROWS,\"metrics\":$METRICS}}]}]}" >/dev/null
export WANDB_BASE_URL="http://127.0.0.1:$PORT"
export WANDB_API_KEY=emu_000000000000000000000000000000000000wandb
start=$(date +%s.%N)
"$B/bench/xport-bench-runstat" "$B/cmd/xport" download -q --from wandb b/p \
  metrics -o "$T/out" --opt history-page=${PAGE:-1000}
end=$(date +%s.%N)
n=$(cat "$T"/out/b/p/r/metrics/*/data.jsonl | wc -l)
echo "$ROWS rows x $METRICS metrics ($n points) in $(echo "$end - $start" | bc) s:" \
     "$(echo "$ROWS / ($end - $start)" | bc) rows/s"
