// Tables split into row shards, each in a WebAssembly memory of its own (src/embedding/sharded-table.ts):
// they must train bit for bit like the same table kept whole — same gathers, codes, step sizes and
// optimizer states — with every shard running the WebAssembly kernels on all threads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTable, shardRowsFor, type TableMethod } from '../src/embedding/factory.js';
import { BatchLookup } from '../src/embedding/batch-lookup.js';
import { ShardedTable, savedTableArray } from '../src/embedding/sharded-table.js';
import { AlptTable } from '../src/embedding/quantized-table.js';
import { isAdaptive, learnsStepSizes, tableArray, type EmbeddingTable, type SparseOptimizerName } from '../src/embedding/table.js';
import type { StepSizeDtype, StepSizeOptimizerName } from '../src/embedding/steps.js';
import type { Backend } from '../src/kernels/backend.js';
import type { SparseKernels } from '../src/kernels/sparse.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { CounterRng } from '../src/util/rng.js';

const ROWS = 120_000; // 4 shards of 30 000 rows: the last shards' moment arrays start below firstRow·stride (rebased addresses wrap mod 2^32)
const DIM = 16;

let backend: Backend | undefined;
async function be(): Promise<Backend> {
  backend ??= await createWasmBackend({ threads: 2 });
  return backend;
}
after(() => backend?.dispose());

interface Case {
  method: TableMethod;
  bits: number;
  optimizer: SparseOptimizerName;
  stepDtype?: StepSizeDtype;
  stepOptimizer?: StepSizeOptimizerName;
}

function make(b: Backend, c: Case, shardBytes: number): EmbeddingTable {
  return createTable({
    method: c.method, bits: c.bits, rows: ROWS, dim: DIM, seed: 5, tableId: 1,
    optimizer: { name: c.optimizer, lr: c.optimizer === 'adam' ? 0.01 : 0.1 },
    stepDtype: c.stepDtype, stepOptimizer: c.stepOptimizer, stepLr: 0.2, backend: b, shardBytes,
  });
}

const bitsEqual = (a: ArrayBufferView | undefined, b: ArrayBufferView | undefined, what: string): void => {
  assert.ok(a && b, `${what}: missing`);
  assert.equal(a.byteLength, b.byteLength, `${what}: byte length`);
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const i = x.findIndex((v, j) => v !== y[j]);
  assert.equal(i, -1, `${what}: first differing byte ${i}`);
};

/** A few training steps on both tables with the same batches and gradients; compares as it goes. */
function trainBoth(b: Backend, whole: EmbeddingTable, sharded: EmbeddingTable, steps: number): void {
  const rng = new CounterRng(11, 0);
  const slots = 16384; // a few thousand unique rows per shard: the shards' kernels split across both threads
  const la = new BatchLookup(whole, b.sparse), lb = new BatchLookup(sharded, b.sparse);
  const xa = b.alloc(slots * DIM), xb = b.alloc(slots * DIM);
  const dx = b.alloc(slots * DIM);
  for (let step = 1; step <= steps; step++) {
    const ids = new Int32Array(slots);
    // hot rows in every shard plus a uniform tail: repeats, all shards, any order
    for (let i = 0; i < slots; i++) ids[i] = rng.next() < 0.5 ? Math.floor(rng.next() * 64) * 613 % ROWS : Math.floor(rng.next() * ROWS);
    la.prepare(ids, slots);
    lb.prepare(ids, slots);
    if (sharded instanceof ShardedTable) {
      // the lookup grouped the unique rows by shard: one run per shard
      for (let i = 1; i < lb.count; i++) assert.ok(Math.floor(lb.rows[i] / sharded.shardRows) >= Math.floor(lb.rows[i - 1] / sharded.shardRows), 'rows grouped by shard');
    }
    la.lookup(xa);
    lb.lookup(xb);
    bitsEqual(xa, xb, `step ${step} lookup`);
    for (let i = 0; i < slots * DIM; i++) dx[i] = (rng.next() - 0.5) * 0.1;
    const ga = la.scatter(dx), gb = lb.scatter(dx);
    if (isAdaptive(whole) && isAdaptive(sharded)) {
      whole.stageUpdate(la.rows, la.count, ga, step);
      sharded.stageUpdate(lb.rows, lb.count, gb, step);
      // the sharded lookup groups its unique rows by shard: compare and feed per row, not per position
      assert.equal(lb.count, la.count);
      const posA = new Map<number, number>();
      for (let i = 0; i < la.count; i++) posA.set(la.rows[i], i);
      const permute = (src: Float32Array, dst: Float32Array): void => {
        for (let j = 0; j < lb.count; j++) dst.set(src.subarray(posA.get(lb.rows[j])! * DIM, (posA.get(lb.rows[j])! + 1) * DIM), j * DIM);
      };
      const qa = b.alloc(la.count * DIM), qb = b.alloc(lb.count * DIM), qbA = b.alloc(lb.count * DIM);
      whole.fakeQuantizeStaged(qa);
      sharded.fakeQuantizeStaged(qb);
      permute(qa, qbA);
      bitsEqual(qbA, qb, `step ${step} fake-quantized staged rows`);
      const dqa = b.alloc(la.count * DIM), dq = b.alloc(lb.count * DIM);
      for (let i = 0; i < dqa.length; i++) dqa[i] = (rng.next() - 0.5) * 0.05;
      permute(dqa, dq);
      if (step % 2) {
        whole.updateStepSizesAndWriteBack(dqa, step);
        sharded.updateStepSizesAndWriteBack(dq, step);
      } else {
        whole.updateStepSizesStaged(dqa, step);
        sharded.updateStepSizesStaged(dq, step);
        whole.writeBackStaged(step);
        sharded.writeBackStaged(step);
      }
    } else if (learnsStepSizes(whole) && learnsStepSizes(sharded)) {
      whole.updateOnePass(la.rows, la.count, ga, step);
      sharded.updateOnePass(lb.rows, lb.count, gb, step);
    } else {
      whole.update(la.rows, la.count, ga, step);
      sharded.update(lb.rows, lb.count, gb, step);
    }
  }
}

