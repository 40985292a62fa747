// The backend and kernels a run actually used (not the `auto` asked for): for the summary and report.

import type { Backend } from './backend.js';
import { blasInfo } from './blas.js';

export interface BackendInfo {
  /** blas, wasm or js. */
  name: 'blas' | 'wasm' | 'js' | string;
  threads: number;
  /** One line: e.g. "OpenBLAS SkylakeX sgemm + WebAssembly relaxed SIMD (FMA)". */
  kernels: string;
  /** WebAssembly kernels built with relaxed SIMD (FMA); absent for js. */
  wasm_relaxed_simd?: boolean;
  /** OpenBLAS core in use (openblas_get_corename) and its build config, for blas. */
  openblas_core?: string;
  openblas_config?: string;
}

const wasmText = (fma: boolean) => `WebAssembly SIMD${fma ? ' + relaxed SIMD (FMA)' : ' (no relaxed SIMD)'}`;

export function describeBackend(b: Backend): BackendInfo {
  const name = b.name;
  if (name === 'blas') {
    const base = (Object.getPrototypeOf(b) as Backend | null)?.name ?? 'js';
    const info = blasInfo();
    const fma = base === 'wasm-fma';
    const rest = base === 'js' ? 'TypeScript kernels' : wasmText(fma);
    return {
      name: 'blas',
      threads: b.threads,
      kernels: `OpenBLAS ${info?.corename ?? '?'} sgemm + ${rest}`,
      ...(base === 'js' ? {} : { wasm_relaxed_simd: fma }),
      openblas_core: info?.corename,
      openblas_config: info?.config,
    };
  }
  if (name === 'wasm' || name === 'wasm-fma') {
    return { name: 'wasm', threads: b.threads, kernels: wasmText(name === 'wasm-fma'), wasm_relaxed_simd: name === 'wasm-fma' };
  }
  return { name, threads: b.threads, kernels: name === 'js' ? 'plain TypeScript' : name };
}
