// Kernel-level profile: wraps a backend so every gemm, element-wise op and sparse kernel call adds
// its wall time to a per-name total (`alpt bench --profile-ops`). Wrap before building the model:
// layers and tables capture the kernels when they are constructed.

import type { Backend, ElementwiseOps } from './backend.js';
import { jsOps } from './ops-js.js';
import type { SparseExports, SparseKernels } from './sparse.js';

export interface KernelProfile {
  /** Milliseconds and call counts per kernel name since the last reset. */
  snapshot(): Record<string, { ms: number; calls: number }>;
  reset(): void;
}

export function profileBackend(backend: Backend): { backend: Backend; profile: KernelProfile } {
  const totals = new Map<string, { ms: number; calls: number }>();
  const timed = <F extends (...args: never[]) => unknown>(name: string, f: F): F =>
    ((...args: Parameters<F>) => {
      const t0 = performance.now();
      try {
        return f(...args);
      } finally {
        const e = totals.get(name) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t0;
        e.calls++;
        totals.set(name, e);
      }
    }) as F;

  const wrapAll = <T extends object>(prefix: string, obj: T): T => {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(obj) as (keyof T & string)[]) {
      const v = obj[key];
      out[key] = typeof v === 'function' ? timed(`${prefix}${key}`, (v as (...a: never[]) => unknown).bind(obj)) : v;
    }
    return out as T;
  };

  const gemmName = (ta: boolean, tb: boolean, m: number, n: number, k: number): string =>
    `gemm ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${m}x${n}x${k}`;
  const ops: ElementwiseOps = wrapAll('op ', backend.ops ?? jsOps);
  const sparse: SparseKernels | undefined = backend.sparse
    ? { ...backend.sparse, ex: wrapAll<SparseExports>('sparse ', backend.sparse.ex), alloc: backend.sparse.alloc.bind(backend.sparse), ptr: backend.sparse.ptr.bind(backend.sparse) }
    : undefined;
  const wrapped: Backend = {
    name: backend.name,
    threads: backend.threads,
    alloc: (n) => backend.alloc(n),
    gemm(ta, tb, m, n, k, alpha, a, b, beta, c, bias) {
      timed(gemmName(ta, tb, m, n, k), backend.gemm.bind(backend))(ta, tb, m, n, k, alpha, a, b, beta, c, bias);
    },
    ops,
    sparse,
    dispose: () => backend.dispose(),
  };
  return {
    backend: wrapped,
    profile: {
      snapshot: () => Object.fromEntries([...totals].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => [k, { ms: +v.ms.toFixed(2), calls: v.calls }])),
      reset: () => totals.clear(),
    },
  };
}
