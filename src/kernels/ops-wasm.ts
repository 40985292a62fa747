// ElementwiseOps of the wasm backend: the kernels of assembly/elementwise.ts, run on the calling
// thread (they are memory bound; one core streams the [batch × dim] activations well enough).
// Pointers are the arrays' byte offsets in the shared memory; a call with any array that lives
// outside it runs the TypeScript kernel instead (same results).

import type { ElementwiseOps } from './backend.js';
import type { WasmHeap } from './heap.js';
import { jsOps } from './ops-js.js';

export interface ElementwiseExports {
  colSums(x: number, rows: number, cols: number, out: number, scratch: number): void;
  bnForward(
    x: number, rows: number, cols: number, gamma: number, beta: number, rmean: number, rvar: number,
    mean: number, invstd: number, y: number, training: number, track: number, momentum: number, eps: number, relu: number,
    scratch: number,
  ): void;
  bnBackward(
    x: number, dy: number, reluY: number, rows: number, cols: number, gamma: number, mean: number, invstd: number,
    dgamma: number, dbeta: number, dx: number, training: number, scratch: number,
  ): void;
  reluForward(x: number, n: number, y: number): void;
  reluBackward(dy: number, y: number, n: number, dx: number): void;
  crossForward(x0: number, xl: number, w: number, b: number, rows: number, cols: number, s: number, xn: number): void;
  crossBackward(
    x0: number, xl: number, g: number, w: number, s: number, rows: number, cols: number, first: number,
    gn: number, dx0: number, dw: number, db: number, scratch: number,
  ): void;
  addInto(dst: number, src: number, n: number): void;
  scaleInPlace(x: number, n: number, f: number): void;
  adam(
    w: number, g: number, m: number, v: number, n: number,
    b1: number, b2: number, c1: number, c2: number, stepSize: number, bc2Sqrt: number, eps: number, wd: number,
  ): void;
}

/** Scratch bytes per column of the column kernels (28 used: two f64 accumulators, three f32). */
const SCRATCH_PER_COL = 32;

export function createWasmOps(ex: ElementwiseExports, heap: WasmHeap): ElementwiseOps {
  let scratchPtr = 0;
  let scratchCols = 0;
  const scratch = (cols: number): number => {
    if (cols > scratchCols) {
      scratchCols = Math.max(cols, Math.ceil(scratchCols * 1.5), 1024);
      scratchPtr = heap.reserve(scratchCols * SCRATCH_PER_COL);
    }
    return scratchPtr;
  };
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
      ex.colSums(p[0], rows, cols, p[1], scratch(cols));
    },
    batchNormForward(x, rows, cols, gamma, beta, rm, rv, mean, invstd, y, training, track, momentum, eps, relu) {
      const n = rows * cols;
      const p = place(x, n, gamma, cols, beta, cols, rm, cols, rv, cols, mean, cols, invstd, cols, y, n);
      if (!p || cols === 0) return jsOps.batchNormForward(x, rows, cols, gamma, beta, rm, rv, mean, invstd, y, training, track, momentum, eps, relu);
      ex.bnForward(p[0], rows, cols, p[1], p[2], p[3], p[4], p[5], p[6], p[7], +training, +track, momentum, eps, +relu, scratch(cols));
    },
    batchNormBackward(x, dy, reluY, rows, cols, gamma, mean, invstd, dgamma, dbeta, dx, training) {
      const n = rows * cols;
      const p = place(x, n, dy, n, reluY ?? x, n, gamma, cols, mean, cols, invstd, cols, dgamma, cols, dbeta, cols, dx, n);
      if (!p || cols === 0) return jsOps.batchNormBackward(x, dy, reluY, rows, cols, gamma, mean, invstd, dgamma, dbeta, dx, training);
      ex.bnBackward(p[0], p[1], reluY ? p[2] : 0, rows, cols, p[3], p[4], p[5], p[6], p[7], p[8], +training, scratch(cols));
    },
    relu(x, n, y) {
      const p = place(x, n, y, n);
      if (!p) return jsOps.relu(x, n, y);
      ex.reluForward(p[0], n, p[1]);
    },
    reluBackward(dy, y, n, dx) {
      const p = place(dy, n, y, n, dx, n);
      if (!p) return jsOps.reluBackward(dy, y, n, dx);
      ex.reluBackward(p[0], p[1], n, p[2]);
    },
    crossForward(x0, xl, w, b, rows, cols, s, xn) {
      const n = rows * cols;
      const p = place(x0, n, xl, n, w, cols, b, cols, s, rows, xn, n);
      if (!p) return jsOps.crossForward(x0, xl, w, b, rows, cols, s, xn);
      ex.crossForward(p[0], p[1], p[2], p[3], rows, cols, p[4], p[5]);
    },
    crossBackward(x0, xl, g, w, s, rows, cols, first, gn, dx0, dw, db) {
      const n = rows * cols;
      const p = place(x0, n, xl, n, g, n, w, cols, s, rows, gn, n, dx0, n, dw, cols, db, cols);
      if (!p || cols === 0) return jsOps.crossBackward(x0, xl, g, w, s, rows, cols, first, gn, dx0, dw, db);
      ex.crossBackward(p[0], p[1], p[2], p[3], p[4], rows, cols, +first, p[5], p[6], p[7], p[8], scratch(cols));
    },
    addInto(dst, src, n) {
      const p = place(dst, n, src, n);
      if (!p) return jsOps.addInto(dst, src, n);
      ex.addInto(p[0], p[1], n);
    },
    scale(x, n, f) {
      const p = place(x, n);
      if (!p) return jsOps.scale(x, n, f);
      ex.scaleInPlace(p[0], n, f);
    },
    adam(w, g, m, v, n, beta1, beta2, stepSize, bc2Sqrt, eps, wd) {
      const p = place(w, n, g, n, m, n, v, n);
      if (!p) return jsOps.adam(w, g, m, v, n, beta1, beta2, stepSize, bc2Sqrt, eps, wd);
      ex.adam(p[0], p[1], p[2], p[3], n, beta1, beta2, 1 - beta1, 1 - beta2, stepSize, bc2Sqrt, eps, wd);
    },
  };
}
