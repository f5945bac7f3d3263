#!/bin/sh
# The Parquet reader next to DuckDB on one neptune-exporter-shaped file.
#
#   bench/parquet_read.sh [BUILD_DIR] [ROWS]
#
# BUILD_DIR holds cmd/xport, bench/xport-bench-parquet-read and
# bench/xport-bench-runstat (default: build-bench; make it with
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DXPORT_BUILD_TESTS=OFF
#   cmake --build build-bench -j2).
# ROWS: default 10000000. Needs node and npm: the first run installs the
# fixture script's packages (tests/neptune/parquet, npm ci) for DuckDB.
#
# DuckDB writes the file (the exporter's schema, SNAPPY, row groups of
# 1048576 rows, one float series of many metrics), then three readers run
# in turn: xport's core reader decoding every column of every row group
# (xport-bench-parquet-read), `xport download --from neptune-export` (the
# whole adapter: rows mapped, points spooled, the layout written), and DuckDB
# (@duckdb/node-api, one thread, then its default threads) aggregating every
# column so that it decodes them all. Peak RSS of the node process includes
# node itself (about 50 MB: see the `node -e 0` line).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build-bench}" && pwd)
rows=${2:-10000000}
for b in cmd/xport bench/xport-bench-parquet-read bench/xport-bench-runstat; do
    [ -x "$build/$b" ] || { echo "missing $build/$b (see the header of $0)" >&2; exit 2; }
done
command -v node >/dev/null || { echo "needs node and npm" >&2; exit 2; }
fx=$here/tests/neptune/parquet
[ -d "$fx/node_modules/@duckdb" ] || (cd "$fx" && npm ci --silent)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/exports/data/ws_proj-bench"
file=$tmp/exports/data/ws_proj-bench/RUN-1-bench_part_0.parquet
cat >"$fx/.bench_duck.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const [mode, file, rows, threads] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: threads || '1' });
const c = await db.connect();
if (mode === 'write') {
  await c.run(`COPY (SELECT 'ws/proj' AS project_id, 'RUN-1' AS run_id,
      'metrics/m' || (i % 100) AS attribute_path, 'float_series' AS attribute_type,
      (i // 100)::DECIMAL(18,6) AS step,
      make_timestamp_ms(1767225600000 + i)::TIMESTAMPTZ AS timestamp,
      NULL::BIGINT AS int_value, ((i * 0.37) % 1.0)::DOUBLE AS float_value,
      NULL::VARCHAR AS string_value, NULL::BOOLEAN AS bool_value,
      NULL::TIMESTAMPTZ AS datetime_value, NULL::VARCHAR[] AS string_set_value,
      NULL::STRUCT(path VARCHAR) AS file_value,
      NULL::STRUCT(type VARCHAR, edges DOUBLE[], "values" DOUBLE[]) AS histogram_value
    FROM range(${rows}) t(i))
    TO '${file}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1048576)`);
} else {
  const r = await c.runAndReadAll(`SELECT count(project_id), count(run_id),
      sum(length(attribute_path)), count(attribute_type), sum(step), max(timestamp),
      sum(int_value), sum(float_value), count(string_value), count(bool_value),
      max(datetime_value), count(string_set_value), count(file_value),
      count(histogram_value) FROM '${file}'`);
  console.log(JSON.stringify(r.getRowsJson()[0]));
}
JS
echo "writing $rows rows with DuckDB ..."
(cd "$fx" && node .bench_duck.mjs write "$file" "$rows")
ls -l "$file" | awk '{print "file bytes", $5}'
stat() { "$build/bench/xport-bench-runstat" "$@"; }
echo "--- xport core reader (every column decoded)"
stat "$build/bench/xport-bench-parquet-read" "$file" 2>"$tmp/a" ; cat "$tmp/a"
echo "--- xport download --from neptune-export (reader + adapter + layout writer)"
stat "$build/cmd/xport" download --from neptune-export "$tmp/exports" -o "$tmp/out" \
    >/dev/null 2>"$tmp/b" || { cat "$tmp/b"; exit 1; }; grep wall_seconds "$tmp/b"
echo "--- duckdb, 1 thread"
(cd "$fx" && stat node .bench_duck.mjs read "$file" "$rows" 1 2>"$tmp/c"); cat "$tmp/c"
echo "--- duckdb, default threads (2 here)"
(cd "$fx" && stat node .bench_duck.mjs read "$file" "$rows" 2 2>"$tmp/d"); cat "$tmp/d"
echo "--- node -e 0 (node's own baseline)"
stat node -e 0
rm -f "$fx/.bench_duck.mjs"
rate() { awk -v r="$rows" -F'[= ]' '/wall_seconds/ {printf "%s: %.0f rows/s, peak RSS %d MiB\n", lbl, r/$2, $4/1024}' lbl="$1" "$2"; }
echo "=== summary ($rows rows)"
rate "xport core reader" "$tmp/a"
rate "xport download" "$tmp/b"
rate "duckdb 1 thread" "$tmp/c"
rate "duckdb 2 threads" "$tmp/d"
