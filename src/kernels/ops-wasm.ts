// ElementwiseOps of the wasm backend: the kernels of assembly/elementwise.ts, split across the
// pool's threads (row-wise kernels by rows or elements, column reductions by column slices, so
// results are the same for any thread count). Pointers are the arrays' byte offsets in the shared
// memory; a call with any array that lives outside it runs the TypeScript kernel instead (same
// results).

import type { ElementwiseOps } from './backend.js';
import type { WasmHeap } from './heap.js';
import { jsOps } from './ops-js.js';
import type { KernelPool } from './pool.js';

/** Scratch bytes per column of the column kernels (28 used: two f64 accumulators, three f32). */
const SCRATCH_PER_COL = 32;
/** Column slices are whole cache lines of f32, so threads never write the same line of a row. */
const COL_UNIT = 16;

// Byte strides per unit of each argument, for the slices (see shared.ts).
const flat = (n: number, moved: number[]): number[] => Array.from({ length: n }, (_, i) => (moved.includes(i) ? 4 : 0));

export function createWasmOps(heap: WasmHeap, pool: KernelPool): ElementwiseOps {
  let scratchPtr = 0;
  let scratchCols = 0;
  const scratch = (cols: number): number => {
    if (cols > scratchCols) {
      scratchCols = Math.max(cols, Math.ceil(scratchCols * 1.5), 1024);
      scratchPtr = heap.reserve(scratchCols * SCRATCH_PER_COL);
    }
    return scratchPtr;
  };
  // ds of the cross layer's backward (float64 per row), between its row and column parts.
  let dsPtr = 0;
  let dsRows = 0;
  const dsBuf = (rows: number): number => {
    if (rows > dsRows) {
      dsRows = Math.max(rows, Math.ceil(dsRows * 1.5), 4096);
      dsPtr = heap.reserve(dsRows * 8);
    }
    return dsPtr;
  };
  // Flat kernels over n elements: the count argument is n; moved arrays advance 4 bytes per element.
  const byElements = (n: number, nargs: number, countArg: number, moved: number[]) =>
    ({ total: n, unit: 16, work: 1, countArg, strides: flat(nargs, moved) });
  const colStrides = (n: number, moved: number[], scratchArg: number, scratchStride: number): number[] => {
    const st = flat(n, moved);
    st[scratchArg] = scratchStride;
    return st;
  };
  // Column kernels: rows × cols at ld = cols; per-column arguments move by 4 bytes per column.
  const colSumsStrides = colStrides(6, [0, 4], 5, 8);
  const bnFwdStrides = colStrides(17, [0, 4, 5, 6, 7, 8, 9, 10], 16, SCRATCH_PER_COL);
  const bnBwdStrides = colStrides(14, [0, 1, 2, 6, 7, 8, 9, 10, 11], 13, SCRATCH_PER_COL);
  const crossColStrides = colStrides(9, [0, 1, 6, 7], 8, 16);
  // Byte offsets of the arrays, or null if one of them is outside the memory. Each must hold at
  // least its stated number of elements (the kernels do not check bounds).
  const ptrs: number[] = [];
  const place = (...args: (Float32Array | number)[]): number[] | null => {
    ptrs.length = 0;
    for (let i = 0; i < args.length; i += 2) {
      const arr = args[i] as Float32Array;
      const need = args[i + 1] as number;
      if (arr.length < need) throw new RangeError(`element-wise op: array ${i >> 1} has ${arr.length} elements, needs ${need}`);
      const p = heap.ptrOf(arr);
      if (p < 0) return null;
      ptrs.push(p);
    }
    return ptrs;
  };

  return {
    columnSums(x, rows, cols, out) {
      const p = place(x, rows * cols, out, cols);
      if (!p || cols === 0) return jsOps.columnSums(x, rows, cols, out);
      pool.split('colSums', [p[0], rows, cols, cols, p[1], scratch(cols)], { total: cols, unit: COL_UNIT, work: rows, countArg: 2, strides: colSumsStrides });
    },
    batchNormForward(x, rows, cols, gamma, beta, rm, rv, mean, invstd, y, training, track, momentum, eps, relu) {
      const n = rows * cols;
      const p = place(x, n, gamma, cols, beta, cols, rm, cols, rv, cols, mean, cols, invstd, cols, y, n);
      if (!p || cols === 0) return jsOps.batchNormForward(x, rows, cols, gamma, beta, rm, rv, mean, invstd, y, training, track, momentum, eps, relu);
      pool.split('bnForward', [p[0], rows, cols, cols, p[1], p[2], p[3], p[4], p[5], p[6], p[7], +training, +track, momentum, eps, +relu, scratch(cols)],
        { total: cols, unit: COL_UNIT, work: 2 * rows, countArg: 2, strides: bnFwdStrides });
    },
    batchNormBackward(x, dy, reluY, rows, cols, gamma, mean, invstd, dgamma, dbeta, dx, training) {
      const n = rows * cols;
      const p = place(x, n, dy, n, reluY ?? x, n, gamma, cols, mean, cols, invstd, cols, dgamma, cols, dbeta, cols, dx, n);
      if (!p || cols === 0) return jsOps.batchNormBackward(x, dy, reluY, rows, cols, gamma, mean, invstd, dgamma, dbeta, dx, training);
      pool.split('bnBackward', [p[0], p[1], reluY ? p[2] : 0, rows, cols, cols, p[3], p[4], p[5], p[6], p[7], p[8], +training, scratch(cols)],
        { total: cols, unit: COL_UNIT, work: 2 * rows, countArg: 4, strides: bnBwdStrides });
    },
    relu(x, n, y) {
      const p = place(x, n, y, n);
      if (!p) return jsOps.relu(x, n, y);
      pool.split('reluForward', [p[0], n, p[1]], byElements(n, 3, 1, [0, 2]));
    },
    reluBackward(dy, y, n, dx) {
      const p = place(dy, n, y, n, dx, n);
      if (!p) return jsOps.reluBackward(dy, y, n, dx);
      pool.split('reluBackward', [p[0], p[1], n, p[2]], byElements(n, 4, 2, [0, 1, 3]));
    },
    crossForward(x0, xl, w, b, rows, cols, s, xn) {
      const n = rows * cols;
      const p = place(x0, n, xl, n, w, cols, b, cols, s, rows, xn, n);
      if (!p) return jsOps.crossForward(x0, xl, w, b, rows, cols, s, xn);
      const r = 4 * cols;
      pool.split('crossForward', [p[0], p[1], p[2], p[3], rows, cols, p[4], p[5]], { total: rows, unit: 1, work: cols, countArg: 4, strides: [r, r, 0, 0, 0, 0, 4, r] });
    },
    crossBackward(x0, xl, g, w, s, rows, cols, first, gn, dx0, dw, db) {
      const n = rows * cols;
      const p = place(x0, n, xl, n, g, n, w, cols, s, rows, gn, n, dx0, n, dw ?? x0, cols, db ?? x0, cols);
      if (!p || cols === 0) return jsOps.crossBackward(x0, xl, g, w, s, rows, cols, first, gn, dx0, dw, db);
      const r = 4 * cols;
      const ds = dsBuf(rows);
      pool.split('crossBackwardRows', [p[0], p[2], p[3], p[4], rows, cols, +first, p[5], p[6], ds],
        { total: rows, unit: 1, work: cols, countArg: 4, strides: [r, r, 0, 4, 0, 0, 0, r, r, 8] });
      if (!dw || !db) return;
      pool.split('crossBackwardCols', [p[1], p[2], ds, rows, cols, cols, p[7], p[8], scratch(cols)],
        { total: cols, unit: COL_UNIT, work: rows, countArg: 4, strides: crossColStrides });
    },
    addInto(dst, src, n) {
      const p = place(dst, n, src, n);
      if (!p) return jsOps.addInto(dst, src, n);
      pool.split('addInto', [p[0], p[1], n], byElements(n, 3, 2, [0, 1]));
    },
    copyBlock(src, rows, cols, srcLd, dst, dstLd) {
      if (rows === 0 || cols === 0) return;
      if (cols > srcLd || cols > dstLd) throw new RangeError(`copyBlock: ${cols} columns in rows of ${srcLd} and ${dstLd}`);
      const p = place(src, (rows - 1) * srcLd + cols, dst, (rows - 1) * dstLd + cols);
      if (!p) return jsOps.copyBlock(src, rows, cols, srcLd, dst, dstLd);
      pool.split('copyBlock', [p[0], rows, cols, srcLd, p[1], dstLd], { total: rows, unit: 16, work: cols, countArg: 1, strides: [4 * srcLd, 0, 0, 0, 4 * dstLd, 0] });
    },
    scale(x, n, f) {
      const p = place(x, n);
      if (!p) return jsOps.scale(x, n, f);
      pool.split('scaleInPlace', [p[0], n, f], byElements(n, 3, 1, [0]));
    },
    adam(w, g, m, v, n, beta1, beta2, stepSize, bc2Sqrt, eps, wd) {
      const p = place(w, n, g, n, m, n, v, n);
      if (!p) return jsOps.adam(w, g, m, v, n, beta1, beta2, stepSize, bc2Sqrt, eps, wd);
      pool.split('adam', [p[0], p[1], p[2], p[3], n, beta1, beta2, 1 - beta1, 1 - beta2, stepSize, bc2Sqrt, eps, wd], byElements(n, 13, 4, [0, 1, 2, 3]));
    },
  };
}
