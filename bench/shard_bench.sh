#!/usr/bin/env bash
# Benchmark (issue 17 §3 and its Benchmark): --shard K/N on one machine. A
# local layout of N_EXP (default 10,000) small experiments (one metric of 3
# points each, written by tests/local/gen_layout.c through the local
# adapter) is copied to a fresh destination once with --shard 1/1, then by
# SHARDS (default 4) shards started at once into another. Prints
# experiments/s of each, their ratio, each worker's peak RSS (GNU time), and
# checks both copies with xport verify.
#   bench/shard_bench.sh [N_EXP [SHARDS [local|s3]]]
# local (default): into local layouts. s3: into s3://bench/one and
# s3://bench/many on s3rver (npm, tests/node; scripts/deps.sh --tests),
# started here on a free loopback port; its own CPU use is printed too,
# since one node process serves every worker.
# XPORT and GEN point at other builds of xport and xport-test-gen.
# Measured 2026-12-07, s3, Release, 2 cores shared with other jobs (load
# ~9), with s3:parallel=8: 10,000 experiments, --shard 1/1 275 s (36
# experiments/s), 4 shards at once 219 s (46/s), ratio 1.26; peak RSS
# 24.1 MiB for 1/1, 16.5-16.8 MiB per shard; s3rver used 65 s and 63 s of
# CPU. Verify read each copy back in 275 s and 273 s (36 experiments/s).
# Before (one request at a time, and a listing request per experiment
# read): 1/1 536 s (19/s), 4 shards 191 s (52/s), ratio 2.8, and the
# verify was cut after 37 minutes: s3rver answers a listing of one
# experiment's folder by walking (stat) every sibling folder, 70-100 ms
# each at 1,500 experiments and growing with the layout; the reader now
# takes each experiment's objects from the layout's own listing.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
shards=${2:-4}
dest=${3:-local}
case "$dest" in local|s3) ;; *) echo "destination is local or s3, not '$dest'" >&2; exit 2;; esac
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

one_dst="$work/one"
many_dst="$work/many"
if [ "$dest" = s3 ]; then
    runner=tests/node/s3rver_run.js
    [ -f tests/node/node_modules/s3rver/package.json ] ||
        { echo "s3rver is not installed: run scripts/deps.sh --tests" >&2; exit 1; }
    mkdir -p "$work/s3rver"
    node "$runner" "$work/s3rver" bench >"$work/s3rver.port" 2>"$work/s3rver.err" &
    srv=$!
    trap 'kill "$srv" 2>/dev/null || true' EXIT
    for _ in $(seq 100); do grep -q PORT "$work/s3rver.port" && break; sleep 0.1; done
    port=$(awk '/PORT/{print $2}' "$work/s3rver.port")
    [ -n "$port" ] || { echo "s3rver did not start:"; cat "$work/s3rver.err"; exit 1; }
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=S3RVER
    export AWS_SECRET_ACCESS_KEY=bench-secret
    one_dst=s3://bench/one
    many_dst=s3://bench/many
    # the runner may run s3rver in a child (OpenSSL's legacy provider)
    spid=$(pgrep -P "$srv" | head -1 || true)
    spid=${spid:-$srv}
    srv_cpu() { awk '{print $14 + $15}' "/proc/$spid/stat"; } # utime+stime, ticks
    tick=$(getconf CLK_TCK)
fi

"$GEN" "$work/src" "$n"
echo "layout: $n experiments ($(du -sh "$work/src" | cut -f1))"

[ "$dest" = s3 ] && c0=$(srv_cpu)
t0=$(now)
timed "$work/rss-1" "$XPORT" copy -q "$work/src" "$one_dst" --shard 1/1 >/dev/null
t1=$(now)
one=$(secs "$t0" "$t1")
[ "$dest" = s3 ] && c1=$(srv_cpu)

t0=$(now)
pids=()
for k in $(seq 1 "$shards"); do
    timed "$work/rss-$k-of-$shards" "$XPORT" copy -q "$work/src" "$many_dst" \
        --shard "$k/$shards" >"$work/out-$k" 2>&1 &
    pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
t1=$(now)
many=$(secs "$t0" "$t1")
[ "$dest" = s3 ] && c2=$(srv_cpu)
[ "$fail" = 0 ] || { echo "a shard failed:"; cat "$work"/out-*; exit 1; }

echo "--shard 1/1:          $one s, $(rate "$n" "$one") experiments/s"
echo "$shards shards at once:     $many s, $(rate "$n" "$many") experiments/s"
awk -v a="$one" -v b="$many" 'BEGIN{printf "ratio (1/1 time / sharded time): %.2f\n", a/b}'
if [ -x /usr/bin/time ]; then
    echo "peak RSS: 1/1 $(cat "$work/rss-1") KiB; shards:" \
         "$(for k in $(seq 1 "$shards"); do printf '%s ' "$(cat "$work/rss-$k-of-$shards")"; done)KiB"
fi
if [ "$dest" = s3 ]; then
    awk -v a="$c0" -v b="$c1" -v c="$c2" -v t="$tick" -v x="$one" -v y="$many" \
        'BEGIN{printf "s3rver CPU: 1/1 %.1f s of %.1f s; shards %.1f s of %.1f s\n",
               (b-a)/t, x, (c-b)/t, y}'
fi
# the figures first: reading 10,000 experiments back from s3rver to
# verify them takes far longer than writing them
t0=$(now)
"$XPORT" verify "$work/src" "$one_dst" >/dev/null
t1=$(now)
"$XPORT" verify "$work/src" "$many_dst" >/dev/null
t2=$(now)
echo "verify: 1/1 copy $(secs "$t0" "$t1") s ($(rate "$n" "$(secs "$t0" "$t1")") experiments/s)," \
     "sharded copy $(secs "$t1" "$t2") s"
"$XPORT" status "$many_dst"

echo "destination: $dest; nproc: $(nproc); both copies verified equal to the source"
