#!/usr/bin/env bash
# Benchmark: a layout of one series of N points (default 1,000,000, made by
# xport-bench-gen) written into each archive format and read back, against
# the folder-to-folder copy. Prints wall time, points/s, peak RSS and the
# archive's size per format. Reading streams members through libarchive,
# so peak RSS must not grow with N (compare N=1000000 and N=4000000);
# writing stages the layout beside the archive first (its size on disk).
# Usage: bench/archive_bench.sh [N] [FORMATS...]  (formats: tar tar.gz
# tar.zst tar.xz zip; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
shift || true
formats=${*:-tar tar.gz tar.zst tar.xz zip}
work=${BENCH_DIR:-/tmp/xport-bench-archive}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DXPORT_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j2 --target xport xport-bench-gen xport-bench-runstat >/dev/null
b=build-release
rm -rf "$work" && mkdir -p "$work"
echo "generating $n points..."
$b/bench/xport-bench-gen "$work/src" "$n"
echo "layout: $(du -sb "$work/src" | cut -f1) bytes"

# runstat's last line: wall_seconds=... peak_rss_kib=...
measure() {
    local stats secs rss
    stats=$($b/bench/xport-bench-runstat "$@" 2>&1 >/dev/null | tail -1)
    secs=$(sed -n 's/.*wall_seconds=\([0-9.]*\).*/\1/p' <<<"$stats")
    rss=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<<"$stats")
    printf "%7.2f s %10.0f points/s  peak RSS %4d MiB" "$secs" \
        "$(awk -v n="$n" -v s="$secs" 'BEGIN{print (s > 0 ? n / s : 0)}')" $((rss / 1024))
}

printf "%-26s %s\n" "folder -> folder" "$(measure $b/cmd/xport copy -q "$work/src" "$work/dir")"
for f in $formats; do
    a="$work/bench.$f"
    printf "%-26s %s  size %d\n" "folder -> .$f" \
        "$(measure $b/cmd/xport copy -q "$work/src" "$a")" "$(stat -c %s "$a")"
    printf "%-26s %s\n" ".$f -> folder" \
        "$(measure $b/cmd/xport copy -q "$a" "$work/back-$f")"
    printf "%-26s %s\n" "verify .$f folder" \
        "$(measure $b/cmd/xport verify "$a" "$work/src")"
    rm -rf "$work/back-$f" "$a"
done
rm -rf "$work"
