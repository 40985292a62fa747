import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTable, type TableMethod } from '../src/embedding/factory.js';
import { Fp32Table } from '../src/embedding/fp32-table.js';
import { AlptTable, QuantizedTable } from '../src/embedding/quantized-table.js';
import { LsqTable } from '../src/embedding/lsq-table.js';
import { allocArray } from '../src/embedding/memory.js';
import { isAdaptive, type EmbeddingTable, type SparseOptimizerConfig } from '../src/embedding/table.js';
import { unpackRow } from '../src/quant/pack.js';
import { qHigh, qLow } from '../src/quant/round.js';
import { CounterRng } from '../src/util/rng.js';

const ROWS = 50;
const DIM = 16;
const adam: SparseOptimizerConfig = { name: 'adam', lr: 1e-3 };
const METHODS: TableMethod[] = ['fp32', 'lpt-dr', 'lpt-sr', 'alpt', 'alpt-fast', 'lsq'];

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
function gatherAll(t: EmbeddingTable): Float32Array {
  const out = new Float32Array(t.rows * t.dim);
  t.gather(allRows(t.rows), t.rows, out);
  return out;
}
function randomGrads(n: number, seed: number, scale = 1): Float32Array {
  const rng = new CounterRng(seed, 77);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}
function stateBytesExceptMeta(t: EmbeddingTable): number {
  let s = 0;
  for (const [k, v] of Object.entries(t.state())) if (k !== 'initStep') s += v.byteLength;
  return s;
}

test('factory: classes, isAdaptive only for alpt', () => {
  for (const m of METHODS) {
    const t = createTable({ method: m, rows: ROWS, dim: DIM, bits: 4, seed: 1, optimizer: adam });
    assert.equal(isAdaptive(t), m === 'alpt', m);
    assert.equal(t.rows, ROWS);
    assert.equal(t.dim, DIM);
  }
  assert.ok(createTable({ method: 'alpt', rows: 2, dim: 2, bits: 4, seed: 1, optimizer: adam }) instanceof AlptTable);
  assert.ok(createTable({ method: 'lsq', rows: 2, dim: 2, bits: 4, seed: 1, optimizer: adam }) instanceof LsqTable);
});

test('memory(): sums the actual typed arrays; bytes per row at d=16', () => {
  for (const m of METHODS) {
    for (const o of ['adam', 'adagrad', 'rowwise-adagrad', 'sgd'] as const) {
      const t = createTable({ method: m, rows: ROWS, dim: DIM, bits: 4, seed: 1, optimizer: { name: o, lr: 0.01 } });
      const r = t.memory();
      assert.equal(r.total, stateBytesExceptMeta(t), `${m} ${o}`);
      assert.equal(r.total, r.codes + r.steps + r.optimizerState + r.stepOptimizerState + r.master);
      assert.equal(r.bytesPerRow, r.total / ROWS);
      if (m !== 'lsq') assert.equal(r.master, 0);
    }
  }
  const rw: SparseOptimizerConfig = { name: 'rowwise-adagrad', lr: 0.01 };
  const bpr = (method: TableMethod, bits: number, extra: object = {}) =>
    createTable({ method, rows: ROWS, dim: DIM, bits, seed: 1, optimizer: rw, ...extra }).memory().bytesPerRow;
  assert.equal(bpr('lpt-sr', 8), 24);
  assert.equal(bpr('lpt-sr', 4), 16);
  assert.equal(bpr('lpt-sr', 2), 12);
  assert.equal(bpr('lpt-sr', 2, { stepDtype: 'f16' }), 10);
  assert.equal(bpr('alpt', 4), 16 + 8); // + Adam m, v of the step
  assert.equal(bpr('alpt', 4, { stepOptimizer: 'sgd' }), 16);
  const fp = createTable({ method: 'fp32', rows: ROWS, dim: DIM, bits: 32, seed: 1, optimizer: adam }).memory();
  assert.equal(fp.bytesPerRow, 192);
  const lsq = createTable({ method: 'lsq', rows: ROWS, dim: DIM, bits: 4, seed: 1, optimizer: rw }).memory();
  assert.equal(lsq.master, ROWS * DIM * 4);
  assert.equal(lsq.codes, 0);
});

