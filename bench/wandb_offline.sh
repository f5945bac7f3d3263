#!/bin/sh
# Benchmark of the wandb-offline reader: 1,000,000 history rows x 23 metrics.
# usage: bench/wandb_offline.sh [BUILD_DIR] [ROWS] [METRICS]
# BUILD_DIR defaults to build-bench, configured here as a Release build
# without sanitizers. Prints rows/s and the reader's peak RSS.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-bench}
rows=${2:-1000000}
metrics=${3:-23}
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
        -DXPORT_SANITIZE=OFF -DXPORT_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j2 --target xport-bench-wandb-gen xport-bench-wandb-read >/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xport-bench-wandb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$build/bench/xport-bench-wandb-gen" "$tmp/run-bench01.wandb" "$rows" "$metrics"
echo "input: $(du -h "$tmp/run-bench01.wandb" | cut -f1), $rows rows x $metrics metrics"
"$build/bench/xport-bench-wandb-read" "$tmp/run-bench01.wandb"
# The whole conversion through the CLI, as users run it: .wandb -> layout.
cmake --build "$build" -j2 --target xport xport-bench-runstat >/dev/null
stats=$("$build/bench/xport-bench-runstat" "$build/cmd/xport" download -q \
        --from wandb-offline "$tmp/run-bench01.wandb" -o "$tmp/layout" 2>&1 >/dev/null | tail -n 1)
secs=$(echo "$stats" | sed -n 's/.*wall_seconds=\([0-9.]*\).*/\1/p')
rss=$(echo "$stats" | sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p')
echo "xport download --from wandb-offline -> layout: $secs s," \
     "$(awk -v r="$rows" -v s="$secs" 'BEGIN{printf "%.0f", r/s}') rows/s," \
     "peak RSS $((rss / 1024)) MiB, layout $(du -sh "$tmp/layout" | cut -f1)"