const CASES: Case[] = [
  { method: 'fp32', bits: 32, optimizer: 'adam' },
  { method: 'fp32', bits: 32, optimizer: 'rowwise-adagrad' },
  { method: 'lpt-sr', bits: 4, optimizer: 'adam' },
  { method: 'lpt-dr', bits: 2, optimizer: 'adagrad', stepDtype: 'f16' },
  { method: 'alpt', bits: 4, optimizer: 'adam', stepOptimizer: 'adam' },
  { method: 'alpt', bits: 4, optimizer: 'rowwise-adagrad', stepDtype: 'f16', stepOptimizer: 'sgd' },
  { method: 'alpt', bits: 8, optimizer: 'sgd', stepDtype: 'f16', stepOptimizer: 'adagrad' },
  { method: 'alpt-fast', bits: 3, optimizer: 'rowwise-adagrad', stepOptimizer: 'adam' },
  { method: 'alpt-fast', bits: 2, optimizer: 'adam', stepDtype: 'f16', stepOptimizer: 'adagrad' },
];

for (const c of CASES) {
  const name = `${c.method} ${c.bits}-bit, ${c.optimizer}${c.stepDtype ? `, ${c.stepDtype} Δ` : ''}${c.stepOptimizer ? `, ${c.stepOptimizer} on Δ` : ''}`;
  test(`sharded ≡ whole, bit for bit: ${name}`, async () => {
    const b = await be();
    const whole = make(b, c, 2 ** 40);
    const total = whole.memory().total;
    const sharded = make(b, c, Math.ceil(total / 4)); // 4 shards
    assert.ok(!(whole instanceof ShardedTable));
    assert.ok(sharded instanceof ShardedTable);
    assert.equal(sharded.shards.length, 4);
    for (const sh of sharded.shards) {
      assert.equal((sh.table as { kernels?: { name: string } }).kernels?.name, 'wasm', 'every shard runs the WebAssembly kernels');
      assert.notEqual(sh.k, b.sparse, 'every shard has a memory of its own');
    }
    // init: same codes / weights, step sizes and Δ0
    for (const n of ['codes', 'steps', 'weights']) {
      const w = tableArray(whole, n);
      if (w) bitsEqual(w, tableArray(sharded, n), `init ${n}`);
    }
    trainBoth(b, whole, sharded, 4);
    const ws = whole.state();
    for (const [n, v] of Object.entries(ws)) bitsEqual(v, sharded.array!(n), `after training: ${n}`);
    // the memory report: the same per-row bytes; nothing fell back to the JS heap
    const mw = whole.memory(), ms = sharded.memory();
    for (const k of ['codes', 'steps', 'optimizerState', 'stepOptimizerState', 'master', 'total'] as const) assert.equal(ms[k], mw[k], k);
    assert.deepEqual(ms.fallbacks, []);
    // checkpoint: per-shard names; a new sharded table loads them back exactly
    const saved: Record<string, ArrayBufferView> = {};
    for (const [n, v] of Object.entries(sharded.state())) saved[`table.main.${n}`] = (v as Uint8Array).slice();
    assert.ok(Object.keys(saved).every((k) => /^table\.main\.shard[0-3]\./.test(k)));
    for (const [n, v] of Object.entries(ws)) bitsEqual(v, savedTableArray(saved, 'table.main.', n), `saved ${n}`);
    const again = make(b, c, Math.ceil(total / 4));
    const st: Record<string, ArrayBufferView> = {};
    for (const [k, v] of Object.entries(saved)) st[k.slice('table.main.'.length)] = v;
    again.load(st);
    for (const [n, v] of Object.entries(ws)) bitsEqual(v, again.array!(n), `loaded ${n}`);
    assert.throws(() => whole.load(st), /missing|checkpoint/);
  });
}

