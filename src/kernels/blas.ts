// OpenBLAS backend ('blas'): the WebAssembly backend (shared memory, allocator, worker threads and
// every other kernel) with its gemm swapped for cblas_sgemm through the optional N-API addon in
// native/ (built by `npm ci` when libopenblas-dev is installed; see scripts/build-native.mjs).
//
// CPU kernels: OpenBLAS picks its kernels once, when the library is loaded, from OPENBLAS_CORETYPE
// or its own CPU detection, and Debian's 0.3.21 does not recognise recent Xeons (it falls back to
// SSE3 "Prescott" kernels). So before loading the addon: ALPT_OPENBLAS_CORETYPE, if set, wins;
// else a CPU with AVX-512 (F, DQ, BW, VL) gets SkylakeX (about 2× the AVX2 kernels; these crash on
// CPUs without AVX-512, hence the flag check); else an already exported OPENBLAS_CORETYPE is kept;
// else a CPU with AVX2 and FMA gets Haswell.
//
// Threads: OpenBLAS runs with the backend's thread count. Its pool and the wasm workers never
// compute at the same time (gemm is synchronous and the wasm workers sleep in Atomics.wait
// between jobs), and OpenBLAS's idle threads are told to sleep soon after a call
// (OPENBLAS_THREAD_TIMEOUT, unless the user set it) instead of spinning through the element-wise
// kernels that the wasm workers run between GEMMs.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Backend } from './backend.js';
import { createJsBackend } from './js.js';
import { createWasmBackend } from './wasm.js';

// dist/src/kernels/blas.js -> <package root>/native/build/Release/alpt_blas.node
const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/alpt_blas.node', import.meta.url));
// 2^THREAD_TIMEOUT cycles of spinning before an idle OpenBLAS thread sleeps (Debian default: 28,
// about 0.1 s, i.e. forever during training). 2^18 cycles ≈ 0.1 ms covers back-to-back GEMMs.
const THREAD_TIMEOUT = '18';

export interface BlasAddon {
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, b: Float32Array, beta: number, c: Float32Array, bias?: Float32Array,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
  config(): { config: string; corename: string; threads: number };
}

export interface BlasInfo {
  /** openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64". */
  config: string;
  /** Kernels in use (openblas_get_corename()), e.g. "SkylakeX". */
  corename: string;
  /** OPENBLAS_CORETYPE as set when the library was loaded. */
  coretype?: string;
}

let state: { addon?: BlasAddon; error: string; coretype?: string } | undefined;

function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.slice(line.indexOf(':') + 1).trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** Sets OPENBLAS_CORETYPE for this process as described above; returns the value in effect. */
export function chooseCoretype(env: NodeJS.ProcessEnv = process.env, flags: Set<string> = cpuFlags()): string | undefined {
  const forced = env.ALPT_OPENBLAS_CORETYPE;
  if (forced) env.OPENBLAS_CORETYPE = forced;
  else if (['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => flags.has(f))) env.OPENBLAS_CORETYPE = 'SkylakeX';
  else if (!env.OPENBLAS_CORETYPE && flags.has('avx2') && flags.has('fma')) env.OPENBLAS_CORETYPE = 'Haswell';
  return env.OPENBLAS_CORETYPE || undefined;
}

/** The OpenBLAS addon, loaded once (undefined when not built, not loadable, or ALPT_BLAS=0). */
export function loadBlas(): BlasAddon | undefined {
  if (state) return state.addon;
  if (process.env.ALPT_BLAS === '0') {
    state = { error: 'disabled by ALPT_BLAS=0' };
    return undefined;
  }
  // Environment first: libopenblas reads it in its load-time constructor.
  const coretype = chooseCoretype();
  process.env.OPENBLAS_THREAD_TIMEOUT ||= THREAD_TIMEOUT;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as BlasAddon;
    state = { addon, error: '', coretype };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    state = {
      error: (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
        ? 'the OpenBLAS addon is not built (install libopenblas-dev, e.g. `apt-get install libopenblas-dev`, then re-run `npm ci` or `node scripts/build-native.mjs`)'
        : `the OpenBLAS addon does not load: ${msg}`,
    };
  }
  return state.addon;
}

/** Why loadBlas() returned undefined ('' when it loaded). */
export function blasUnavailableReason(): string {
  loadBlas();
  return state!.error;
}

export function blasInfo(): BlasInfo | undefined {
  const addon = loadBlas();
  if (!addon) return undefined;
  const { config, corename } = addon.config();
  return { config, corename, coretype: state!.coretype };
}

export interface BlasBackendOptions {
  /** Threads for OpenBLAS and the wasm workers (main thread included); default: all cores. */
  threads?: number;
}

// OpenBLAS's thread count is process-wide: set it only when a backend with another count calls.
let currentThreads = 0;

export async function createBlasBackend(opts: BlasBackendOptions = {}): Promise<Backend> {
  const addon = loadBlas();
  if (!addon) throw new Error(`backend 'blas' is unavailable: ${state!.error}`);
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  let base: Backend;
  try {
    base = await createWasmBackend({ threads });
  } catch {
    base = createJsBackend();
  }
  let disposed = false;
  // Everything but gemm (alloc, element-wise kernels, ...) is the base backend's.
  const be = Object.create(base) as Backend;
  Object.defineProperties(be, {
    name: { value: 'blas', enumerable: true },
    threads: { value: threads, enumerable: true },
    gemm: {
      enumerable: true,
      value(
        transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
        a: Float32Array, b: Float32Array, beta: number, c: Float32Array, bias?: Float32Array,
      ): void {
        if (disposed) throw new Error('gemm on a disposed backend');
        // Matrix-vector and rank-one products (a model's 1-wide output layer) are memory bound, and
        // OpenBLAS runs them single-threaded through its GEMM path: the base backend's split
        // kernels are faster there.
        if (m === 1 || n === 1 || k === 1) return base.gemm(transA, transB, m, n, k, alpha, a, b, beta, c, bias);
        if (currentThreads !== threads) {
          addon.setThreads(threads);
          currentThreads = threads;
        }
        addon.sgemm(transA, transB, m, n, k, alpha, a, b, beta, c, bias);
      },
    },
    dispose: {
      enumerable: true,
      value(): void {
        disposed = true;
        base.dispose();
      },
    },
  });
  return be;
}
