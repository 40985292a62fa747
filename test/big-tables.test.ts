// Big tables: the memory a run will take is known before anything is allocated (the pre-flight
// estimate equals the tables' own reports), runs that cannot fit are refused at once with what to
// change, nothing is allocated per table row outside the report, and --memory-light.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTable, TABLE_METHODS } from '../src/embedding/factory.js';
import { estimateTable, preflight } from '../src/embedding/preflight.js';
import { BatchLookup } from '../src/embedding/batch-lookup.js';
import type { EmbeddingTable, SparseOptimizerName } from '../src/embedding/table.js';
import { applyMemoryLight, MEMORY_LIGHT } from '../src/train/memory-light.js';
import { DEFAULTS } from '../src/train/config.js';

const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const alpt = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });

test('pre-flight estimate ≡ memory() of the table actually built (every method, optimizer, Δ dtype, Δ optimizer)', () => {
  const rows = 123, dim = 7;
  for (const method of TABLE_METHODS) {
    for (const optimizer of ['adam', 'adagrad', 'rowwise-adagrad', 'sgd'] as SparseOptimizerName[]) {
      for (const bits of method === 'fp32' ? [32] : [8, 4, 3, 2]) {
        for (const stepDtype of ['f32', 'f16'] as const) {
          for (const stepOptimizer of ['adam', 'adagrad', 'sgd'] as const) {
            for (const lsqPerRow of method === 'lsq' ? [false, true] : [false]) {
              const shape = { method, rows, dim, bits, optimizer, stepDtype, stepOptimizer, lsqPerRow };
              const m = createTable({ ...shape, seed: 1, optimizer: { name: optimizer, lr: 0.01 } }).memory();
              const e = estimateTable(shape);
              const what = JSON.stringify(shape);
              assert.equal(e.total, m.total, what);
              for (const k of ['codes', 'steps', 'optimizerState', 'stepOptimizerState', 'master'] as const) assert.equal(e[k], m[k], `${what} ${k}`);
            }
          }
        }
      }
    }
  }
});

test('memory-light ALPT at 4 bits, d = 16: 14 bytes per row (codes 8 + Δ 2 + row-wise Adagrad 4)', () => {
  const e = estimateTable({
    method: 'alpt', rows: 1000, dim: 16, bits: 4, optimizer: MEMORY_LIGHT.sparseOptimizer!,
    stepDtype: MEMORY_LIGHT.stepDtype, stepOptimizer: MEMORY_LIGHT.stepOptimizer,
  });
  assert.equal(e.bytesPerRow, 14 + (MEMORY_LIGHT.stepOptimizer === 'adagrad' ? 4 : 0));
  assert.equal(estimateTable({ method: 'fp32', rows: 1000, dim: 16, bits: 32, optimizer: 'adam' }).bytesPerRow, 192);
});

test('preflight: refuses with the estimate, the memory available and what to change', () => {
  const prev = process.env.ALPT_MEMORY_AVAILABLE;
  process.env.ALPT_MEMORY_AVAILABLE = String(2 ** 30);
  try {
    const shape = { method: 'fp32' as const, rows: 10_000_000, dim: 16, bits: 32, optimizer: 'adam' as const };
    assert.throws(() => preflight({
      tables: [{ name: 'embedding table', shape }], wasm: true,
      alternatives: [{ label: '--memory-light', shape: { ...shape, method: 'alpt', bits: 4, optimizer: 'rowwise-adagrad', stepDtype: 'f16', stepOptimizer: 'sgd' } }],
    }), (e: Error) => {
      assert.match(e.message, /need about 1\.8 GiB, and this machine has 1\.0 GiB available/);
      assert.match(e.message, /10,000,000 rows × 192\.0 bytes\/row \(codes 64\.0, Δ 0\.0, optimizer 128\.0/);
      assert.match(e.message, /--memory-light: 0\.1 GiB \(14\.0 bytes\/row\)/);
      return true;
    });
    const ok = preflight({ tables: [{ name: 't', shape: { ...shape, rows: 1000 } }], wasm: true });
    assert.equal(ok.bytes, 192000);
    assert.equal(ok.wasmWarning, undefined);
    process.env.ALPT_MEMORY_AVAILABLE = String(2 ** 40);
    const big = preflight({ tables: [{ name: 't', shape: { ...shape, rows: 30_000_000 } }], wasm: true });
    assert.match(big.wasmWarning!, /more than the 4\.0 GiB WebAssembly memory/);
  } finally {
    if (prev === undefined) delete process.env.ALPT_MEMORY_AVAILABLE;
    else process.env.ALPT_MEMORY_AVAILABLE = prev;
  }
});

test('alpt bench: a 200 M-row fp32 + Adam table is refused at once, before any allocation', () => {
  const t0 = performance.now();
  const r = alpt({ ALPT_MEMORY_AVAILABLE: String(22 * 2 ** 30) }, 'bench', '--model', 'dcn', '--dim', '16', '--fields', '26', '--rows-per-field', '7700000',
    '--embedding', 'fp32', '--steps', '5', '--threads', '1');
  const s = (performance.now() - t0) / 1000;
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not enough memory for the embedding tables: they need about 35\.8 GiB, and this machine has 22\.0 GiB available/);
  assert.match(r.stderr, /200,200,000 rows × 192\.0 bytes\/row/);
  assert.match(r.stderr, /--memory-light: 2\.6 GiB \(14\.0 bytes\/row\)/);
  assert.ok(s < 20, `took ${s.toFixed(1)} s`);
});