test('shared init: fp32 draw, Δ0 = 2·mean|w|/sqrt(Q_P), packed init within one step of it', () => {
  const rows = 2000;
  const fp = new Fp32Table({ rows, dim: DIM, seed: 5, optimizer: adam });
  let mean = 0;
  for (const v of fp.weights) mean += Math.abs(v);
  mean /= fp.weights.length;
  assert.ok(Math.abs(mean - 0.01 * Math.sqrt(2 / Math.PI)) < 2e-4);
  for (const bits of [8, 4, 2]) {
    const q = new QuantizedTable({ rows, dim: DIM, bits, seed: 5, optimizer: adam });
    const d0 = (2 * mean) / Math.sqrt(qHigh(bits));
    assert.ok(Math.abs(q.initStepSize - d0) < 1e-9 * d0 + 1e-12, `bits ${bits}: ${q.initStepSize} vs ${d0}`);
    const deq = gatherAll(q);
    let bias = 0;
    let inRange = 0;
    for (let i = 0; i < deq.length; i++) {
      const w = fp.weights[i];
      if (w > qLow(bits) * d0 && w < qHigh(bits) * d0) {
        assert.ok(Math.abs(deq[i] - w) <= d0 * (1 + 1e-6), `bits ${bits} i ${i}`);
        bias += deq[i] - w;
        inRange++;
      }
    }
    assert.ok(Math.abs(bias / inRange) < 0.02 * d0, `SR init unbiased at ${bits} bits`);
  }
  const l = new LsqTable({ rows, dim: DIM, bits: 4, seed: 5, optimizer: adam });
  assert.deepEqual(l.master, fp.weights);
});

test('update touches only the given rows (others bit-identical)', () => {
  const rows = Int32Array.from([3, 17, 42]);
  for (const m of METHODS) {
    for (const o of ['adam', 'adagrad', 'rowwise-adagrad', 'sgd'] as const) {
      const t = createTable({ method: m, rows: ROWS, dim: DIM, bits: 4, seed: 2, optimizer: { name: o, lr: 0.05 } });
      if (m === 'lsq') continue; // the shared table step moves every row's Q(w); checked on master below
      const before = gatherAll(t);
      const g = randomGrads(3 * DIM, 9);
      if (isAdaptive(t)) {
        t.stageUpdate(rows, 3, g, 1);
        t.updateStepSizesStaged(g, 1);
        t.writeBackStaged(1);
      } else t.update(rows, 3, g, 1);
      const after = gatherAll(t);
      let changed = 0;
      for (let r = 0; r < ROWS; r++) {
        const touched = rows.includes(r);
        for (let j = 0; j < DIM; j++) {
          const i = r * DIM + j;
          if (!touched) assert.ok(Object.is(after[i], before[i]), `${m}/${o}: row ${r} changed`);
          else if (after[i] !== before[i]) changed++;
        }
      }
      assert.ok(changed > 0, `${m}/${o}: nothing changed`);
    }
  }
  const l = new LsqTable({ rows: ROWS, dim: DIM, bits: 4, seed: 2, optimizer: adam });
  const m0 = Float32Array.from(l.master);
  l.update(rows, 3, randomGrads(3 * DIM, 9), 1);
  for (let r = 0; r < ROWS; r++) {
    if (rows.includes(r)) continue;
    for (let j = 0; j < DIM; j++) assert.ok(Object.is(l.master[r * DIM + j], m0[r * DIM + j]));
  }
});

test('lazy Adam on the fp32 table matches a straightforward SparseAdam reference', () => {
  const rows = 6, dim = 4;
  const cfg = { name: 'adam' as const, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const t = new Fp32Table({ rows, dim, seed: 3, optimizer: cfg });
  const w = Float64Array.from(t.weights);
  const m = new Float64Array(rows * dim);
  const v = new Float64Array(rows * dim);
  const batches = [[0, 2], [2, 5], [1], [0, 2, 3], [5]];
  batches.forEach((bRows, k) => {
    const step = k + 1;
    const g = randomGrads(bRows.length * dim, 100 + k, 0.1);
    t.update(Int32Array.from(bRows), bRows.length, g, step);
    const ss = (cfg.lr * Math.sqrt(1 - cfg.beta2 ** step)) / (1 - cfg.beta1 ** step);
    bRows.forEach((r, i) => {
      for (let j = 0; j < dim; j++) {
        const x = r * dim + j, gi = g[i * dim + j];
        m[x] = cfg.beta1 * m[x] + (1 - cfg.beta1) * gi;
        v[x] = cfg.beta2 * v[x] + (1 - cfg.beta2) * gi * gi;
        w[x] -= (ss * m[x]) / (Math.sqrt(v[x]) + cfg.eps);
      }
    });
  });
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(t.weights[i] - w[i]) < 1e-6, `i=${i}`);
});

