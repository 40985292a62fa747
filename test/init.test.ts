// Table initialisation: the row-addressed N(0, σ²) draws (src/embedding/init.ts) and the
// multi-threaded WebAssembly init (assembly/init.ts) must agree bit for bit on any thread count,
// and the hand-built ln/sin/cos must be accurate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTable } from '../src/embedding/factory.js';
import { QuantizedTable } from '../src/embedding/quantized-table.js';
import { Fp32Table } from '../src/embedding/fp32-table.js';
import { cosSinTurn, drawRows, initMeanAbs, initTableKey, lnUnit, INIT_BLOCK_ROWS } from '../src/embedding/init.js';
import type { Backend } from '../src/kernels/backend.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { fmix32 } from '../src/util/rng.js';

const backends: Backend[] = [];
after(() => { for (const b of backends) b.dispose?.(); });
async function wasm(threads: number): Promise<Backend> {
  const b = await createWasmBackend({ threads });
  backends.push(b);
  return b;
}

test('lnUnit and cosSinTurn agree with Math.log / Math.cos / Math.sin to 1e-12', () => {
  const cs = new Float64Array(2);
  let worstLn = 0, worstTrig = 0;
  const check = (h: number) => {
    const u = (h + 0.5) * 2 ** -32;
    const l = lnUnit(h);
    worstLn = Math.max(worstLn, Math.abs(l - Math.log(u)) / Math.abs(Math.log(u)));
    cosSinTurn(h, cs);
    const a = 2 * Math.PI * u;
    worstTrig = Math.max(worstTrig, Math.abs(cs[0] - Math.cos(a)), Math.abs(cs[1] - Math.sin(a)));
  };
  for (const h of [0, 1, 2, 3, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xffffffff]) check(h);
  for (let i = 0; i < 200000; i++) check(fmix32(i));
  assert.ok(worstLn < 1e-11, `ln relative error ${worstLn}`);
  assert.ok(worstTrig < 1e-13, `sin/cos absolute error ${worstTrig}`);
});

test('init draws: N(0, σ²) moments, row-addressed, seed- and table-dependent', () => {
  const rows = 20000, dim = 16, std = 0.01;
  const key = initTableKey(7, 0);
  const w = new Float32Array(rows * dim);
  drawRows(key, 0, rows, dim, std, w);
  let s = 0, s2 = 0, s4 = 0, tail = 0;
  for (const x of w) { s += x; s2 += x * x; s4 += x ** 4; if (Math.abs(x) > 3 * std) tail++; }
  const n = w.length, mean = s / n, v = s2 / n;
  assert.ok(Math.abs(mean) < 4 * std / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(v) / std - 1) < 0.01, `std ${Math.sqrt(v)}`);
  assert.ok(Math.abs(s4 / n / (v * v) - 3) < 0.1, `kurtosis ${s4 / n / (v * v)}`);
  assert.ok(Math.abs(tail / n - 0.0027) < 0.0006, `P(|x| > 3σ) = ${tail / n}`);
  // any row range redraws the same values
  const part = new Float32Array(5 * dim);
  drawRows(key, 12345, 5, dim, std, part);
  assert.deepEqual(part, w.subarray(12345 * dim, 12350 * dim));
  const other = new Float32Array(dim), other2 = new Float32Array(dim);
  drawRows(initTableKey(8, 0), 0, 1, dim, std, other);
  drawRows(initTableKey(7, 1), 0, 1, dim, std, other2);
  assert.notDeepEqual(other, w.subarray(0, dim));
  assert.notDeepEqual(other2, w.subarray(0, dim));
  // mean|w| ≈ σ·√(2/π)
  assert.ok(Math.abs(initMeanAbs(key, rows, dim, std) / (std * Math.sqrt(2 / Math.PI)) - 1) < 0.01);
});

test('wasm init ≡ TypeScript init, on 1 and 2 threads (codes, Δ0, fp32 weights)', async () => {
  const b1 = await wasm(1), b2 = await wasm(2);
  const rows = 3 * INIT_BLOCK_ROWS + 77; // several pass-1 blocks, a partial last one
  for (const dim of [16, 7, 1]) {
    for (const bits of [2, 3, 4, 8]) {
      for (const stepDtype of ['f32', 'f16'] as const) {
        const mk = (backend?: Backend) => createTable({
          method: 'lpt-sr', rows, dim, bits, seed: 3, tableId: 2, stepDtype,
          optimizer: { name: 'rowwise-adagrad', lr: 0.01 }, backend,
        }) as QuantizedTable;
        const ts = mk(), w1 = mk(b1), w2 = mk(b2);
        const what = `dim ${dim}, ${bits} bits, ${stepDtype}`;
        assert.equal(w1.initStepSize, ts.initStepSize, `${what}: Δ0 (1 thread)`);
        assert.equal(w2.initStepSize, ts.initStepSize, `${what}: Δ0 (2 threads)`);
        assert.ok(Buffer.from(w1.codes).equals(Buffer.from(ts.codes)), `${what}: codes (1 thread)`);
        assert.ok(Buffer.from(w2.codes).equals(Buffer.from(ts.codes)), `${what}: codes (2 threads)`);
        assert.ok(w2.stepSizes.get(rows - 1) === ts.stepSizes.get(rows - 1));
      }
    }
    const f = (backend?: Backend) => createTable({ method: 'fp32', rows, dim, bits: 32, seed: 3, optimizer: { name: 'sgd', lr: 0.01 }, backend }) as Fp32Table;
    assert.deepEqual(f(b2).weights, f().weights, `fp32 dim ${dim}`);
  }
});

test('the packed init is the stochastic rounding of the fp32 init (unbiased: mean of Δ·q ≈ mean of w)', () => {
  const rows = 4000, dim = 16;
  const q = createTable({ method: 'lpt-sr', rows, dim, bits: 4, seed: 5, optimizer: { name: 'sgd', lr: 0.01 } }) as QuantizedTable;
  const f = createTable({ method: 'fp32', rows, dim, bits: 32, seed: 5, optimizer: { name: 'sgd', lr: 0.01 } }) as Fp32Table;
  const out = new Float32Array(rows * dim);
  q.gather(Int32Array.from({ length: rows }, (_, i) => i), rows, out);
  let err = 0, maxErr = 0;
  for (let i = 0; i < out.length; i++) {
    const d = out[i] - f.weights[i];
    err += d;
    maxErr = Math.max(maxErr, Math.abs(d));
  }
  // every value within one step of its fp32 init (in range), and the rounding errors average out
  assert.ok(Math.abs(err / out.length) < 0.02 * q.initStepSize, `mean rounding error ${err / out.length}`);
  assert.ok(maxErr < 8 * q.initStepSize);
});

test('Δ0 of a table past 2^20 rows: mean|w| of its first 2^20 rows, the same on wasm (2 threads) and in TypeScript', async () => {
  const b2 = await wasm(2);
  const rows = (1 << 20) + 5000, dim = 2;
  const mk = (backend?: Backend) => createTable({
    method: 'lpt-sr', rows, dim, bits: 4, seed: 9, optimizer: { name: 'sgd', lr: 0.01 }, stepDtype: 'f16', backend,
  }) as QuantizedTable;
  const ts = mk(), w = mk(b2);
  const key = initTableKey(9, 0);
  assert.equal(initMeanAbs(key, rows, dim, 0.01), initMeanAbs(key, 1 << 20, dim, 0.01));
  assert.equal(w.initStepSize, ts.initStepSize);
  assert.ok(Buffer.from(w.codes).equals(Buffer.from(ts.codes)));
});