test('a sharded table\'s memory report ≡ every byte allocated in its shards\' memories', async () => {
  const b = await be();
  let logged = 0;
  const counting: Backend = Object.assign(Object.create(b) as Backend, {
    newSparseShard(): SparseKernels {
      const k = b.newSparseShard!();
      return { ...k, alloc: (ctor, n, what) => {
        const a = k.alloc(ctor, n, what);
        logged += a.byteLength;
        return a;
      } } as SparseKernels;
    },
  });
  for (const c of CASES) {
    logged = 0;
    const whole = make(b, c, 2 ** 40);
    const t = make(counting, c, Math.ceil(whole.memory().total / 3));
    assert.ok(t instanceof ShardedTable);
    trainBoth(b, whole, t, 2); // per-batch buffers grow during steps: counted too
    const m = t.memory();
    assert.equal(m.total + m.scratch, logged, `${c.method} ${c.optimizer}: report ${m.total} + scratch ${m.scratch} vs allocated ${logged}`);
  }
});

test('a sharded table refuses ids outside its rows, and a checkpoint of another layout', async () => {
  const b = await be();
  const c: Case = { method: 'lpt-sr', bits: 4, optimizer: 'sgd' };
  const t = make(b, c, 100_000);
  assert.ok(t instanceof ShardedTable);
  assert.throws(() => t.gather(new Int32Array([5, ROWS]), 2, new Float32Array(2 * DIM)), /out of range/);
  const whole = make(b, c, 2 ** 40);
  assert.throws(() => t.load(whole.state()), /shard 0/);
});

test('shardRowsFor: whole below the limit and the main memory room; equal shards above', () => {
  assert.equal(shardRowsFor(1000, 2 ** 30, 3 * 2 ** 30, 2 ** 20), 0);
  assert.equal(shardRowsFor(1000, 4 * 2 ** 30, 3 * 2 ** 30, 2 ** 20), 500); // 2 shards
  assert.equal(shardRowsFor(1000, 10 * 2 ** 30, 3 * 2 ** 30, 2 ** 20), 250); // 4 shards
  assert.equal(shardRowsFor(1000, 2.9 * 2 ** 30, 3 * 2 ** 30, 1.5 * 2 ** 30), 500); // no room left in the main memory
});

test('TypeScript kernels with firstRow: a shard table without wasm ≡ the rows of a whole one', () => {
  const rows = 2000, half = 1000;
  const opts = {
    dim: DIM, seed: 3, tableId: 2, bits: 4, optimizer: { name: 'adam' as const, lr: 0.01 }, stepLr: 0.2, stepDtype: 'f16' as const,
    stepOptimizer: 'adagrad' as const,
  };
  const whole = new AlptTable({ ...opts, rows, passes: 1 });
  const shard = new AlptTable({ ...opts, rows: rows - half, firstRow: half, tableRows: rows, passes: 1 });
  assert.equal(shard.kernels.name, 'typescript');
  const ids = new Int32Array(200);
  for (let i = 0; i < ids.length; i++) ids[i] = half + ((i * 37) % (rows - half));
  const uniq = Int32Array.from(new Set(ids));
  const g = new Float32Array(uniq.length * DIM).map((_, i) => Math.sin(i) * 0.01);
  for (let step = 1; step <= 3; step++) {
    whole.updateOnePass(uniq, uniq.length, g, step);
    shard.updateOnePass(uniq, uniq.length, g, step);
  }
  const w = whole.state(), s = shard.state();
  bitsEqual((w.codes as Uint8Array).subarray(half * whole.rowBytes), s.codes, 'codes');
  bitsEqual((w.steps as Uint16Array).subarray(half), s.steps, 'steps');
  bitsEqual((w['opt.m'] as Float32Array).subarray(half * DIM), s['opt.m'], 'opt.m');
  bitsEqual((w['stepOpt.m'] as Float32Array).subarray(half), s['stepOpt.m'], 'stepOpt.m');
  const out = new Float32Array(uniq.length * DIM), out2 = new Float32Array(uniq.length * DIM);
  whole.gather(uniq, uniq.length, out);
  shard.gather(uniq, uniq.length, out2);
  bitsEqual(out, out2, 'gather');
});

