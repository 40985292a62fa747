import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dequantizeRow, packRow, quantizeRow, rowBytes, unpackRow } from '../src/quant/pack.js';
import {
  clip, qHigh, qLow, roundHalfAway, roundingRowKey, roundingSeed, roundingUniform, roundStochastic,
} from '../src/quant/round.js';
import { fakeQuantize, lsqBackward, lsqGradScale } from '../src/quant/lsq.js';
import { fromHalf, roundToHalf, toHalf } from '../src/quant/fp16.js';
import { hash4, CounterRng } from '../src/util/rng.js';

const DIMS = [1, 3, 7, 16, 33];

test('pack/unpack round trip for b = 1..8, straddling dims, min/max codes', () => {
  const rng = new CounterRng(7, 99);
  for (let b = 1; b <= 8; b++) {
    const lo = qLow(b), hi = qHigh(b);
    for (const dim of DIMS) {
      const rb = rowBytes(dim, b);
      assert.equal(rb, Math.ceil((dim * b) / 8));
      const rows = 3;
      // row 0: random, row 1: all min, row 2: alternating min/max
      const q = new Int32Array(rows * dim);
      for (let i = 0; i < dim; i++) {
        q[i] = lo + rng.int(hi - lo + 1);
        q[dim + i] = lo;
        q[2 * dim + i] = i & 1 ? hi : lo;
      }
      const codes = new Uint8Array(rows * rb).fill(0xaa); // garbage must be overwritten
      for (let r = 0; r < rows; r++) packRow(q, r * dim, dim, b, codes, r * rb);
      const back = new Int32Array(rows * dim);
      const deq = new Float32Array(rows * dim);
      for (let r = 0; r < rows; r++) {
        unpackRow(codes, r * rb, dim, b, back, r * dim);
        dequantizeRow(codes, r * rb, dim, b, 0.5, deq, r * dim);
      }
      assert.deepEqual(back, q, `b=${b} dim=${dim}`);
      for (let i = 0; i < q.length; i++) assert.equal(deq[i], 0.5 * q[i], `dequant b=${b} dim=${dim} i=${i}`);
      // quantize-and-pack of exact grid values reproduces the codes (both rounding modes)
      const codes2 = new Uint8Array(rows * rb);
      for (let r = 0; r < rows; r++) quantizeRow(deq, r * dim, dim, b, 0.5, r === 1, 12345, codes2, r * rb);
      assert.deepEqual(codes2, codes.map((c, i) => (dim * b) % 8 && (i + 1) % rb === 0 ? c & ((1 << ((dim * b) % 8)) - 1) : c));
    }
  }
});

test('quantizeRow clips to [-2^(b-1), 2^(b-1)-1]', () => {
  for (let b = 1; b <= 8; b++) {
    const src = new Float32Array([1e9, -1e9, 0.2, -0.2, 1e9]);
    const codes = new Uint8Array(rowBytes(5, b));
    const out = new Int32Array(5);
    quantizeRow(src, 0, 5, b, 0.01, false, 0, codes, 0);
    unpackRow(codes, 0, 5, b, out, 0);
    assert.equal(out[0], qHigh(b));
    assert.equal(out[1], qLow(b));
    assert.equal(out[4], qHigh(b));
  }
});

test('deterministic rounding: half away from zero, exact and idempotent on the grid', () => {
  assert.equal(roundHalfAway(2.5), 3);
  assert.equal(roundHalfAway(-2.5), -3);
  assert.equal(roundHalfAway(0.49999), 0);
  assert.equal(roundHalfAway(-0.5), -1);
  assert.equal(roundHalfAway(-1.4), -1);
  assert.equal(clip(9, -8, 7), 7);
  const step = 0.0123;
  const dim = 16;
  for (const b of [2, 4, 8]) {
    const src = new Float32Array(dim);
    for (let i = 0; i < dim; i++) src[i] = step * (qLow(b) + (i % (qHigh(b) - qLow(b) + 1)));
    const codes = new Uint8Array(rowBytes(dim, b));
    const out = new Float32Array(dim);
    quantizeRow(src, 0, dim, b, step, false, 0, codes, 0);
    dequantizeRow(codes, 0, dim, b, step, out, 0);
    const codes2 = new Uint8Array(codes.length);
    quantizeRow(out, 0, dim, b, step, false, 0, codes2, 0);
    assert.deepEqual(codes2, codes);
    for (let i = 0; i < dim; i++) assert.ok(Math.abs(out[i] - src[i]) < 1e-7);
  }
});

test('stochastic rounding is unbiased and keyed by (seed, table, step, row, col)', () => {
  const rs = roundingSeed(2024, 3);
  // roundingUniform(rowKey, col) is exactly hash4(rseed, step, row, col)·2^-32
  assert.equal(roundingUniform(roundingRowKey(rs, 17, 5), 9), hash4(rs, 17, 5, 9) * 2.3283064365386963e-10);
  const n = 20000;
  for (const x of [0.1, 0.5, 2.3, -1.7, -0.05, 3.999]) {
    let s = 0;
    for (let t = 0; t < n; t++) {
      const q = roundStochastic(x, roundingUniform(roundingRowKey(rs, t + 1, 42), 7));
      assert.ok(q === Math.floor(x) || q === Math.floor(x) + 1);
      s += q;
    }
    const f = x - Math.floor(x);
    const se = Math.sqrt((f * (1 - f)) / n);
    assert.ok(Math.abs(s / n - x) < 4 * se + 1e-9, `x=${x} mean=${s / n} se=${se}`);
  }
});

