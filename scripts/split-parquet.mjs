// Splits a Parquet file into PARTS files of consecutive rows, written by
// DuckDB: node scripts/split-parquet.mjs SRC DIR PARTS. Used by make bench
// to compare a folder of part files with the single file (PARTS=64 in the
// README's figures). One DuckDB thread keeps the rows in their order, so the
// parts joined in natural name order are the single file: the plan, and the
// requests planned (101,872 for the bench file), must come out the same.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const [src, dir, partsArg] = process.argv.slice(2);
const parts = Number(partsArg);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(`SET threads = 1`); // rows keep their order
const q = (s) => `'${s.replaceAll("'", "''")}'`;
await c.run(`CREATE TABLE t AS SELECT row_number() OVER () AS seq, * FROM read_parquet(${q(src)})`);
const n = Number((await c.runAndReadAll(`SELECT count(*) FROM t`)).getRows()[0][0]);
fs.mkdirSync(dir, { recursive: true });
const per = Math.ceil(n / parts);
for (let i = 0; i < parts; i++) {
  const name = path.join(dir, `part-${String(i).padStart(5, '0')}.parquet`);
  await c.run(`COPY (SELECT * EXCLUDE (seq) FROM t WHERE seq > ${i * per} AND seq <= ${(i + 1) * per} ORDER BY seq) TO ${q(name)} (FORMAT parquet)`);
}
