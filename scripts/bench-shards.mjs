#!/usr/bin/env node
// The cost of row shards: the embedding side of an ALPT step (prepare, lookup, scatter, stage,
// fake-quantize, step-size update + write-back) on the same table kept whole in the main
// WebAssembly memory and split into row shards in memories of their own, alternating rounds.
// Usage: node scripts/bench-shards.mjs [--rows 1000012] [--shards 3] [--steps 30] [--rounds 3] [--threads 2] [--dist dist]
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const rows = Number(opt('--rows', '1000012')), shards = Number(opt('--shards', '3')), steps = Number(opt('--steps', '30'));
const rounds = Number(opt('--rounds', '3')), threads = Number(opt('--threads', '2'));
const dist = resolve(opt('--dist', 'dist'));
const imp = (p) => import(pathToFileURL(resolve(dist, p)).href);
const { createWasmBackend } = await imp('src/kernels/wasm.js');
const { createTable } = await imp('src/embedding/factory.js');
const { BatchLookup } = await imp('src/embedding/batch-lookup.js');

const DIM = 16, FIELDS = 26, BATCH = 4096, slots = BATCH * FIELDS;
const be = await createWasmBackend({ threads });
const per = Math.floor(rows / FIELDS);
// Zipf(1.05)-like ids per field by inverse transform of a power law; fixed batches for both tables
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const batches = Array.from({ length: steps }, () => {
  const ids = new Int32Array(slots);
  for (let i = 0; i < slots; i++) {
    const f = i % FIELDS;
    const rank = Math.min(per - 1, Math.floor(Math.pow(1 - rand(), -1 / 0.05)) - 1);
    ids[i] = f * per + ((rank * 2654435761) >>> 0) % per;
  }
  return ids;
});
const dx = be.alloc(slots * DIM).map((_, i) => Math.sin(i) * 1e-3);
const make = (shardBytes) => createTable({
  method: 'alpt', bits: 4, rows: per * FIELDS, dim: DIM, seed: 1, optimizer: { name: 'rowwise-adagrad', lr: 0.05 }, backend: be, shardBytes,
});
const whole = make(2 ** 40);
const sharded = make(Math.ceil(whole.memory().total / shards));
const x = be.alloc(slots * DIM);
function run(table) {
  const lk = new BatchLookup(table, be.sparse);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    lk.prepare(batches[s], slots);
    lk.lookup(x);
    const g = lk.scatter(dx);
    table.stageUpdate(lk.rows, lk.count, g, s + 1);
    const q = x.subarray(0, lk.count * DIM);
    table.fakeQuantizeStaged(q);
    table.updateStepSizesAndWriteBack(q, s + 1);
  }
  return (performance.now() - t0) / steps;
}
const res = { whole: [], sharded: [] };
run(whole); run(sharded); // warm-up
for (let r = 0; r < rounds; r++) {
  res.whole.push(run(whole));
  res.sharded.push(run(sharded));
}
const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(JSON.stringify({
  rows: per * FIELDS, shards: sharded.shards?.length ?? 1, threads, steps, rounds, dist,
  whole_ms: res.whole.map((v) => +v.toFixed(2)), sharded_ms: res.sharded.map((v) => +v.toFixed(2)),
  ratio_median: +(med(res.sharded) / med(res.whole)).toFixed(3),
}));
be.dispose();
