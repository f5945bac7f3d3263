#!/usr/bin/env bash
# Benchmark (issue 21): the journal stays small. 1) RUNS (default 1,000)
# runs of a 20-experiment copy into one destination; 2) BIG_RUNS (default
# 10) runs of a copy over a generated, metadata-only layout of BIG
# (default 100,000) experiments that the destination already has (each
# run lists them all and journals 100,000 outcomes). For each part: the
# journal's size and the time of the first and the last run. Neither may
# grow with the number of earlier runs.
#   bench/journal_bench.sh [RUNS [BIG [BIG_RUNS]]]
# XPORT=path/to/xport measures another build (e.g. an older one).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000}
big=${2:-100000}
big_runs=${3:-10}
work=${BENCH_DIR:-/tmp/xport-bench-journal}
if [ -z "${XPORT:-}" ]; then
    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DXPORT_BUILD_TESTS=OFF >/dev/null
    cmake --build build-release -j2 --target xport >/dev/null
    XPORT=build-release/cmd/xport
fi
rm -rf "$work" && mkdir -p "$work"
export XDG_STATE_HOME="$work/state"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
jsize() { stat -c %s "$1"/.xport/journal-*.jsonl; }

# metadata-only layout: ROOT/ws/p<k>/e<n>/experiment.json
gen() {
    python3 - "$1" "$2" <<'EOF'
import json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root, exist_ok=True)
with open(os.path.join(root, "xport.json"), "w") as f:
    json.dump({"format": "xport-layout", "version": 1}, f)
for i in range(n):
    ws, proj, name = "ws", "p%03d" % (i // 1000), "e%06d" % i
    d = os.path.join(root, ws, proj, name)
    os.makedirs(d)
    with open(os.path.join(d, "experiment.json"), "w") as f:
        json.dump({"name": name, "project": proj, "workspace": ws, "description": None,
                   "tags": [], "status": "COMPLETED", "folder": None, "metadata": None,
                   "created_at": None, "startedAt": None, "endedAt": None,
                   "source": {"vendor": "bench", "id": name, "url": None, "fields": None},
                   "xport": {"format": "xport-layout", "version": 1}}, f)
EOF
}

echo "part 1: $runs runs of a 20-experiment copy into one destination"
gen "$work/small" 20
first=""
for i in $(seq 1 "$runs"); do
    t0=$(now)
    "$XPORT" copy -q "$work/small" "$work/small-dst" >/dev/null
    t1=$(now)
    [ "$i" = 1 ] && { first=$(secs "$t0" "$t1"); size1=$(jsize "$work/small-dst"); }
    [ "$i" = 2 ] && size2=$(jsize "$work/small-dst")
    last=$(secs "$t0" "$t1")
done
echo "  journal: $size1 bytes after run 1, $size2 after run 2, $(jsize "$work/small-dst") after run $runs"
echo "  run 1: $first s; run $runs: $last s"

echo "part 2: $big_runs runs over a $big-experiment layout (metadata only) the destination has"
t0=$(now)
gen "$work/big" "$big"
cp -al "$work/big" "$work/big-dst" # hard links: the runs only read them
echo "  generated in $(secs "$t0" "$(now)") s"
for i in $(seq 1 "$big_runs"); do
    t0=$(now)
    "$XPORT" copy -q "$work/big" "$work/big-dst" >/dev/null
    t1=$(now)
    t=$(secs "$t0" "$t1")
    echo "  run $i: $t s, journal $(jsize "$work/big-dst") bytes"
done
rm -rf "$work"
