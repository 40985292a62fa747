// Table initialisation: the row-addressed N(0, σ²) draws (src/embedding/init.ts) and the
// multi-threaded WebAssembly init (assembly/init.ts) must agree bit for bit on any thread count,
// the ziggurat must follow the normal CDF, and the hand-built exp/ln must be accurate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTable } from '../src/embedding/factory.js';
import { QuantizedTable } from '../src/embedding/quantized-table.js';
import { Fp32Table } from '../src/embedding/fp32-table.js';
import { drawRows, expExact, initMeanAbs, initTableKey, lnUnit, INIT_BLOCK_ROWS } from '../src/embedding/init.js';
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

test('lnUnit and expExact agree with Math.log / Math.exp to 1e-11 relative', () => {
  let worstLn = 0, worstExp = 0;
  const checkLn = (h: number) => {
    const u = (h + 0.5) * 2 ** -32;
    worstLn = Math.max(worstLn, Math.abs(lnUnit(h) - Math.log(u)) / Math.abs(Math.log(u)));
  };
  const checkExp = (x: number) => {
    worstExp = Math.max(worstExp, Math.abs(expExact(x) - Math.exp(x)) / Math.exp(x));
  };
  for (const h of [0, 1, 2, 3, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xffffffff]) checkLn(h);
  for (const x of [0, -0, 1e-300, -1e-300, 0.5, -0.5, Math.LN2 / 2, -Math.LN2 / 2, -7, 7, -700, 700, -0.5 * 3.6541528853610075 ** 2]) checkExp(x);
  for (let i = 0; i < 200000; i++) {
    checkLn(fmix32(i));
    checkExp(-fmix32(i) * 2 ** -32 * 8); // the wedge test's range: −x²/2 for x below r ≈ 3.65
    checkExp((fmix32(i + 1e6) * 2 ** -32 - 0.5) * 1400);
  }
  assert.ok(worstLn < 1e-11, `ln relative error ${worstLn}`);
  assert.ok(worstExp < 1e-11, `exp relative error ${worstExp}`);
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

// Φ(x) by erfc with W. J. Cody's rational approximations is overkill here: Abramowitz & Stegun
// 7.1.26 (|error| < 1.5e-7) is far below the KS/χ² resolutions of the checks below.
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z);
  return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
}

test('init draws follow the normal CDF: Kolmogorov–Smirnov and a χ² over 0.25σ bins (both tails, wedges, layer edges)', () => {
  const rows = 40000, dim = 16, n = rows * dim;
  const w = new Float32Array(n);
  drawRows(initTableKey(11, 3), 0, rows, dim, 1, w);
  const sorted = Float64Array.from(w).sort();
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = normalCdf(sorted[i]);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  }
  assert.ok(d < 1.63 / Math.sqrt(n), `KS distance ${d} (1 % critical ${1.63 / Math.sqrt(n)})`);
  // 40 bins of 0.25σ on [-5, 5] and two open tails; χ² over bins expecting ≥ 5
  const edges = Array.from({ length: 41 }, (_, i) => -5 + i * 0.25);
  const count = new Float64Array(42);
  for (const x of w) {
    let b = 0;
    while (b < 41 && x >= edges[b]) b++;
    count[b]++;
  }
  let chi2 = 0, dof = -1;
  for (let b = 0; b < 42; b++) {
    const lo = b === 0 ? -Infinity : edges[b - 1], hi = b === 41 ? Infinity : edges[b];
    const e = n * ((hi === Infinity ? 1 : normalCdf(hi)) - (lo === -Infinity ? 0 : normalCdf(lo)));
    if (e < 5) continue;
    chi2 += (count[b] - e) ** 2 / e;
    dof++;
  }
  assert.ok(chi2 < dof + 4 * Math.sqrt(2 * dof), `χ² ${chi2} on ${dof} dof`);
  // the tail beyond the ziggurat's base r ≈ 3.654 (drawn by the ln path): P(|x| > 3.654) = 2.58e-4
  const beyond = w.filter((x) => Math.abs(x) > 3.6541528853610075).length / n;
  assert.ok(Math.abs(beyond / 2.58e-4 - 1) < 0.25, `P(|x| > r) = ${beyond}`);
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
    const fts = f();
    assert.deepEqual(f(b1).weights, fts.weights, `fp32 dim ${dim} (1 thread)`);
    assert.deepEqual(f(b2).weights, fts.weights, `fp32 dim ${dim} (2 threads)`);
    // the comparison covers the ziggurat's tail path (|w| > r·σ) too, not only the fast path and wedges
    if (dim === 16) assert.ok(fts.weights.some((x) => Math.abs(x) > 3.6541528853610075 * 0.01));
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