test('LSQ forward/backward: STE mask, clip values, gradient scale', () => {
  const b = 4, lo = qLow(b), hi = qHigh(b), step = 0.1;
  const w = new Float32Array([0.03, -0.26, 2.0, -2.0, 0.64]);
  const q = new Float32Array(5);
  fakeQuantize(w, 0, 5, step, lo, hi, q, 0);
  assert.deepEqual(Array.from(q), [0, -0.3, 0.7, -0.8, 0.6].map((v) => Math.fround(v)));
  const dq = new Float32Array([1, 1, 1, 1, 1]);
  const dw = new Float32Array(5);
  const ds = lsqBackward(w, 0, dq, 0, 5, step, lo, hi, dw, 0);
  assert.deepEqual(Array.from(dw), [1, 1, 0, 0, 1]);
  const x = Array.from(w, (v) => v / step);
  const expect = (Math.round(x[0]) - x[0]) + (roundHalfAway(x[1]) - x[1]) + hi + lo + (roundHalfAway(x[4]) - x[4]);
  assert.ok(Math.abs(ds - expect) < 1e-9);
  assert.equal(lsqGradScale(16, 8), 1 / Math.sqrt(16 * 127));
});

test('LSQ step gradient matches finite differences', () => {
  // ∂Q/∂Δ of LSQ is the straight-through derivative: the rounding residual r = round(x)−x is held
  // fixed while w/Δ moves, i.e. the exact derivative of S(Δ) = Δ·clip_ste(w/Δ + r0) with r0 frozen.
  // Clipped elements (Q = Δ·lo or Δ·hi) match finite differences of the real fake quantizer too.
  const b = 4, lo = qLow(b), hi = qHigh(b);
  const rng = new CounterRng(11, 5);
  const n = 40, s0 = 0.05;
  const w = new Float32Array(n);
  const c = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // keep x away from rounding ties (x mod 1 in [0.1, 0.4] ∪ [0.6, 0.9]) and clip edges
    let x = (rng.next() - 0.5) * 24;
    const f = x - Math.floor(x);
    if (Math.abs(f - 0.5) < 0.1 || f < 0.1 || f > 0.9) x = Math.floor(x) + 0.25;
    if (Math.abs(x - lo) < 0.6 || Math.abs(x - hi) < 0.6) x += 1.3;
    w[i] = x * s0;
    c[i] = rng.next() * 2 - 1;
  }
  const analytic = lsqBackward(w, 0, c, 0, n, s0, lo, hi, null, 0);
  const r0 = Array.from(w, (v) => roundHalfAway(v / s0) - v / s0);
  const surrogate = (s: number): number => {
    let L = 0;
    for (let i = 0; i < n; i++) {
      const x = w[i] / s;
      const xs = x0(i) < lo ? lo : x0(i) > hi ? hi : x + r0[i];
      L += c[i] * s * xs;
    }
    return L;
  };
  const x0 = (i: number) => w[i] / s0;
  const h = 1e-7;
  const fd = (surrogate(s0 + h) - surrogate(s0 - h)) / (2 * h);
  assert.ok(Math.abs(fd - analytic) < 1e-5 * Math.max(1, Math.abs(analytic)), `fd=${fd} analytic=${analytic}`);

  // the clipped part against the real quantizer's finite differences
  const clippedLoss = (s: number): number => {
    let L = 0;
    for (let i = 0; i < n; i++) {
      if (x0(i) >= lo && x0(i) <= hi) continue;
      L += c[i] * s * clip(roundHalfAway(w[i] / s), lo, hi);
    }
    return L;
  };
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = x0(i) < lo || x0(i) > hi ? c[i] : 0;
  const clippedAnalytic = lsqBackward(w, 0, mask, 0, n, s0, lo, hi, null, 0);
  const fdc = (clippedLoss(s0 + h) - clippedLoss(s0 - h)) / (2 * h);
  assert.ok(Math.abs(fdc - clippedAnalytic) < 1e-5 * Math.max(1, Math.abs(clippedAnalytic)), `fd=${fdc} analytic=${clippedAnalytic}`);
  assert.ok(mask.some((v) => v !== 0), 'test needs clipped elements');
});

test('fp16 conversion', () => {
  for (const x of [0, 1, -2, 0.5, 65504, 1e-3, 6.103515625e-5, 5.960464477539063e-8, 0.0014, 0.016]) {
    const h = roundToHalf(x);
    assert.ok(Math.abs(h - x) <= Math.abs(x) * 2 ** -11 + 2 ** -25, `x=${x} h=${h}`);
  }
  assert.equal(fromHalf(toHalf(1e6)), Infinity);
  assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  assert.equal(toHalf(1 + 2 ** -11), toHalf(1)); // tie → even
  assert.equal(fromHalf(toHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  for (let h = 0; h < 0x7c00; h += 37) assert.equal(toHalf(fromHalf(h)), h);
});
