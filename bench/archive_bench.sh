#!/usr/bin/env bash
# Benchmark: a layout of one series of N points (default 1,000,000, made by
# xport-bench-gen) written into each archive format and read back, against
# the folder-to-folder copy. Prints wall time, points/s, peak RSS and the
# archive's size per format, and for writes the peak disk used beside the
# archive (its staging folder and temp archive, sampled with du every
# 50 ms). Reading streams members through libarchive, so peak RSS must not
# grow with N (compare N=1000000 and N=4000000). Writing goes experiment by
# experiment: the disk beside the archive is the archive so far plus the
# experiments staged out of order, so a second part writes the same points
# as EXPS experiments (default 20) into .tar.zst with -j1 and -j2, where
# the staging must stay near one experiment, not the layout.
# Usage: bench/archive_bench.sh [N] [FORMATS...]  (formats: tar tar.gz
# tar.zst tar.xz zip; default all). XPORT_BIN=PATH runs another xport (an
# older build, for a before/after); EXPS=K sets the experiments.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
shift || true
formats=${*:-tar tar.gz tar.zst tar.xz zip}
work=${BENCH_DIR:-/tmp/xport-bench-archive}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DXPORT_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j2 --target xport xport-bench-gen xport-bench-runstat >/dev/null
b=build-release
x=${XPORT_BIN:-$b/cmd/xport}
exps=${EXPS:-20}
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

# The largest size of what a write into archive $1 keeps beside it (staging
# folders ".NAME.xport-*" and temp archives "NAME.xport-*"), sampled until
# $work/.stop exists; into $work/.peak.
sample_beside() {
    local dir name max=0 s
    dir=$(dirname "$1") name=$(basename "$1")
    shopt -s nullglob
    while [ ! -e "$work/.stop" ]; do
        local fs=("$dir/.$name".xport-* "$dir/$name".xport-*)
        s=0
        if ((${#fs[@]})); then
            s=$(du -scb "${fs[@]}" 2>/dev/null | tail -1 | cut -f1) || s=0
        fi
        [ "${s:-0}" -gt "$max" ] && max=$s
        sleep 0.05
    done
    echo "$max" >"$work/.peak"
}

# measure a write into archive $1 (the command after it), with the peak
# disk beside it
measure_write() {
    local a=$1 out
    shift
    rm -f "$work/.stop" "$work/.peak"
    sample_beside "$a" &
    local sp=$!
    out=$(measure "$@")
    touch "$work/.stop"
    wait "$sp"
    printf "%s  beside %6.1f MiB  size %d" "$out" \
        "$(awk -v b="$(cat "$work/.peak")" 'BEGIN{print b / 1048576}')" "$(stat -c %s "$a")"
}

printf "%-26s %s\n" "folder -> folder" "$(measure "$x" copy -q "$work/src" "$work/dir")"
rm -rf "$work/dir"
for f in $formats; do
    a="$work/bench.$f"
    printf "%-26s %s\n" "folder -> .$f" "$(measure_write "$a" "$x" copy -q "$work/src" "$a")"
    printf "%-26s %s\n" ".$f -> folder" \
        "$(measure "$x" copy -q "$a" "$work/back-$f")"
    printf "%-26s %s\n" "verify .$f folder" \
        "$(measure "$x" verify "$a" "$work/src")"
    rm -rf "$work/back-$f" "$a"
done

# the same points as $exps experiments of n/exps points each
rm -rf "$work/src"
echo "generating $exps experiments of $((n / exps)) points..."
$b/bench/xport-bench-gen "$work/one" "$((n / exps))"
mkdir -p "$work/src/bench/series"
cp "$work/one/xport.json" "$work/src/"
for i in $(seq -w 1 "$exps"); do
    cp -r "$work/one/bench/series/long" "$work/src/bench/series/long-$i"
    sed -i "s/\"name\":\"long\"/\"name\":\"long-$i\"/" \
        "$work/src/bench/series/long-$i/experiment.json"
done
rm -rf "$work/one"
echo "layout: $(du -sb "$work/src" | cut -f1) bytes, one experiment" \
    "$(du -sb "$work/src/bench/series/long-$(seq -w 1 "$exps" | head -1)" | cut -f1) bytes"
for j in 1 2; do
    a="$work/many-j$j.tar.zst"
    printf "%-26s %s\n" "$exps exps -> .tar.zst -j$j" \
        "$(measure_write "$a" "$x" copy -q -j "$j" "$work/src" "$a")"
done
cmp "$work/many-j1.tar.zst" "$work/many-j2.tar.zst" && echo "-j1 and -j2: byte-identical"
rm -rf "$work"
