// Plain TypeScript GEMM: the fallback when WebAssembly is unavailable and the reference in tests.
// Operands are first brought to op(A) row-major (m×k) and op(B)ᵀ row-major (n×k) (O(mk + kn)
// copies, small next to mnk), so one kernel remains: 2×4 blocks of C accumulated in locals over
// contiguous rows. Locals avoid the f32 store/reload of C that dominates axpy-style loops.

import type { Backend } from './backend.js';
import { jsOps } from './ops-js.js';

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

export function gemmJs(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array, bias?: Float32Array,
): void {
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let j = 0; j < n; j++) c[ci + j] = (beta === 0 ? 0 : beta * c[ci + j]) + (bias ? bias[j] : 0);
  }
  if (k === 0 || alpha === 0 || m === 0 || n === 0) return;
  const A = transA ? transpose(a, k, m) : a; // m×k
  const B = transB ? b : transpose(b, k, n); // n×k
  for (let i = 0; i < m; i += 2) {
    const a0 = i * k;
    const a1 = i + 1 < m ? a0 + k : a0; // odd m: duplicate the last row, store it once
    for (let j = 0; j < n; j += 4) {
      const b0 = j * k;
      const b1 = j + 1 < n ? b0 + k : b0, b2 = j + 2 < n ? b0 + 2 * k : b0, b3 = j + 3 < n ? b0 + 3 * k : b0;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = A[a0 + p], x1 = A[a1 + p];
        const y0 = B[b0 + p], y1 = B[b1 + p], y2 = B[b2 + p], y3 = B[b3 + p];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
      }
      const row0 = [s00, s01, s02, s03], row1 = [s10, s11, s12, s13];
      for (let jj = 0; jj < 4 && j + jj < n; jj++) {
        c[i * n + j + jj] += alpha * row0[jj];
        if (i + 1 < m) c[(i + 1) * n + j + jj] += alpha * row1[jj];
      }
    }
  }
}

export function createJsBackend(): Backend {
  return {
    name: 'js',
    threads: 1,
    alloc: (n: number) => new Float32Array(n),
    gemm: gemmJs,
    ops: jsOps,
    dispose: () => {},
  };
}
