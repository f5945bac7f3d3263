// Writes expected.json for the apache/parquet-testing files copied into
// tests/fixtures/parquet/testing/: each file's rows as DuckDB reads them, one
// canonical text per leaf column (the form tests/unit/test_parquet.c prints:
// integers in decimal, doubles as the 16 hex digits of their bits, decimals
// with their scale's digits, strings quoted, lists as [a,b], null as null).
// Usage: node dump_testing.mjs DIR
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const db = await DuckDBInstance.create();
const con = await db.connect();
const f64hex = (x) => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
};
function scalar(v, t) {
  if (v === null || v === undefined) return 'null';
  if (t.type === 'BOOLEAN') return v ? 'true' : 'false';
  if (t.type === 'FLOAT' || t.type === 'DOUBLE') return f64hex(Number(v));
  if (t.decimal) return v.toString();
  if (t.type === 'INT32' || t.type === 'INT64') return String(v);
  if (v && v.bytes) return '"' + Buffer.from(v.bytes).toString('latin1') + '"';
  return '"' + Buffer.from(String(v), 'utf8').toString('latin1') + '"';
}
function canon(v, segs, t) {
  if (v === null || v === undefined) return 'null';
  if (v && v.items !== undefined && Array.isArray(v.items))
    return '[' + v.items.map((x) => canon(x, segs.slice(2), t)).join(',') + ']';
  if (v && v.entries && segs.length) return canon(v.entries[segs[0]], segs.slice(1), t);
  return scalar(v, t);
}
const out = {};
for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort()) {
  const file = path.join(dir, name);
  let leaves;
  try {
    const meta = await con.runAndReadAll(`SELECT path_in_schema, type
      FROM parquet_metadata('${file}') WHERE row_group_id = 0 ORDER BY column_id`);
    const sch = await con.runAndReadAll(`SELECT name FROM parquet_schema('${file}')
      WHERE converted_type = 'DECIMAL'`);
    const decs = new Set(sch.getRowObjects().map((r) => String(r.name)));
    leaves = meta.getRowObjects().map((r) => {
      const p = String(r.path_in_schema).split(', ').join('.');
      return { path: p, type: r.type, decimal: decs.has(p.split('.').pop()) };
    });
    const res = await con.runAndReadAll(`SELECT * FROM '${file}'`);
    const cols = res.columnNames();
    const rows = res.getRows().map((row) => leaves.map((l) => {
      const segs = l.path.split('.');
      return canon(row[cols.indexOf(segs[0])], segs.slice(1), l);
    }));
    out[name] = { leaves: leaves.map((l) => l.path), rows };
  } catch (e) {
    out[name] = { duckdb_error: String(e.message).split('\n')[0] };
  }
}
fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(out) + '\n');
