// Writes Parquet files with the neptune-exporter schema
// (neptune-ai/neptune-exporter src/neptune_exporter/model.py::SCHEMA) through
// real Parquet writers: parquet-wasm (arrow-rs) and DuckDB, plus record.json,
// the exact values written, and an exporter folder for the adapter test.
// Usage: node gen_parquet.mjs OUTDIR   (npm ci first; see README.md in
// tests/fixtures/parquet). Deterministic: no clock, no randomness.
import * as A from 'apache-arrow';
import * as P from 'parquet-wasm';
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: node gen_parquet.mjs OUTDIR');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

// ---- values: every value edge, in canonical form for record.json --------
// int64 and timestamps as decimal strings, doubles as 16 hex digits of their
// bits, decimals as text with 6 places.
const f64hex = (x) => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
};
const NAN_PAYLOAD = '7ff0000000000001'; // a signalling NaN with a payload
const NEG_NAN = 'fff8000000000000';
const decText = (units) => {
  const neg = units < 0n;
  let s = (neg ? -units : units).toString().padStart(7, '0');
  return (neg ? '-' : '') + s.slice(0, -6) + '.' + s.slice(-6);
};
const T0 = 1767225600000n; // 2026-01-01T00:00:00Z in ms

function baseRow(project, run, pathName, type) {
  return {
    project_id: project, run_id: run, attribute_path: pathName,
    attribute_type: type, step: null, timestamp: null, int_value: null,
    float_value: null, string_value: null, bool_value: null,
    datetime_value: null, string_set_value: null, file_value: null,
    histogram_value: null,
  };
}

// Rows of one run: atoms, sets, series with edge values, files.
function runRows(project, run, nseries, withFork, withMissing) {
  const rows = [];
  const add = (p, t, v) => rows.push(Object.assign(baseRow(project, run, p, t), v));
  add('sys/name', 'string', { string_value: 'edge run ' + run });
  add('sys/creation_time', 'datetime', { datetime_value: (T0 - 86400000n).toString() });
  add('sys/tags', 'string_set', { string_set_value: ['b-tag', 'a-tag'] });
  add('sys/failed', 'bool', { bool_value: false });
  if (withFork) {
    add('sys/forking/parent', 'string', { string_value: 'RUN-1' });
    add('sys/forking/step', 'float', { float_value: f64hex(41.5) });
  }
  add('parameters/lr', 'float', { float_value: f64hex(0.001) });
  add('parameters/neg_zero', 'float', { float_value: f64hex(-0.0) });
  add('parameters/tiny', 'float', { float_value: f64hex(5e-324) });
  add('parameters/max', 'float', { float_value: f64hex(1.7976931348623157e308) });
  add('parameters/nan', 'float', { float_value: NAN_PAYLOAD });
  add('parameters/epochs', 'int', { int_value: '9223372036854775807' });
  add('parameters/min_int', 'int', { int_value: '-9223372036854775808' });
  add('parameters/zero', 'int', { int_value: '0' });
  add('parameters/flag', 'bool', { bool_value: true });
  add('parameters/name', 'string', { string_value: 'héllo ✓ 日本語 🎉 "q" \\ \u0001' });
  add('parameters/empty', 'string', { string_value: '' });
  add('parameters/when', 'datetime', { datetime_value: '-1' });
  add('parameters/set_empty', 'string_set', { string_set_value: [] });
  add('parameters/set', 'string_set', { string_set_value: ['ünï', 'x y', ''] });
  // float series: the step and value edges first
  const edges = [
    ['0', f64hex(0.5)], ['1', 'nan'], ['2', f64hex(Infinity)],
    ['3', f64hex(-Infinity)], ['4', f64hex(-0.0)],
    ['123456789012500000', f64hex(1e-300)], ['-1500000', NEG_NAN],
    ['999999999999999999', f64hex(2.5)], ['-999999999999999999', f64hex(-2.5)],
  ];
  edges.forEach(([units, v], i) => add('metrics/loss', 'float_series', {
    step: decText(BigInt(units)), timestamp: (T0 + BigInt(i)).toString(),
    float_value: v === 'nan' ? f64hex(NaN) : v,
  }));
  for (let i = 0; i < nseries; i++)
    add('metrics/acc', 'float_series', {
      step: decText(BigInt(i) * 1000000n), timestamp: (T0 + 1000n * BigInt(i)).toString(),
      float_value: f64hex(Math.sin(i) / 3),
    });
  for (let i = 0; i < 5; i++)
    add('monitoring/abc/stdout', 'string_series', {
      step: decText(BigInt(i) * 1000000n), timestamp: (T0 + BigInt(i)).toString(),
      string_value: i === 2 ? '' : 'line ' + i + ' ✓',
    });
  add('train/notes', 'string_series', { step: decText(0n), timestamp: T0.toString(), string_value: 'note' });
  add('train/hist', 'histogram_series', {
    step: decText(1000000n), timestamp: T0.toString(),
    histogram_value: { type: 'linear', edges: [f64hex(0), f64hex(1), f64hex(2)], values: [f64hex(3), f64hex(NaN)] },
  });
  add('train/hist', 'histogram_series', {
    step: decText(2000000n), timestamp: (T0 + 1n).toString(),
    histogram_value: { type: null, edges: [], values: null },
  });
  const fp = (a) => `${project}/${run}/${a}`;
  add('model/weights', 'file', { file_value: { path: fp('model/weights') } });
  add('images/sample', 'file_series', { step: decText(0n), file_value: { path: fp('images/sample') } });
  add('source_code/files', 'file_set', { file_value: { path: fp('source_code/files') } });
  add('data/artifact', 'artifact', { file_value: { path: fp('data/artifact') + '/files_list.json' } });
  if (withMissing) add('model/missing', 'file', { file_value: null });
  return rows;
}

