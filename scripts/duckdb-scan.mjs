// duckdb-scan.mjs FILE: the side-by-side anchor of `make bench`. DuckDB
// scans the bench file (CSV or Parquet, by extension) and groups it the way
// markimport's planner must: distinct users and distinct conversations.
// Prints one JSON line: {"file", "rows", "users", "conversations", "query_seconds"}.
// The bench times the whole node process, start-up included, as it does for
// markimport; that wall time is what the ratio markimport/DuckDB uses.
// query_seconds (the README's "inside node": 0.74 s for the 1M-row CSV,
// 0.43 s for its Parquet, against 1.176 s and 0.871 s for the process) is
// the query alone, without node's start and the library's load.
// The query: select count(*), count(distinct from_account),
// count(distinct (from_account, to_account, to_group_id)). Pitfall: DuckDB
// does less than validate (no rules, merge, limit or packing), and reads
// Parquet natively where markimport decodes through Arrow, so the ratio is an
// anchor on this machine, not a like-for-like contest; compare ratios from
// one bench run only.
import { closeSync, openSync, readSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) {
  console.error('usage: node duckdb-scan.mjs FILE.csv|FILE.parquet');
  process.exit(2);
}
const quoted = "'" + file.replaceAll("'", "''") + "'";
const source = /\.parquet$/i.test(file)
  ? `read_parquet(${quoted})`
  : `read_csv(${quoted}, header = true, all_varchar = true)`;
// The conversation is (from_account, to_account, to_group_id), of the
// columns the file has (names match case-insensitively, as in markimport).
// A CSV's header is read here, so that DuckDB's own time is only the query.
const keyColumns = () => {
  const all = ['from_account', 'to_account', 'to_group_id'];
  if (/\.parquet$/i.test(file)) return all;
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(64 * 1024);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const line = buf.subarray(0, n).toString('utf8').replace(/^\ufeff/, '').split(/\r?\n/)[0];
  const names = new Set(line.split(',').map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase()));
  return all.filter((c) => names.has(c));
};
const key = keyColumns();
const sql = `select count(*) as rows,
                    count(distinct from_account) as users,
                    count(distinct (${key.join(', ')})) as conversations
             from ${source}`;

try {
  const started = performance.now();
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const reader = await conn.runAndReadAll(sql);
  const [row] = reader.getRowObjectsJson();
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ file, ...row, query_seconds: Number(seconds.toFixed(3)) }));
  conn.closeSync?.();
  instance.closeSync?.();
} catch (err) {
  console.error(`duckdb-scan: ${file}: ${err.message ?? err}`);
  process.exit(1);
}
