// Regenerates testdata/legacy: a legacy chat system's table of marks, as
// a data engineer finds it (legacy.csv: user_id, peer_id, is_group 0/1,
// starred and pinned true/false, label, empty when unset), and the import
// file the README's recipe makes of it with DuckDB (marks.csv), by the
// query the README points at (recipe.sql, read from that file here, so
// that the recipe, the fixture and the test cannot drift apart).
//
// The recipe: is_group picks the type and which peer column the peer goes
// to; starred sets or clears the SDKs' star mark (bit 0); pinned sets or
// clears the app's own bit 32; a label is written as the custom mark, an
// empty one leaves it alone. cmd/markimport's TestLegacyRecipe imports
// marks.csv and checks the emulator against legacy.csv, read on its own.
//
// legacy.parquet is the same table as DuckDB types it (is_group INTEGER,
// starred and pinned BOOLEAN, an empty label null): TestLegacyMapFile
// imports it, and legacy.csv, through map.toml, and the readers'
// conformance test reads both through the same columns.
//
// Run by `make fixtures` (node scripts/legacy-fixture.mjs testdata/legacy).
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const here = path.resolve(process.argv[2] || 'testdata/legacy');
fs.mkdirSync(here, { recursive: true });

// A deterministic generator (a 32-bit LCG): the same table every time.
let seed = 20261205;
const rnd = (n) => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return (seed >>> 8) % n; };

const lines = ['user_id,peer_id,is_group,starred,pinned,label'];
for (let i = 0; i < 600; i++) {
  const user = 'u' + rnd(40);
  const group = rnd(3) === 0;
  // Peers collide across kinds on purpose: "7" is a user and a group.
  const peer = String(rnd(25));
  const label = rnd(3) === 0 ? `label ${i}, "q"` : '';
  const q = (s) => (/[",\n]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s);
  lines.push([user, peer, group ? 1 : 0, rnd(2) ? 'true' : 'false', rnd(4) === 0 ? 'true' : 'false', q(label)].join(','));
}
fs.writeFileSync(path.join(here, 'legacy.csv'), lines.join('\n') + '\n');

const sql = fs.readFileSync(path.join(here, 'recipe.sql'), 'utf8');
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
process.chdir(here);
await c.run(sql);
await c.run(`COPY (SELECT * FROM read_csv('legacy.csv', header = true,
    types = {'user_id': 'VARCHAR', 'peer_id': 'VARCHAR', 'is_group': 'INTEGER',
             'starred': 'BOOLEAN', 'pinned': 'BOOLEAN', 'label': 'VARCHAR'}))
  TO 'legacy.parquet' (FORMAT parquet)`);
console.log(`wrote ${path.join(here, 'legacy.csv')} (${lines.length - 1} rows), marks.csv and legacy.parquet`);
