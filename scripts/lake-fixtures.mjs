// Regenerates the data-lake fixtures of testdata/lake with a real writer,
// DuckDB (@duckdb/node-api, installed by scripts/package.json): a
// Hive-partitioned export (COPY ... PARTITION_BY (from_account)) as Parquet
// and as CSV, and an export split into many Parquet files. Beside each it
// writes expected_*.csv: the same rows in one file (with the file and the
// row within it that each comes from), in the order markimport
// must read them (files in natural name order, rows in file order), made
// here independently of markimport: files listed and ordered by this
// script, rows read back by DuckDB file by file, partition values taken
// from the folder names by this script.
//
// Run by `make fixtures` (node scripts/lake-fixtures.mjs testdata/lake).
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const here = path.resolve(process.argv[2] || 'testdata/lake');

// A deterministic generator (a 32-bit LCG), so that the fixtures are the
// same on every regeneration.
let seed = 20261202;
const rnd = (n) => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return (seed >>> 8) % n; };

const users = ['alice', 'bob', 'carol', 'dave', 'a b', 'ünï', 'x=y', 'p%q', 'user+1', 'u/1'];
for (let i = 0; i < 30; i++) users.push('user' + i);
const rows = [];
for (let i = 0; i < 3000; i++) {
  const u = rnd(50) === 0 ? null : users[rnd(users.length)];
  const p = rnd(40);
  const kind = rnd(4);
  const r = { from_account: u, type: '', to_account: '', to_group_id: '', set_mark: '', clear_mark: '', custom_mark: '', opt_type: '' };
  if (kind === 0) { r.to_account = 'peer' + p; r.set_mark = `[${rnd(64)},${rnd(64)}]`; }
  if (kind === 1) { r.type = 'c2c'; r.to_account = 'peer' + p; r.clear_mark = String(rnd(64)); }
  if (kind === 2) { r.type = '2'; r.to_group_id = 'grp' + p; r.set_mark = String(rnd(32)); r.custom_mark = 'note ' + i; }
  if (kind === 3) { r.type = 'group'; r.to_group_id = 'grp' + p; r.custom_mark = ''; r.opt_type = '2'; }
  rows.push(r);
}

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(`SET threads = 1`); // one writer thread: rows keep their order within each file
const cols = ['from_account', 'type', 'to_account', 'to_group_id', 'set_mark', 'clear_mark', 'custom_mark', 'opt_type'];
await c.run(`CREATE TABLE marks (seq INTEGER, ${cols.map((k) => k + ' VARCHAR').join(', ')})`);
const app = await c.createAppender('marks');
rows.forEach((r, i) => {
  app.appendInteger(i);
  for (const k of cols) { if (r[k] === null) app.appendNull(); else app.appendVarchar(r[k]); }
  app.endRow();
});
app.closeSync();

const q = (s) => `'${s.replaceAll("'", "''")}'`;
const reset = (dir) => { fs.rmSync(dir, { recursive: true, force: true }); };

const hivePq = path.join(here, 'duckdb_hive_parquet');
const hiveCsv = path.join(here, 'duckdb_hive_csv');
const split = path.join(here, 'duckdb_split_parquet');
for (const d of [hivePq, hiveCsv, split]) reset(d);
const select = `SELECT ${cols.join(', ')} FROM marks ORDER BY seq`;
await c.run(`COPY (${select}) TO ${q(hivePq)} (FORMAT parquet, PARTITION_BY (from_account))`);
await c.run(`COPY (${select}) TO ${q(hiveCsv)} (FORMAT csv, HEADER, PARTITION_BY (from_account))`);
// Fifteen files data_0 ... data_14 of consecutive rows, so that natural
// order (data_2 before data_10) matters; written in a shuffled order.
fs.mkdirSync(split, { recursive: true });
for (const i of [7, 14, 2, 10, 0, 5, 12, 1, 9, 3, 13, 4, 11, 6, 8]) {
  await c.run(`COPY (SELECT ${cols.join(', ')} FROM marks WHERE seq >= ${i * 200} AND seq < ${(i + 1) * 200} ORDER BY seq) TO ${q(path.join(split, `data_${i}.parquet`))} (FORMAT parquet)`);
}
// What Spark leaves beside its parts, which a reader must skip.
fs.writeFileSync(path.join(split, '_SUCCESS'), '');
fs.writeFileSync(path.join(split, '.data_0.parquet.crc'), 'crc');

// Natural order, written here on its own: digit runs compare as numbers.
function natural(a, b) {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) || [], pb = b.match(re) || [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i], y = pb[i];
    const dx = /^\d/.test(x), dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x), ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    if (x !== y) return Buffer.compare(Buffer.from(x), Buffer.from(y));
  }
  return pa.length - pb.length;
}
function naturalPath(a, b) {
  const sa = a.split('/'), sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const d = natural(sa[i], sb[i]);
    if (d !== 0) return d;
  }
  return sa.length - sb.length;
}
function list(dir, ext) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
      const r = rel ? rel + '/' + e.name : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (e.name.endsWith(ext)) out.push(r);
    }
  };
  walk(dir, '');
  return out.sort(naturalPath);
}
function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
}
async function expected(dir, ext, name) {
  const lines = [cols.join(',') + ',file,file_row'];
  for (const rel of list(dir, ext)) {
    const file = path.join(dir, rel);
    const reader = ext === '.parquet' ? `read_parquet(${q(file)}, hive_partitioning = false)` : `read_csv(${q(file)}, header = true, all_varchar = true, hive_partitioning = false)`;
    const res = await c.runAndReadAll(`SELECT * FROM ${reader}`);
    const part = {};
    for (const seg of rel.split('/').slice(0, -1)) {
      const eq = seg.indexOf('=');
      if (eq > 0) {
        const v = decodeURIComponent(seg.slice(eq + 1));
        part[decodeURIComponent(seg.slice(0, eq))] = v === '__HIVE_DEFAULT_PARTITION__' ? '' : v;
      }
    }
    res.getRowObjects().forEach((r, i) => {
      lines.push(cols.map((k) => csvField(k in r ? r[k] : part[k])).join(',') + ',' + csvField(rel) + ',' + (i + 1));
    });
  }
  fs.writeFileSync(path.join(here, name), lines.join('\n') + '\n');
  return lines.length - 1;
}
const n1 = await expected(hivePq, '.parquet', 'expected_hive_parquet.csv');
const n2 = await expected(hiveCsv, '.csv', 'expected_hive_csv.csv');
const n3 = await expected(split, '.parquet', 'expected_split_parquet.csv');
console.log(`testdata/lake: ${rows.length} rows; expected files of ${n1}, ${n2}, ${n3} rows; ${list(split, '.parquet').length} split files`);