test('adagrad and row-wise adagrad follow their formulas', () => {
  const g = randomGrads(DIM, 4, 0.1);
  const a = new Fp32Table({ rows: 2, dim: DIM, seed: 3, optimizer: { name: 'adagrad', lr: 0.1, initialAccumulator: 0.5 } });
  const rw = new Fp32Table({ rows: 2, dim: DIM, seed: 3, optimizer: { name: 'rowwise-adagrad', lr: 0.1 } });
  const w0 = Float32Array.from(a.weights);
  a.update(Int32Array.of(1), 1, g, 1);
  rw.update(Int32Array.of(1), 1, g, 1);
  let ms = 0;
  for (let j = 0; j < DIM; j++) ms += (g[j] * g[j]) / DIM;
  for (let j = 0; j < DIM; j++) {
    const x = DIM + j;
    assert.ok(Math.abs(a.weights[x] - (w0[x] - (0.1 * g[j]) / (Math.sqrt(0.5 + g[j] * g[j]) + 1e-10))) < 1e-7);
    assert.ok(Math.abs(rw.weights[x] - (w0[x] - (0.1 * g[j]) / (Math.sqrt(ms) + 1e-8))) < 1e-7);
  }
});

test('LPT: codes stay in range, lpt-dr writes back Δ·round((w − lr·g)/Δ)', () => {
  for (const bits of [2, 3, 4, 8]) {
    const t = new QuantizedTable({ rows: ROWS, dim: DIM, bits, seed: 4, optimizer: { name: 'sgd', lr: 1 }, rounding: 'deterministic' });
    const rows = Int32Array.from([0, 7, 8]);
    const before = new Float32Array(3 * DIM);
    t.gather(rows, 3, before);
    const g = randomGrads(3 * DIM, 12, 0.01);
    g[0] = 1e3; // saturate
    g[1] = -1e3;
    t.update(rows, 3, g, 1);
    const after = new Float32Array(3 * DIM);
    t.gather(rows, 3, after);
    const s = t.stepSizes.get(0);
    for (let i = 0; i < 3 * DIM; i++) {
      const x = Math.fround(before[i] - g[i]) / s;
      const q = Math.min(qHigh(bits), Math.max(qLow(bits), x < 0 ? -Math.floor(0.5 - x) : Math.floor(x + 0.5)));
      assert.ok(after[i] === Math.fround(s * q), `bits ${bits} i ${i}`); // === : ±0 alike
    }
    assert.equal(after[0], Math.fround(s * qLow(bits)));
    assert.equal(after[1], Math.fround(s * qHigh(bits)));
    const q = new Int32Array(DIM);
    for (let r = 0; r < ROWS; r++) {
      unpackRow(t.codes, r * t.rowBytes, DIM, bits, q, 0);
      for (const v of q) assert.ok(v >= qLow(bits) && v <= qHigh(bits));
    }
  }
});

test('SR write-back: reproducible for (seed, step), independent of row order and grouping', () => {
  const mk = () => new QuantizedTable({ rows: ROWS, dim: DIM, bits: 4, seed: 8, optimizer: adam, rounding: 'stochastic' });
  const rows = [1, 5, 9, 2, 30];
  const gOf = (r: number) => randomGrads(DIM, 1000 + r, 0.5);
  const pack = (rs: number[]) => {
    const g = new Float32Array(rs.length * DIM);
    rs.forEach((r, i) => g.set(gOf(r), i * DIM));
    return g;
  };
  const a = mk(), b = mk(), c = mk();
  a.update(Int32Array.from(rows), 5, pack(rows), 3);
  const g1 = [30, 2], g2 = [9, 1, 5];
  b.update(Int32Array.from(g1), 2, pack(g1), 3);
  b.update(Int32Array.from(g2), 3, pack(g2), 3);
  assert.deepEqual(b.codes, a.codes);
  c.update(Int32Array.from(rows), 5, pack(rows), 4); // other step: other draws
  assert.notDeepEqual(c.codes, a.codes);
  // same for ALPT's staged path
  const x = createTable({ method: 'alpt', rows: ROWS, dim: DIM, bits: 4, seed: 8, optimizer: adam }) as AlptTable;
  const y = createTable({ method: 'alpt', rows: ROWS, dim: DIM, bits: 4, seed: 8, optimizer: adam }) as AlptTable;
  for (const [t, groups] of [[x, [rows]], [y, [g2, g1]]] as const) {
    for (const grp of groups) {
      const gg = pack([...grp]);
      t.stageUpdate(Int32Array.from(grp), grp.length, gg, 2);
      t.updateStepSizesStaged(gg, 2);
      t.writeBackStaged(2);
    }
  }
  assert.deepEqual(y.codes, x.codes);
  assert.deepEqual(y.stepSizes.array, x.stepSizes.array);
});