// ---- Arrow table with the exporter's schema --------------------------------
const listOf = (t) => new A.List(new A.Field('element', t, true));
const SCHEMA = [
  ['project_id', new A.Utf8()], ['run_id', new A.Utf8()],
  ['attribute_path', new A.Utf8()], ['attribute_type', new A.Utf8()],
  ['step', new A.Decimal(6, 18, 128)], ['timestamp', new A.TimestampMillisecond('UTC')],
  ['int_value', new A.Int64()], ['float_value', new A.Float64()],
  ['string_value', new A.Utf8()], ['bool_value', new A.Bool()],
  ['datetime_value', new A.TimestampMillisecond('UTC')],
  ['string_set_value', listOf(new A.Utf8())],
  ['file_value', new A.Struct([new A.Field('path', new A.Utf8(), true)])],
  ['histogram_value', new A.Struct([new A.Field('type', new A.Utf8(), true),
    new A.Field('edges', listOf(new A.Float64()), true),
    new A.Field('values', listOf(new A.Float64()), true)])],
];
const hexToF64 = (h) => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt('0x' + h));
  return dv.getFloat64(0);
};
const decWords = (text) => {
  const units = BigInt(text.replace('.', ''));
  const w = new Uint32Array(4);
  let x = BigInt.asUintN(128, units);
  for (let i = 0; i < 4; i++) { w[i] = Number(x & 0xffffffffn); x >>= 32n; }
  return w;
};
// A float64 column from exact bits (JS numbers would lose NaN payloads).
function f64Column(hexes) {
  const bits = new BigUint64Array(hexes.length);
  const valid = new Uint8Array(Math.ceil(hexes.length / 8));
  let nulls = 0;
  hexes.forEach((h, i) => {
    if (h === null) { nulls++; return; }
    bits[i] = BigInt('0x' + h);
    valid[i >> 3] |= 1 << (i & 7);
  });
  return A.makeVector(A.makeData({ type: new A.Float64(), length: hexes.length,
    nullCount: nulls, nullBitmap: valid, data: new Float64Array(bits.buffer) }));
}
function toTable(rows) {
  const cols = {};
  for (const [name, type] of SCHEMA) {
    let vals = rows.map((r) => r[name]);
    if (name === 'float_value') { cols[name] = f64Column(vals); continue; }
    if (name === 'step') vals = vals.map((v) => (v === null ? null : decWords(v)));
    if (name === 'timestamp' || name === 'datetime_value' || name === 'int_value')
      vals = vals.map((v) => (v === null ? null : BigInt(v)));
    if (name === 'histogram_value')
      vals = vals.map((v) => v === null ? null : {
        type: v.type,
        edges: v.edges === null ? null : v.edges.map(hexToF64),
        values: v.values === null ? null : v.values.map(hexToF64),
      });
    cols[name] = A.vectorFromArray(vals, type);
  }
  return new A.Table(cols);
}

function writeWasm(file, rows, opt) {
  let b = new P.WriterPropertiesBuilder()
    .setCompression(opt.codec)
    .setDictionaryEnabled(opt.dict)
    .setWriterVersion(opt.v2 ? P.WriterVersion.V2 : P.WriterVersion.V1)
    .setMaxRowGroupSize(opt.rowGroup)
    .setDataPageSizeLimit(opt.pageBytes)
    .setWriteBatchSize(64)
    .setCreatedBy('xport gen_parquet.mjs (parquet-wasm 0.8.0)');
  const t = toTable(rows);
  const buf = P.writeParquet(P.Table.fromIPCStream(A.tableToIPC(t, 'stream')), b.build());
  fs.writeFileSync(file, buf);
}

