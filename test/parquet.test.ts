// Parquet input: the committed fixture (scripts/make-parquet-fixture.mjs: 300 synthetic rows in 5
// row groups, with nulls, UTF-8, INT64) read by row groups gives the same vocabulary, ids and
// labels as the CSV of the same table, goes through the data cache, and names missing columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { loadData, type CsvSchema } from '../src/data/index.js';
import { parquetColumns } from '../src/data/parquet.js';
import { parseRows } from '../src/data/parse-rows.js';

const dir = fileURLToPath(new URL('../../test/fixtures/parquet/', import.meta.url));
const pq = join(dir, 'table.parquet');
const csv = join(dir, 'table.csv');
const schema = parseYaml(readFileSync(join(dir, 'schema.yaml'), 'utf8')) as CsvSchema;
const tmp = mkdtempSync(join(tmpdir(), 'alpt-parquet-'));

test('a Parquet file and the CSV of the same table give identical vocabularies, ids and labels', async () => {
  const a = await loadData({ format: 'csv', train: csv, valid: csv, schema, noCache: true });
  const b = await loadData({ format: 'parquet', train: pq, valid: pq, schema, noCache: true });
  assert.equal(b.train.n, 300);
  assert.deepEqual(b.vocab, a.vocab);
  assert.deepEqual(b.train.ids, a.train.ids);
  assert.deepEqual(b.train.labels, a.train.labels);
  assert.deepEqual(b.valid!.ids, a.valid!.ids);
  assert.deepEqual(Buffer.from(b.vocabKeys!.bytes), Buffer.from(a.vocabKeys!.bytes));
  // UTF-8 text, nulls (the empty cell) and INT64 beyond 2^32 are among the keys.
  const keys = Buffer.from(b.vocabKeys!.bytes).toString('utf8');
  assert.match(keys, /café/);
  assert.match(keys, /49000000343/);
  // The model file's input rules: csv with the Parquet columns as header, so it scores CSV lines and records.
  assert.deepEqual(b.input, a.input);
});

test('Parquet is read one row group at a time (bounded memory)', async () => {
  const sizes: number[] = [];
  await parseRows(pq, { format: 'parquet', schema }, false, 1 << 20, (rows) => { sizes.push(rows.rows); });
  assert.deepEqual(sizes, [64, 64, 64, 64, 44]);
  assert.deepEqual(await parquetColumns(pq), ['click', 'site', 'app', 'device_id', 'hour', 'price', 'clicks_7d']);
});

test('Parquet goes through the data cache; a missing column lists the columns found', async () => {
  const cacheDir = join(tmp, 'cache');
  const first = await loadData({ format: 'parquet', train: pq, schema, cacheDir });
  const second = await loadData({ format: 'parquet', train: pq, schema, cacheDir });
  assert.equal(first.fromCache, false);
  assert.equal(second.fromCache, true);
  assert.deepEqual(second.train.ids, first.train.ids);
  await assert.rejects(
    loadData({ format: 'parquet', train: pq, schema: { ...schema, label: 'clicked' }, noCache: true }),
    /table\.parquet: schema: no column "clicked" in the Parquet file \(columns: click, site, app, device_id, hour, price, clicks_7d\)/,
  );
});
