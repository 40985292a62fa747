#!/usr/bin/env node
// Writes one synthetic CTR table twice, as CSV and as Parquet (several row groups, nulls, UTF-8,
// INT32/INT64/DOUBLE/STRING columns), plus the schema both are read with. The committed test
// fixture (test/fixtures/parquet/) was made with the defaults; larger tables for the ingest
// benchmark go to a temp folder (docs/report-and-parquet.md). Never made from ../shared/data.
//
// hyparquet (a dependency) only reads; the writer is hyparquet-writer, installed outside the
// project for this script alone:
//   npm install --no-save --prefix /tmp/pqw hyparquet-writer@0.17.0
//   PQW=/tmp/pqw/node_modules/hyparquet-writer node scripts/make-parquet-fixture.mjs [--rows 300] [--group 64] [--out test/fixtures/parquet]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const rows = Number(arg('--rows', '300'));
const group = Number(arg('--group', '64'));
const out = resolve(arg('--out', 'test/fixtures/parquet'));
const codec = arg('--codec', 'UNCOMPRESSED');
const pqw = process.env.PQW ?? 'hyparquet-writer';
const { parquetWriteBuffer } = await import(pqw.startsWith('/') ? pathToFileURL(join(pqw, 'src/index.js')).href : pqw);

// A small seeded generator (mulberry32), so the fixture is the same on every run.
let seed = 12345;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rand() * a.length)];

const cols = { click: [], site: [], app: [], device_id: [], hour: [], price: [], clicks_7d: [] };
const sites = ['a1b2', 'c3d4', 'e5f6', 'café', 'naïve', 'x9', 'zz-top', 'köln'];
for (let i = 0; i < rows; i++) {
  const site = pick(sites);
  const app = rand() < 0.1 ? null : `app${Math.floor(rand() ** 2 * 40)}`;
  const dev = BigInt(Math.floor(rand() * 50)) * 1000000007n; // INT64 beyond 2^32
  const hour = Math.floor(rand() * 24);
  const price = rand() < 0.15 ? null : Math.round(rand() * 1000) / 10;
  const c7 = rand() < 0.05 ? null : Math.floor(rand() ** 3 * 200);
  const p = 0.1 + (site === 'café' ? 0.3 : 0) + (hour > 18 ? 0.2 : 0) + (app === 'app1' ? 0.2 : 0);
  cols.click.push(rand() < p ? 1 : 0);
  cols.site.push(site);
  cols.app.push(app);
  cols.device_id.push(dev);
  cols.hour.push(hour);
  cols.price.push(price);
  cols.clicks_7d.push(c7);
}

const buf = parquetWriteBuffer({
  columnData: [
    { name: 'click', data: cols.click, type: 'INT32', nullable: false },
    { name: 'site', data: cols.site, type: 'STRING' },
    { name: 'app', data: cols.app, type: 'STRING' },
    { name: 'device_id', data: cols.device_id, type: 'INT64' },
    { name: 'hour', data: cols.hour, type: 'INT32' },
    { name: 'price', data: cols.price, type: 'DOUBLE' },
    { name: 'clicks_7d', data: cols.clicks_7d, type: 'INT32' },
  ],
  rowGroupSize: group,
  codec,
});
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'table.parquet'), new Uint8Array(buf));
const names = Object.keys(cols);
const cell = (v) => (v === null ? '' : String(v));
const lines = [names.join(',')];
for (let i = 0; i < rows; i++) lines.push(names.map((n) => cell(cols[n][i])).join(','));
writeFileSync(join(out, 'table.csv'), lines.join('\n') + '\n');
writeFileSync(join(out, 'schema.yaml'), [
  'label: click',
  'categorical: [site, app, device_id, hour]',
  'numeric:',
  '  - { column: price, buckets: [1, 10, 30, 60] }',
  '  - { column: clicks_7d, rule: log2 }',
  '',
].join('\n'));
process.stdout.write(`${rows} rows in row groups of ${group}: ${join(out, 'table.parquet')} (${buf.byteLength} bytes), table.csv, schema.yaml\n`);
