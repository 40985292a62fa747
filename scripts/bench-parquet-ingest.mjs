#!/usr/bin/env node
// Parquet ingest speed next to CSV's on the same table (docs/report-and-parquet.md): loadData
// (parse, vocabulary, ids; no cache) of DIR/table.csv and DIR/table.parquet with DIR/schema.yaml,
// as written by scripts/make-parquet-fixture.mjs. Best of --repeat runs each, one JSON line.
//   node scripts/bench-parquet-ingest.mjs DIR [--repeat 3]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadData } from '../dist/src/data/index.js';
import { parseWorker } from '../dist/src/data/encode.js';

const dir = process.argv[2];
const i = process.argv.indexOf('--repeat');
const repeat = i > 0 ? Number(process.argv[i + 1]) : 3;
const schema = parse(readFileSync(join(dir, 'schema.yaml'), 'utf8'));
parseWorker.minBytes = Infinity; // both in this thread, so the figures compare parsers, not threading
const out = {};
for (const [format, file] of [['csv', 'table.csv'], ['parquet', 'table.parquet']]) {
  let best = Infinity, rows = 0;
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    const d = await loadData({ format, train: join(dir, file), schema, noCache: true });
    best = Math.min(best, (performance.now() - t0) / 1000);
    rows = d.train.n;
  }
  out[format] = { rows, seconds: +best.toFixed(3), rows_per_s: Math.round(rows / best) };
}
console.log(JSON.stringify(out));
