#!/usr/bin/env bash
# Benchmark: copy local -> local of one series of N points (default
# 10,000,000), then verify. Prints points/s and peak RSS; memory must not
# grow with N (run with N=1000000 and N=10000000 to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${BENCH_DIR:-/tmp/xport-bench-local}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DXPORT_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target xport xport-bench-gen xport-bench-runstat >/dev/null
b=build-release
rm -rf "$work" && mkdir -p "$work"
echo "generating $n points..."
$b/bench/xport-bench-gen "$work/src" "$n"
du -sh "$work/src" | sed 's/^/source size: /'
stats=$($b/bench/xport-bench-runstat $b/cmd/xport copy -q "$work/src" "$work/dst" 2>&1 >/dev/null | tail -1)
secs=$(sed -n 's/.*wall_seconds=\([0-9.]*\).*/\1/p' <<<"$stats")
rss=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<<"$stats")
echo "copy: $n points in $secs s = $(awk -v n="$n" -v s="$secs" 'BEGIN{printf "%.0f", n/s}') points/s, peak RSS $((rss/1024)) MiB"
vstats=$($b/bench/xport-bench-runstat $b/cmd/xport verify "$work/src" "$work/dst" 2>&1 >/dev/null | tail -1)
echo "verify: $vstats"
# the cp bound: the same bytes copied without parsing
t0=$(date +%s.%N); cp -r "$work/src" "$work/cp" && sync; t1=$(date +%s.%N)
echo "cp -r of the same files: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
rm -rf "$work"