test('alpt bench --memory-light: row-wise Adagrad, f16 Δ, light Δ optimizer; flags given win', () => {
  const r = alpt({}, 'bench', '--model', 'dcn', '--embedding', 'alpt', '--bits', '4', '--dim', '16', '--fields', '4', '--rows-per-field', '1000',
    '--batch', '256', '--mlp', '32', '--steps', '2', '--warmup', '1', '--threads', '1', '--memory-light');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.table_bytes_per_row, 14 + (MEMORY_LIGHT.stepOptimizer === 'adagrad' ? 4 : 0));
  assert.deepEqual(j.table.fallbacks, []);
  assert.ok(j.lookup_bytes > 0 && j.lookup_bytes < 256 * 4 * (44 + 8 * 16), `lookup ${j.lookup_bytes}`);
  const explicit = applyMemoryLight({ ...DEFAULTS, memoryLight: true, stepDtype: 'f32' }, new Set(['stepDtype']));
  assert.equal(explicit.stepDtype, 'f32');
  assert.equal(explicit.sparseOptimizer, 'rowwise-adagrad');
  assert.equal(applyMemoryLight({ ...DEFAULTS }, new Set()).sparseOptimizer, DEFAULTS.sparseOptimizer);
});

test('--memory-light: SGD on f16 Δ at 10 × Δ0; the step lr stays the user\'s when they pick the Δ optimizer or lr scale', () => {
  const on = { ...DEFAULTS, memoryLight: true };
  const light = applyMemoryLight(on, new Set());
  assert.equal(light.stepOptimizer, 'sgd');
  assert.equal(light.stepDtype, 'f16');
  assert.equal(light.stepLr, 10);
  assert.equal(light.stepLrScale, 'relative');
  // another Δ optimizer or an absolute scale: 10 would be far too large, so the lr is not set
  const adagrad = applyMemoryLight({ ...on, stepOptimizer: 'adagrad' }, new Set(['stepOptimizer']));
  assert.equal(adagrad.stepOptimizer, 'adagrad');
  assert.equal(adagrad.stepLr, DEFAULTS.stepLr);
  const absolute = applyMemoryLight({ ...on, stepLrScale: 'absolute' }, new Set(['stepLrScale']));
  assert.equal(absolute.stepLrScale, 'absolute');
  assert.equal(absolute.stepLr, DEFAULTS.stepLr);
  assert.equal(absolute.stepOptimizer, 'sgd');
  // an explicit step lr wins
  assert.equal(applyMemoryLight({ ...on, stepLr: 3 }, new Set(['stepLr'])).stepLr, 3);
});

test('BatchLookup on a 2^31−1-row table allocates O(batch), nothing per row', () => {
  const rows = 2 ** 31 - 1;
  const table: EmbeddingTable = {
    rows, dim: 4, gather() {}, update() {}, state: () => ({}), load() {},
    memory: () => { throw new Error('unused'); },
  };
  const l = new BatchLookup(table);
  const ids = Int32Array.from([rows - 1, 0, 5, rows - 1, 5, 123456789, 0]);
  l.prepare(ids, ids.length);
  assert.equal(l.count, 4);
  assert.deepEqual(Array.from(l.rows.subarray(0, 4)), [rows - 1, 0, 5, 123456789]);
  assert.deepEqual(Array.from(l.inverse.subarray(0, 7)), [0, 1, 2, 0, 2, 3, 1]);
  assert.ok(l.bytes() < 1024, `${l.bytes()} bytes`);
});

test('FrozenTable with f16 steps: the wasm gather ≡ the TypeScript gather', async () => {
  const { FrozenTable } = await import('../src/embedding/frozen-table.js');
  const { createWasmBackend } = await import('../src/kernels/wasm.js');
  const b = await createWasmBackend({ threads: 1 });
  try {
    const rows = 500, dim = 16;
    const src = createTable({ method: 'alpt', rows, dim, bits: 4, seed: 5, optimizer: { name: 'sgd', lr: 0.1 }, stepDtype: 'f16' });
    const ts = new FrozenTable({ rows, dim, bits: 4, stepDtype: 'f16' });
    const wa = new FrozenTable({ rows, dim, bits: 4, stepDtype: 'f16', kernels: b.sparse! });
    const st = src.state();
    ts.load(st);
    wa.load(st);
    const ids = b.sparse!.alloc(Int32Array, 300, 'ids');
    for (let i = 0; i < 300; i++) ids[i] = (i * 7) % rows;
    const outT = new Float32Array(300 * dim), outW = b.alloc(300 * dim);
    ts.gather(ids, 300, outT);
    wa.gather(ids, 300, outW);
    assert.deepEqual(Array.from(outW), Array.from(outT));
    assert.ok(outT.some((x) => x !== 0));
  } finally {
    b.dispose();
  }
});