test('training end to end with the table in shards ≡ whole: AUC, checkpoint, model file, resume', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeSynthetic } = await import('../src/data/index.js');
  const { loadRunData } = await import('../src/train/run.js');
  const { Trainer } = await import('../src/train/trainer.js');
  const { DEFAULTS } = await import('../src/train/config.js');
  const { readTensorFile } = await import('../src/util/tensor-file.js');
  const tmp = mkdtempSync(join(tmpdir(), 'alpt-shard-'));
  const dir = join(tmp, 'synth');
  await writeSynthetic({ dir, rows: 6000, validRows: 1000, testRows: 1000, seed: 3, cardinality: 400 });
  const base = {
    ...DEFAULTS, progress: 'none' as const, cacheDir: join(tmp, 'cache'), data: dir, format: 'criteo' as const, model: 'dcn',
    embedding: 'alpt' as const, bits: 4, mlp: [32, 16], batch: 1000, seed: 9, patience: 5,
  };
  const data = await loadRunData(base);
  const b = await be();
  const run = (out: string, epochs: number, shardBytes: string | undefined, resume = false) => {
    const prev = process.env.ALPT_SHARD_BYTES;
    if (shardBytes) process.env.ALPT_SHARD_BYTES = shardBytes;
    else delete process.env.ALPT_SHARD_BYTES;
    try {
      const t = new Trainer({ ...base, epochs, out: join(tmp, out) }, data, b, {}, { resuming: resume }); // resuming: no init drawn
      if (resume) t.resume(join(tmp, out, 'checkpoint.alpt'));
      return { trainer: t, summary: t.fit() };
    } finally {
      if (prev === undefined) delete process.env.ALPT_SHARD_BYTES;
      else process.env.ALPT_SHARD_BYTES = prev;
    }
  };
  const whole = run('whole', 2, undefined);
  const perRow = whole.trainer.tables.main.memory().total;
  const small = String(Math.ceil(perRow / 3)); // 3 shards
  const sharded = run('sharded', 2, small);
  assert.ok(sharded.trainer.tables.main instanceof ShardedTable);
  assert.equal((sharded.trainer.tables.main as ShardedTable).shards.length, 3);
  assert.ok(!(whole.trainer.tables.main instanceof ShardedTable));
  assert.equal(sharded.summary.test_auc, whole.summary.test_auc);
  assert.equal(sharded.summary.test_logloss, whole.summary.test_logloss);
  assert.equal(sharded.summary.table_bytes_per_row, whole.summary.table_bytes_per_row);
  // the summary also counts the vocabulary's raw keys (grow with the rows) and the O(batch) lookup scratch
  assert.ok(data.vocabKeys);
  assert.equal(whole.summary.vocab_bytes, data.vocabKeys.bytes.byteLength + data.vocabKeys.ends.byteLength);
  assert.ok(whole.summary.lookup_bytes > 0 && whole.summary.lookup_bytes < 2e6, `lookup bytes ${whole.summary.lookup_bytes}`);
  // checkpoints: per-shard tensors, which join into the whole run's
  const cw = readTensorFile(join(tmp, 'whole', 'checkpoint.alpt')).arrays;
  const cs = readTensorFile(join(tmp, 'sharded', 'checkpoint.alpt')).arrays;
  for (const [k, v] of Object.entries(cw)) {
    const at = k.indexOf('table.main.'); // also best.table.main.* (the best epoch's snapshot)
    if (at < 0) bitsEqual(v, cs[k], k);
    else bitsEqual(v, savedTableArray(cs, k.slice(0, at + 11), k.slice(at + 11)), k);
  }
  // the model file is the same whole-table file
  const mw = readTensorFile(join(tmp, 'whole', 'model.alpt')).arrays;
  const ms = readTensorFile(join(tmp, 'sharded', 'model.alpt')).arrays;
  assert.deepEqual(Object.keys(ms).sort(), Object.keys(mw).sort());
  for (const k of Object.keys(mw)) bitsEqual(mw[k], ms[k], `model file ${k}`);
  // resume a sharded run: 1 epoch, then on to 2 ≡ the uninterrupted sharded run
  run('part', 1, small);
  const resumed = run('part', 2, small, true);
  assert.equal(resumed.summary.test_auc, sharded.summary.test_auc);
  const cr = readTensorFile(join(tmp, 'part', 'checkpoint.alpt')).arrays;
  for (const [k, v] of Object.entries(cs)) bitsEqual(v, cr[k], `resumed ${k}`);
});
