// The wasm row quantizer (assembly/sparse.ts quantRow, reached through writeBackQuant) against the
// TypeScript quantizeRow, value by value: every bits value 1..8, dims 1..40 and a few longer ones
// (every tail length of the 4/8/16-value blocks), deterministic and stochastic rounding, f32 and f16
// step sizes, values at/near the rounding boundaries (ties, integers ± a few ulps, the clip
// range), huge/tiny/subnormal values, ±0, ±∞ and NaN, and degenerate step sizes. Rows are written
// in a shuffled order next to each other with a guard row after them: a row may not touch its
// neighbours' bytes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../src/kernels/backend.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { quantizeRow, rowBytes } from '../src/quant/pack.js';
import { roundingRowKey } from '../src/quant/round.js';
import { fromHalf, toHalf } from '../src/quant/fp16.js';
import { CounterRng } from '../src/util/rng.js';

let backend: Backend | undefined;
after(() => backend?.dispose());

const DIMS = [...Array.from({ length: 40 }, (_, i) => i + 1), 47, 64, 100, 129];
const ROWS = 6;
const f32 = Math.fround;

/** One value of a row: mostly w/Δ near the grid (ties, integers ± ulps, clip edges), some specials. */
function value(rng: CounterRng, step: number, bits: number): number {
  const hi = (1 << (bits - 1)) - 1, lo = -(1 << (bits - 1));
  const k = lo - 3 + rng.int(hi - lo + 7);
  const nudge = (x: number): number => {
    // a few f32 ulps either side of x
    const a = new Float32Array([x]);
    const u = new Int32Array(a.buffer);
    if (a[0] !== 0 && Number.isFinite(a[0])) u[0] += rng.int(7) - 3;
    return a[0];
  };
  switch (rng.int(14)) {
    case 0: return f32(k * step); // on the grid
    case 1: return f32((k + 0.5) * step); // a tie
    case 2: return nudge(k * step);
    case 3: return nudge((k + 0.5) * step);
    case 4: return f32((rng.next() * 2 - 1) * step * (hi + 2)); // anywhere in/near range
    case 5: return f32((rng.next() * 2 - 1) * 1e-40); // f32 subnormals
    case 6: return [0, -0, Infinity, -Infinity, NaN][rng.int(5)];
    case 7: return [3.4028234663852886e38, -3.4028234663852886e38, 1e30, -1e30, 1.401298464324817e-45][rng.int(5)];
    case 8: return f32((rng.next() * 2 - 1) * step * 2 ** (10 + rng.int(40))); // far beyond the clip range
    case 9: return f32((rng.next() * 2 - 1) * step * 1e-6);
    case 10: return nudge(hi * step);
    case 11: return nudge(lo * step);
    case 12: return nudge((hi + 0.5) * step);
    default: return nudge((lo - 0.5) * step);
  }
}

const STEPS = [0.003, 1 / 3, 0.1, 1, 7.25, 1e-8, 2.5e-6, 1e-30, 1e30, 1e-42 /* f32 subnormal */, 0, Infinity, NaN];

