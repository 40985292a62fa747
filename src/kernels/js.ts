// Plain TypeScript GEMM: the fallback when WebAssembly is unavailable and the reference in tests.
// Loops are ordered so the innermost one walks contiguous memory (i-p-j for B stored k×n, dot
// products for Bᵀ), which keeps it within ~10× of the SIMD kernel instead of ~100×.

import type { Backend } from './backend.js';

export function gemmJs(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array, bias?: Float32Array,
): void {
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let j = 0; j < n; j++) c[ci + j] = (beta === 0 ? 0 : beta * c[ci + j]) + (bias ? bias[j] : 0);
  }
  if (k === 0 || alpha === 0) return;
  if (transB) {
    // C[i,j] += alpha · Σp op(A)[i,p] · B[j,p]; with transA gather row i of op(A) once.
    const row = new Float32Array(k);
    for (let i = 0; i < m; i++) {
      if (transA) for (let p = 0; p < k; p++) row[p] = a[p * m + i];
      else for (let p = 0; p < k; p++) row[p] = a[i * k + p];
      const ci = i * n;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += row[p] * b[bj + p];
        c[ci + j] += alpha * s;
      }
    }
    return;
  }
  // B stored k×n: C[i,:] += alpha·op(A)[i,p] · B[p,:] (axpy over contiguous rows).
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const av = alpha * (transA ? a[p * m + i] : a[i * k + p]);
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
    }
  }
}

export function createJsBackend(): Backend {
  return {
    name: 'js',
    threads: 1,
    alloc: (n: number) => new Float32Array(n),
    gemm: gemmJs,
    dispose: () => {},
  };
}
