// The table kernels in plain TypeScript: the reference the WebAssembly kernels (assembly/sparse.ts)
// match bit for bit, and what tables run when their arrays are not all in the wasm memory.

import type { TableKernels, PackedTableArrays } from './table-kernels.js';
import { dequantizeRow, quantizeRow } from '../quant/pack.js';
import { roundingRowKey } from '../quant/round.js';
import { fakeQuantize, lsqBackward } from '../quant/lsq.js';
import { halfTable } from '../quant/fp16.js';
import { sparseOptimizerRow } from '../embedding/sparse-optimizer.js';
import { nextStepSize, setPositiveStepSize } from '../embedding/steps.js';

/** halfTable() for f16 step sizes, null for f32 (then stepSizes[r] is Δ). */
function halfOf(t: PackedTableArrays): Float32Array | null {
  return t.stepSizes instanceof Uint16Array ? halfTable() : null;
}

/** Row r's step size: f32 as stored, or f16 bits widened through the half table. */
function stepSizeAt(stepSizes: PackedTableArrays['stepSizes'], half: Float32Array | null, r: number): number {
  return half !== null ? half[stepSizes[r]] : stepSizes[r];
}

export const jsTableKernels: TableKernels = {
  name: 'typescript',

  gatherFp32({ table, rows, count, out }) {
    const d = table.dim, w = table.weights, f = table.firstRow ?? 0;
    for (let i = 0; i < count; i++) {
      const o = (rows[i] - f) * d;
      const p = i * d;
      for (let j = 0; j < d; j++) out[p + j] = w[o + j]; // no subarray views: no per-row allocation
    }
  },

  updateFp32({ table, rows, count, grads, opt }) {
    const d = table.dim, f = table.firstRow ?? 0;
    for (let i = 0; i < count; i++) {
      const r = rows[i] - f;
      sparseOptimizerRow(opt, table.weights, r * d, grads, i * d, r, d);
    }
  },

  gatherPacked({ table, rows, count, out }) {
    const { dim: d, rowBytes: rb, bits: b, codes, stepSizes } = table;
    const f = table.firstRow ?? 0;
    const half = halfOf(table);
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const l = r - f; // index into this shard's arrays
      dequantizeRow(codes, l * rb, d, b, stepSizeAt(stepSizes, half, l), out, i * d);
    }
  },

  updatePacked({ table, rows, count, grads, opt, rounding, step, scratch: buf }) {
    const { dim: d, rowBytes: rb, bits: b, codes, stepSizes } = table;
    const f = table.firstRow ?? 0;
    const half = halfOf(table);
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const l = r - f; // index into this shard's arrays
      const s = stepSizeAt(stepSizes, half, l);
      dequantizeRow(codes, l * rb, d, b, s, buf, 0);
      sparseOptimizerRow(opt, buf, 0, grads, i * d, l, d);
      quantizeRow(buf, 0, d, b, s, rounding.stochastic, roundingRowKey(rounding.rseed, step, r), codes, l * rb);
    }
  },

  updatePackedOnePass({ table, rows, count, grads, opt, lsq, stepSizeOpt, rounding, step, scratch: buf }) {
    const { dim: d, rowBytes: rb, bits: b, codes, stepSizes } = table;
    const f = table.firstRow ?? 0;
    const half = halfOf(table);
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const l = r - f; // index into this shard's arrays
      const s = stepSizeAt(stepSizes, half, l);
      dequantizeRow(codes, l * rb, d, b, s, buf, 0);
      sparseOptimizerRow(opt, buf, 0, grads, i * d, l, d);
      const ds = lsqBackward(buf, 0, grads, i * d, d, s, lsq.lo, lsq.hi, null, 0) * lsq.gscale;
      setPositiveStepSize(stepSizes, l, nextStepSize(stepSizeOpt, l, s, ds));
      const ns = stepSizeAt(stepSizes, half, l);
      quantizeRow(buf, 0, d, b, ns, rounding.stochastic, roundingRowKey(rounding.rseed, step, r), codes, l * rb);
    }
  },

  stagePacked({ table, rows, count, grads, opt, staged }) {
    const { dim: d, rowBytes: rb, bits: b, codes, stepSizes } = table;
    const f = table.firstRow ?? 0;
    const half = halfOf(table);
    const w = staged.w;
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const l = r - f; // index into this shard's arrays
      staged.rows[i] = r;
      dequantizeRow(codes, l * rb, d, b, stepSizeAt(stepSizes, half, l), w, i * d);
      sparseOptimizerRow(opt, w, i * d, grads, i * d, l, d);
    }
  },

  fakeQuantizeStaged({ table, staged, lsq, out }) {
    const d = table.dim, stepSizes = table.stepSizes, f = table.firstRow ?? 0;
    const half = halfOf(table);
    for (let i = 0; i < staged.count; i++) {
      const r = staged.rows[i];
      const l = r - f; // index into this shard's arrays
      fakeQuantize(staged.w, i * d, d, stepSizeAt(stepSizes, half, l), lsq.lo, lsq.hi, out, i * d);
    }
  },

  updateStepSizesStaged({ table, staged, dq, lsq, stepSizeOpt }) {
    const d = table.dim, stepSizes = table.stepSizes, f = table.firstRow ?? 0;
    const half = halfOf(table);
    for (let i = 0; i < staged.count; i++) {
      const r = staged.rows[i];
      const l = r - f; // index into this shard's arrays
      const s = stepSizeAt(stepSizes, half, l);
      const ds = lsqBackward(staged.w, i * d, dq, i * d, d, s, lsq.lo, lsq.hi, null, 0) * lsq.gscale;
      setPositiveStepSize(stepSizes, l, nextStepSize(stepSizeOpt, l, s, ds));
    }
  },

  writeBackStaged({ table, staged, rounding, step }) {
    const { dim: d, rowBytes: rb, bits: b, codes, stepSizes } = table;
    const f = table.firstRow ?? 0;
    const half = halfOf(table);
    for (let i = 0; i < staged.count; i++) {
      const r = staged.rows[i];
      const l = r - f; // index into this shard's arrays
      const s = stepSizeAt(stepSizes, half, l);
      quantizeRow(staged.w, i * d, d, b, s, rounding.stochastic, roundingRowKey(rounding.rseed, step, r), codes, l * rb);
    }
  },

  updateStepSizesAndWriteBack(a) {
    jsTableKernels.updateStepSizesStaged(a);
    jsTableKernels.writeBackStaged(a);
  },

  prepareRows({ ids, slots, nRows, hash, capLog2, rows, inverse }) {
    // the same hash as assembly/sparse.ts prepareRows (any de-duplication keeping first-seen order
    // gives the same rows and inverse)
    const mask = (1 << capLog2) - 1;
    const shift = 32 - capLog2;
    hash.fill(0, 0, 2 << capLog2);
    let count = 0;
    for (let i = 0; i < slots; i++) {
      const r = ids[i];
      if (!(r >= 0 && r < nRows)) return -(i + 1);
      const key = r + 1;
      let h = capLog2 > 0 ? Math.imul(r, 0x9e3779b1) >>> shift : 0;
      for (;;) {
        const e = hash[2 * h];
        if (e === key) {
          inverse[i] = hash[2 * h + 1];
          break;
        }
        if (e === 0) {
          hash[2 * h] = key;
          hash[2 * h + 1] = count;
          rows[count] = r;
          inverse[i] = count++;
          break;
        }
        h = (h + 1) & mask;
      }
    }
    return count;
  },

  expandRows({ v, inverse, slots, dim: d, x }) {
    for (let i = 0, o = 0; i < slots; i++, o += d) {
      const s = inverse[i] * d;
      for (let k = 0; k < d; k++) x[o + k] = v[s + k];
    }
  },

  scatterRows({ dx, inverse, slots, dim: d, g, count }) {
    g.fill(0, 0, count * d);
    for (let i = 0, o = 0; i < slots; i++, o += d) {
      const s = inverse[i] * d;
      for (let k = 0; k < d; k++) g[s + k] += dx[o + k];
    }
  },
};