// ---- the unit test's files -----------------------------------------------
const rows = runRows('ws/proj', 'RUN-1', 600, true, true);
const record = { schema: SCHEMA.map(([n]) => n), rows, files: {} };
const variants = [
  ['snappy_dict_v1', { codec: P.Compression.SNAPPY, dict: true, v2: false }],
  ['zstd_plain_v2', { codec: P.Compression.ZSTD, dict: false, v2: true }],
  ['none_dict_v2', { codec: P.Compression.UNCOMPRESSED, dict: true, v2: true }],
  ['snappy_plain_v1', { codec: P.Compression.SNAPPY, dict: false, v2: false }],
];
const pq = path.join(out, 'parquet');
fs.mkdirSync(pq, { recursive: true });
for (const [name, o] of variants) {
  const file = `exporter_${name}.parquet`;
  writeWasm(path.join(pq, file), rows, { ...o, rowGroup: 200, pageBytes: 512 });
  record.files[file] = { writer: 'parquet-wasm', rows: rows.length, ...o };
}
// DuckDB rewrites one of them with its own writer (data page v2, DELTA_*
// and BYTE_STREAM_SPLIT encodings); its timestamps become microseconds.
const db = await DuckDBInstance.create();
const con = await db.connect();
await con.run(`COPY (SELECT * FROM '${path.join(pq, 'exporter_snappy_dict_v1.parquet')}')
  TO '${path.join(pq, 'duckdb_zstd_v2.parquet')}'
  (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 256)`);
record.files['duckdb_zstd_v2.parquet'] = { writer: 'duckdb', rows: rows.length,
  timestamp_unit: 'us' };
fs.writeFileSync(path.join(pq, 'record.json'), JSON.stringify(record, null, 0) + '\n');

// ---- an exporter folder for the adapter test --------------------------------
const sanitize = (s) => execFileSync('python3', ['-c',
  'import hashlib,sys;s=sys.argv[1];print("".join(c if c.isalnum() or c in "_-" else "_" for c in s)+"-"+hashlib.blake2b(s.encode(),digest_size=8).hexdigest())', s]).toString().trim();
const ex = path.join(out, 'exports');
const proj = 'ws/proj', sp = sanitize(proj);
const dataDir = path.join(ex, 'data', sp);
fs.mkdirSync(dataDir, { recursive: true });
const adapter = { project: proj, runs: {} };
const small = { codec: P.Compression.SNAPPY, dict: true, v2: false, rowGroup: 64, pageBytes: 1024 };
// RUN-1 in two parts, as the exporter rolls them; RUN-2 forked from it;
// RUN-3 incomplete (part_0 missing: the exporter renames it last).
const r1 = runRows(proj, 'RUN-1', 150, false);
const r2 = runRows(proj, 'RUN-2', 10, true);
const r3 = runRows(proj, 'RUN-3', 5, false);
const split = 30;
writeWasm(path.join(dataDir, `${sanitize('RUN-1')}_part_0.parquet`), r1.slice(0, split), small);
writeWasm(path.join(dataDir, `${sanitize('RUN-1')}_part_1.parquet`), r1.slice(split), small);
writeWasm(path.join(dataDir, `${sanitize('RUN-2')}_part_0.parquet`), r2, small);
writeWasm(path.join(dataDir, `${sanitize('RUN-3')}_part_1.parquet`), r3, small);
adapter.runs['RUN-1'] = r1;
adapter.runs['RUN-2'] = r2;
adapter.runs['RUN-3'] = r3;
// files, relative to files/<sanitized project>/
const filesDir = path.join(ex, 'files', sp);
const put = (rel, body) => {
  fs.mkdirSync(path.dirname(path.join(filesDir, rel)), { recursive: true });
  fs.writeFileSync(path.join(filesDir, rel), body);
};
for (const run of ['RUN-1', 'RUN-2', 'RUN-3']) {
  put(`${proj}/${run}/model/weights`, `weights of ${run}\n`);
  put(`${proj}/${run}/images/sample/0.png`, '\x89PNG fake 0');
  put(`${proj}/${run}/images/sample/1.png`, '\x89PNG fake 1');
  put(`${proj}/${run}/source_code/files/main.py`, 'print("hi")\n');
  put(`${proj}/${run}/source_code/files/pkg/util.py`, 'X = 1\n');
  put(`${proj}/${run}/data/artifact/files_list.json`, '[{"filePath": "a.csv", "fileHash": "00", "type": "Local", "size": 3, "metadata": []}]');
}
fs.writeFileSync(path.join(ex, 'record.json'), JSON.stringify(adapter, null, 0) + '\n');
console.log('wrote', out);