test('wasm quantRow is bit-identical to quantizeRow (bits 1..8, all tails, specials, f32/f16 Δ)', async () => {
  backend = await createWasmBackend({ threads: 1 });
  const k = backend.sparse!;
  const rng = new CounterRng(11, 5);
  const maxDim = Math.max(...DIMS);
  const stagedW = k.alloc(Float32Array, ROWS * maxDim, 'w');
  const stagedRows = k.alloc(Int32Array, ROWS, 'rows');
  const codes = k.alloc(Uint8Array, (ROWS + 1) * maxDim, 'codes');
  const stepsF32 = k.alloc(Float32Array, ROWS, 'steps32');
  const stepsF16 = k.alloc(Uint16Array, ROWS, 'steps16');
  const want = new Uint8Array((ROWS + 1) * maxDim);
  const rseed = 0x9e37 ^ 12345;
  let checked = 0;
  for (let bits = 1; bits <= 8; bits++) {
    for (const dim of DIMS) {
      const rb = rowBytes(dim, bits);
      for (const half of [false, true]) {
        for (const stochastic of [false, true]) {
          for (let rep = 0; rep < 2; rep++) {
            const step = rep === 0 ? 1000 : rng.int(1 << 30); // iteration number of the rounding stream
            // row steps: a random regular one per row, plus one degenerate per call
            const rowStep = new Float64Array(ROWS);
            for (let r = 0; r < ROWS; r++) {
              let s = r === ROWS - 1 ? STEPS[rng.int(STEPS.length)] : f32(STEPS[rng.int(6)] * (0.5 + rng.next()));
              if (half) s = fromHalf(toHalf(s));
              else s = f32(s);
              rowStep[r] = s;
              if (half) stepsF16[r] = toHalf(s);
              else stepsF32[r] = s;
            }
            const order = Array.from({ length: ROWS }, (_, r) => r);
            for (let r = ROWS - 1; r > 0; r--) {
              const j = rng.int(r + 1);
              [order[r], order[j]] = [order[j], order[r]];
            }
            for (let i = 0; i < ROWS; i++) {
              const r = order[i];
              stagedRows[i] = r;
              const sv = Number.isFinite(rowStep[r]) && rowStep[r] > 0 ? rowStep[r] : 0.01;
              for (let j = 0; j < dim; j++) stagedW[i * dim + j] = value(rng, sv, bits);
            }
            codes.fill(0xa5, 0, (ROWS + 1) * rb);
            want.fill(0xa5, 0, (ROWS + 1) * rb);
            for (let i = 0; i < ROWS; i++) {
              const r = order[i];
              quantizeRow(stagedW, i * dim, dim, bits, rowStep[r], stochastic, stochastic ? roundingRowKey(rseed, step, r) : 0, want, r * rb);
            }
            const stepsPtr = half ? k.ptr(stepsF16) + 1 : k.ptr(stepsF32);
            k.ex.writeBackQuant(k.ptr(stagedW), k.ptr(stagedRows), ROWS, k.ptr(codes), rb, bits, dim, stepsPtr, +stochastic, rseed, step);
            for (let b = 0; b < (ROWS + 1) * rb; b++) {
              if (codes[b] !== want[b]) {
                const r = Math.floor(b / rb), i = order.indexOf(r);
                const vals = i >= 0 ? Array.from(stagedW.subarray(i * dim, (i + 1) * dim)) : [];
                assert.fail(`bits ${bits} dim ${dim} half ${half} stochastic ${stochastic} step ${step}: row ${r} (Δ ${rowStep[r]}) byte ${b % rb}: ${codes[b]} != ${want[b]}; row values ${JSON.stringify(vals.map(String))}`);
              }
            }
            checked += ROWS * dim;
          }
        }
      }
    }
  }
  assert.ok(checked > 100000);
});

test('wasm quantRow: long rows of ordinary values, every bits value, both roundings', async () => {
  backend ??= await createWasmBackend({ threads: 1 });
  const k = backend.sparse!;
  const rng = new CounterRng(3, 17);
  const dim = 1000, rows = 40;
  const stagedW = k.alloc(Float32Array, rows * dim, 'w');
  const stagedRows = k.alloc(Int32Array, rows, 'rows');
  const steps = k.alloc(Float32Array, rows, 'steps');
  const codes = k.alloc(Uint8Array, rows * dim, 'codes');
  const want = new Uint8Array(rows * dim);
  for (let bits = 1; bits <= 8; bits++) {
    const rb = rowBytes(dim, bits);
    for (const stochastic of [false, true]) {
      for (let r = 0; r < rows; r++) {
        stagedRows[r] = r;
        steps[r] = f32(0.001 + rng.next() * 0.01);
        for (let j = 0; j < dim; j++) stagedW[r * dim + j] = f32(rng.normal() * 0.01 * (1 << (bits - 1)) * 0.4);
      }
      for (let r = 0; r < rows; r++) quantizeRow(stagedW, r * dim, dim, bits, steps[r], stochastic, stochastic ? roundingRowKey(77, 5, r) : 0, want, r * rb);
      k.ex.writeBackQuant(k.ptr(stagedW), k.ptr(stagedRows), rows, k.ptr(codes), rb, bits, dim, k.ptr(steps), +stochastic, 77, 5);
      const i = codes.subarray(0, rows * rb).findIndex((v, j) => v !== want[j]);
      assert.equal(i, -1, `bits ${bits} stochastic ${stochastic}: byte ${i}`);
    }
  }
});