test('ALPT: Δ moves the way that lowers the loss on a toy problem', () => {
  // Staged weights w ~ N(0, 0.01²) (placed with one SGD step of lr 1), loss ½‖Q_Δ(w) − w‖².
  // Δ far too small (everything clipped) must grow; Δ too large (most round to 0) must shrink.
  const rows = 64, bits = 4;
  for (const [initStep, dir, sgdLr] of [[1e-4, 1, 1e-4], [0.03, -1, 0.1]] as const) {
    for (const stepOptimizer of ['sgd', 'adam'] as const) {
      const t = new AlptTable({
        rows, dim: DIM, bits, seed: 6, optimizer: { name: 'sgd', lr: 1 }, initStep, stepOptimizer,
        stepLr: stepOptimizer === 'sgd' ? sgdLr : 0.02,
        stepLrScale: stepOptimizer === 'sgd' ? 'absolute' : 'relative',
      });
      const ids = allRows(rows);
      const cur = gatherAll(t);
      const target = randomGrads(rows * DIM, 31, 0.01);
      const g = Float32Array.from(cur, (v, i) => v - target[i]);
      t.stageUpdate(ids, rows, g, 1);
      const q = new Float32Array(rows * DIM);
      const loss = () => {
        t.fakeQuantizeStaged(q);
        let l = 0;
        for (let i = 0; i < q.length; i++) l += 0.5 * (q[i] - target[i]) ** 2;
        return l;
      };
      const l0 = loss();
      const s0 = t.stepSizes.get(0);
      const dq = new Float32Array(rows * DIM);
      for (let k = 1; k <= 20; k++) {
        t.fakeQuantizeStaged(q);
        for (let i = 0; i < q.length; i++) dq[i] = q[i] - target[i];
        t.updateStepSizesStaged(dq, k);
      }
      const l1 = loss();
      for (let r = 0; r < rows; r++) assert.ok(dir * (t.stepSizes.get(r) - s0) > 0, `${initStep} ${stepOptimizer} row ${r}`);
      assert.ok(l1 < l0, `${initStep} ${stepOptimizer}: loss ${l0} → ${l1}`);
      t.writeBackStaged(21);
      const back = gatherAll(t);
      for (let r = 0; r < rows; r++) {
        const s = t.stepSizes.get(r);
        for (let j = 0; j < DIM; j++) {
          const k = back[r * DIM + j] / s;
          assert.ok(Math.abs(k - Math.round(k)) < 1e-3, 'written back on the new grid');
        }
      }
    }
  }
});

test('relative step learning rate = stepLr·Δ0', () => {
  for (const bits of [8, 4, 2]) {
    const t = new AlptTable({ rows: 100, dim: DIM, bits, seed: 1, optimizer: adam });
    assert.ok(Math.abs(t.effectiveStepSizeLr - 0.01 * t.initStepSize) < 1e-15);
  }
  const t = new AlptTable({ rows: 10, dim: DIM, bits: 4, seed: 1, optimizer: adam, stepLr: 1e-4, stepLrScale: 'absolute' });
  assert.equal(t.effectiveStepSizeLr, 1e-4);
});

