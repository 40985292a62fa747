// Test helpers for the nn layers: a tiny naive Backend (the real ones live in src/kernels/) and
// deterministic random fills.

import type { Backend } from '../src/kernels/backend.js';
import { CounterRng } from '../src/util/rng.js';

/** Naive row-major gemm, float64 accumulation. C = alpha·op(A)·op(B) + beta·C (+ bias per row). */
export function naiveGemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  b: Float32Array,
  beta: number,
  c: Float32Array,
  bias?: Float32Array,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        const bv = transB ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      let v = alpha * s;
      if (beta !== 0) v += beta * c[i * n + j];
      if (bias) v += bias[j];
      c[i * n + j] = v;
    }
  }
}

export interface CountingBackend extends Backend {
  allocs: number;
  gemms: number;
}

export function naiveBackend(): CountingBackend {
  const be: CountingBackend = {
    name: 'naive-test',
    threads: 1,
    allocs: 0,
    gemms: 0,
    alloc(n: number): Float32Array {
      be.allocs++;
      return new Float32Array(n);
    },
    gemm(tA, tB, m, n, k, alpha, a, b, beta, c, bias) {
      be.gemms++;
      naiveGemm(tA, tB, m, n, k, alpha, a, b, beta, c, bias);
    },
    dispose() {},
  };
  return be;
}

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const rng = new CounterRng(seed, 77, 0);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}
