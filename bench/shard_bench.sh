#!/usr/bin/env bash
# Benchmark (issue 17 §3): --shard K/N on one machine. A local layout of
# N_EXP (default 10,000) small experiments (one metric of 3 points each,
# written by tests/local/gen_layout.c through the local adapter) is copied
# to a fresh local layout once with --shard 1/1, then by SHARDS (default 4)
# shards started at once into another. Prints experiments/s of each, their
# ratio, each shard's peak RSS (GNU time), and checks both copies with
# xport verify. Local -> local: the issue's s3rver destination is not built.
#   bench/shard_bench.sh [N_EXP [SHARDS]]
# XPORT and GEN point at other builds of xport and xport-test-gen.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
shards=${2:-4}
work=${BENCH_DIR:-/tmp/xport-bench-shard}
if [ -z "${XPORT:-}" ] || [ -z "${GEN:-}" ]; then
    # tests on: xport-test-gen is a test tool; only the two targets are built
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build-bench -j2 --target xport xport-test-gen >/dev/null
    XPORT=build-bench/cmd/xport
    GEN=build-bench/tests/xport-test-gen
fi
rm -rf "$work" && mkdir -p "$work"
export XDG_STATE_HOME="$work/state"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/s}'; }
timed() { # timed OUT cmd...: GNU time's peak RSS (KiB) in OUT when there is one
    if [ -x /usr/bin/time ]; then /usr/bin/time -f %M -o "$1" "${@:2}"; else "${@:2}"; fi
}

"$GEN" "$work/src" "$n"
echo "layout: $n experiments ($(du -sh "$work/src" | cut -f1))"

t0=$(now)
timed "$work/rss-1" "$XPORT" copy -q "$work/src" "$work/one" --shard 1/1 >/dev/null
t1=$(now)
one=$(secs "$t0" "$t1")

t0=$(now)
pids=()
for k in $(seq 1 "$shards"); do
    timed "$work/rss-$k-of-$shards" "$XPORT" copy -q "$work/src" "$work/many" \
        --shard "$k/$shards" >"$work/out-$k" 2>&1 &
    pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
t1=$(now)
many=$(secs "$t0" "$t1")
[ "$fail" = 0 ] || { echo "a shard failed:"; cat "$work"/out-*; exit 1; }

"$XPORT" verify "$work/src" "$work/one" >/dev/null
"$XPORT" verify "$work/src" "$work/many" >/dev/null
"$XPORT" status "$work/many"

echo "--shard 1/1:          $one s, $(rate "$n" "$one") experiments/s"
echo "$shards shards at once:     $many s, $(rate "$n" "$many") experiments/s"
awk -v a="$one" -v b="$many" 'BEGIN{printf "ratio (1/1 time / sharded time): %.2f\n", a/b}'
if [ -x /usr/bin/time ]; then
    echo "peak RSS: 1/1 $(cat "$work/rss-1") KiB; shards:" \
         "$(for k in $(seq 1 "$shards"); do printf '%s ' "$(cat "$work/rss-$k-of-$shards")"; done)KiB"
fi
echo "nproc: $(nproc); both copies verified equal to the source"