test('LSQ table: Q(w) on gather, STE mask, per-table and per-row steps learn', () => {
  for (const perRow of [false, true]) {
    const t = new LsqTable({ rows: ROWS, dim: DIM, bits: 2, seed: 3, optimizer: { name: 'sgd', lr: 0.1 }, perRow });
    const out = gatherAll(t);
    const s = Math.abs(t.stepSizes[0]) + 1e-10;
    for (let i = 0; i < out.length; i++) {
      const k = out[i] / s;
      assert.ok(Math.abs(k - Math.round(k)) < 1e-4 && k >= -2 && k <= 1);
    }
    const m0 = Float32Array.from(t.master);
    const rows = Int32Array.from([0, 1]);
    const g = randomGrads(2 * DIM, 5, 0.01);
    t.update(rows, 2, g, 1);
    for (let i = 0; i < 2 * DIM; i++) {
      const x = m0[i] / s;
      const expect = x < -2 || x > 1 ? m0[i] : Math.fround(m0[i] - 0.1 * g[i]);
      assert.ok(Math.abs(t.master[i] - expect) < 1e-9, `perRow=${perRow} i=${i}`);
    }
    assert.notEqual(t.stepSizes[0], Math.fround(t.initStepSize));
    if (perRow) assert.equal(t.stepSizes[2], Math.fround(t.initStepSize));
  }
});

test('checkpoint: state() → load() restores the table exactly', () => {
  for (const m of METHODS) {
    const a = createTable({ method: m, rows: ROWS, dim: DIM, bits: 4, seed: 1, optimizer: adam, stepDtype: 'f16' });
    const rows = Int32Array.from([2, 3, 40]);
    a.update(rows, 3, randomGrads(3 * DIM, 1, 0.1), 1);
    const snap: Record<string, ArrayBufferView> = {};
    for (const [k, v] of Object.entries(a.state())) snap[k] = new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
    // same seed (it keys the rounding draws and is configuration, not state); b has not taken step 1
    const b = createTable({ method: m, rows: ROWS, dim: DIM, bits: 4, seed: 1, optimizer: adam, stepDtype: 'f16' });
    const differs = () => Object.entries(b.state()).some(([k, v]) =>
      !Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(snap[k].buffer)));
    assert.ok(differs(), m);
    b.load(snap);
    assert.ok(!differs(), m);
    assert.deepEqual(gatherAll(b), gatherAll(a), m);
    const g = randomGrads(3 * DIM, 2, 0.1);
    a.update(rows, 3, g, 2);
    b.update(rows, 3, g, 2);
    assert.deepEqual(gatherAll(b), gatherAll(a), `${m} after a step`);
  }
  const t = createTable({ method: 'lpt-sr', rows: 4, dim: DIM, bits: 4, seed: 1, optimizer: adam });
  assert.throws(() => t.load({}), /missing 'codes'/);
});

test('f16 steps: stored rounded, never 0', () => {
  const t = new QuantizedTable({ rows: 3, dim: DIM, bits: 8, seed: 1, optimizer: adam, stepDtype: 'f16' });
  assert.ok(Math.abs(t.stepSizes.get(0) - t.initStepSize) <= t.initStepSize * 2 ** -11);
  t.stepSizes.setPositive(1, 0);
  assert.ok(t.stepSizes.get(1) > 0);
});

test('too-large tables fail with a clear error', () => {
  assert.throws(() => allocArray(Float32Array, 2 ** 33, 'fp32 embedding weights'), /exceed .* limit of one typed array/);
});

test('setLearningRate changes the sparse step on the path training takes (ALPT: stageUpdate)', () => {
  for (const method of ['fp32', 'lpt-sr', 'alpt', 'lsq'] as const) {
    const mk = () => createTable({ method, rows: 4, dim: 8, bits: 8, seed: 1, optimizer: { name: 'sgd', lr: 0.1 } });
    const rows = Int32Array.of(1);
    const g = new Float32Array(8).fill(0.5);
    const v0 = new Float32Array(8);
    mk().gather(rows, 1, v0);
    // How far one step moves row 1. StepRunner updates an ALPT table with stageUpdate (then the
    // second pass), never update(): look at the staged float row; the others write back as usual.
    const moved = (lr: number | null): number => {
      const t = mk();
      if (lr !== null) t.setLearningRate!(lr);
      const v = new Float32Array(8);
      if (isAdaptive(t)) {
        t.stageUpdate(rows, 1, g, 1);
        v.set((t as AlptTable).stagedView().weights);
      } else {
        t.update(rows, 1, g, 1);
        t.gather(rows, 1, v);
      }
      return v.reduce((s, x, i) => s + Math.abs(x - v0[i]), 0);
    };
    const a = moved(null), b = moved(0.01);
    assert.ok(a > 5 * b && b > 0, `${method}: lr 0.1 moved ${a}, lr 0.01 moved ${b}`);
    if (method === 'alpt') assert.ok(Math.abs(a / b - 10) < 1e-3, `alpt: staged rows move lr·g exactly (ratio ${a / b})`);
  }
});
