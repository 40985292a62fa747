// WebAssembly SIMD backend: one shared memory, the main thread plus threads-1 workers running the
// same kernel module over it. gemm() is synchronous: the job goes out through a shared control
// block (Atomics.notify), the main thread computes its own share, then Atomics.wait()s for the rest.

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Backend } from './backend.js';
import { WasmHeap } from './heap.js';
import { createWasmOps, type ElementwiseExports } from './ops-wasm.js';
import { createSparseKernels, type SparseExports } from './sparse.js';
import {
  ctlLength, DONE, errSlot, GEN, paramsLength, QUIT, runShare, setThreadRange, setThreadScratch,
  type KernelExports,
} from './shared.js';

// dist/src/kernels/wasm.js -> <package root>/build/kernels*.wasm
const WASM_URL = new URL('../../../build/kernels.wasm', import.meta.url);
// Same source built with relaxed SIMD: f32x4.relaxed_madd becomes one FMA (about 1.4-2× faster).
const WASM_RELAXED_URL = new URL('../../../build/kernels-relaxed.wasm', import.meta.url);
const WORKER_URL = new URL('./worker.js', import.meta.url);
// Must match --initialMemory / --maximumMemory in the build:wasm script.
const INITIAL_PAGES = 32;
const MAX_PAGES = 65536;
// Below this many multiply-adds the wake-up/sync cost outweighs the second core.
const PARALLEL_MIN = 2e5;
const MR = 2;
const NR = 16;

export interface WasmBackendOptions {
  /** Threads including the main one; default: all available cores. */
  threads?: number;
  /** Use the FMA (relaxed SIMD) build when the engine accepts it; default true unless ALPT_WASM_FMA=0. */
  fma?: boolean;
}

const modules = new Map<boolean, Promise<WebAssembly.Module | undefined>>();

/** The compiled kernel module (undefined when the FMA build is asked for but unsupported). */
export function loadKernelModule(fma: boolean): Promise<WebAssembly.Module | undefined> {
  let p = modules.get(fma);
  if (!p) {
    p = readFile(fileURLToPath(fma ? WASM_RELAXED_URL : WASM_URL)).then((bytes) => {
      if (!fma) return WebAssembly.compile(bytes);
      // Node 20 (V8 11.3) has relaxed SIMD behind a flag; from Node 22 it is on by default.
      if (!WebAssembly.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
      return WebAssembly.validate(bytes) ? WebAssembly.compile(bytes) : undefined;
    }, (err: unknown) => {
      if (fma) return undefined;
      throw err;
    });
    modules.set(fma, p);
  }
  return p;
}

export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<Backend> {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const wantFma = opts.fma ?? process.env.ALPT_WASM_FMA !== '0';
  const fmaModule = wantFma ? await loadKernelModule(true) : undefined;
  const module = fmaModule ?? (await loadKernelModule(false))!;
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const ex = instance.exports as unknown as KernelExports;
  const heap = new WasmHeap(memory, ex.heapBase());

  const ctlBuf = new SharedArrayBuffer(4 * ctlLength(threads));
  const paramsBuf = new SharedArrayBuffer(8 * paramsLength(threads));
  const ctl = new Int32Array(ctlBuf);
  const params = new Float64Array(paramsBuf);
  for (let t = 0; t < threads; t++) setThreadScratch(params, t, heap.reserve(ex.scratchBytes()));

  const workers = await Promise.all(
    Array.from({ length: threads - 1 }, (_, w) => startWorker(module, memory, ctlBuf, paramsBuf, w + 1, threads)),
  );

  const checkLength = (name: string, arr: Float32Array, need: number): void => {
    if (arr.length < need) throw new RangeError(`gemm: ${name} has ${arr.length} elements, needs ${need}`);
  };

  const dispatch = (m: number, n: number, k: number): void => {
    const T = threads > 1 && m * n * k >= PARALLEL_MIN ? threads : 1;
    // Split the longer side of C; chunks are whole micro-tiles so tiles never straddle threads.
    const byRows = m >= n;
    const unit = byRows ? MR : NR;
    const len = byRows ? m : n;
    const chunk = Math.ceil(len / T / unit) * unit;
    for (let t = 0; t < threads; t++) {
      const lo = Math.min(len, t * chunk);
      const hi = t < T ? Math.min(len, lo + chunk) : lo;
      if (byRows) setThreadRange(params, t, lo, hi, 0, n);
      else setThreadRange(params, t, 0, m, lo, hi);
    }
    if (T === 1) {
      runShare(ex, params, 0);
      return;
    }
    const gen = (Atomics.load(ctl, GEN) + 1) | 0;
    Atomics.store(ctl, GEN, gen);
    Atomics.notify(ctl, GEN);
    runShare(ex, params, 0);
    for (let t = 1; t < threads; t++) {
      let v = Atomics.load(ctl, DONE + t);
      for (let s = 0; v !== gen && s < 20000; s++) v = Atomics.load(ctl, DONE + t);
      while (v !== gen) {
        Atomics.wait(ctl, DONE + t, v);
        v = Atomics.load(ctl, DONE + t);
      }
      if (Atomics.exchange(ctl, errSlot(threads, t), 0)) throw new Error(`gemm failed in worker thread ${t}`);
    }
  };

  let disposed = false;
  return {
    name: fmaModule ? 'wasm-fma' : 'wasm',
    threads,
    alloc: (n: number) => heap.alloc(n),
    ops: createWasmOps(instance.exports as unknown as ElementwiseExports, heap),
    sparse: createSparseKernels(instance.exports as unknown as SparseExports, heap),
    gemm(transA, transB, m, n, k, alpha, a, b, beta, c, bias) {
      if (disposed) throw new Error('gemm on a disposed backend');
      checkLength('A', a, m * k);
      checkLength('B', b, k * n);
      checkLength('C', c, m * n);
      if (bias) checkLength('bias', bias, n);
      if (m === 0 || n === 0) return;
      // Arrays outside the wasm memory are copied into one staging region (C is copied back).
      const args: [Float32Array, number, boolean][] = [[a, m * k, true], [b, k * n, true], [c, m * n, beta !== 0]];
      if (bias) args.push([bias, n, true]);
      const ptrs = args.map(([arr]) => heap.ptrOf(arr));
      const cStaged = ptrs[2] < 0;
      let stageBytes = 0;
      args.forEach(([, len], i) => { if (ptrs[i] < 0) stageBytes += Math.ceil(len / 16) * 64; });
      if (stageBytes > 0) {
        let off = heap.stage(stageBytes);
        const mem = heap.f32();
        args.forEach(([arr, len, copyIn], i) => {
          if (ptrs[i] >= 0) return;
          ptrs[i] = off;
          if (copyIn) mem.set(arr.subarray(0, len), off >> 2);
          off += Math.ceil(len / 16) * 64;
        });
      }
      params[0] = transA ? 1 : 0; params[1] = transB ? 1 : 0;
      params[2] = m; params[3] = n; params[4] = k;
      params[5] = alpha; params[6] = ptrs[0]; params[7] = ptrs[1];
      params[8] = beta; params[9] = ptrs[2]; params[10] = bias ? ptrs[3] : 0;
      dispatch(m, n, k);
      if (cStaged) c.set(heap.f32().subarray(ptrs[2] >> 2, (ptrs[2] >> 2) + m * n));
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      Atomics.store(ctl, QUIT, 1);
      Atomics.store(ctl, GEN, (Atomics.load(ctl, GEN) + 1) | 0);
      Atomics.notify(ctl, GEN);
      for (const w of workers) void w.terminate();
    },
  };
}

function startWorker(
  module: WebAssembly.Module, memory: WebAssembly.Memory, ctl: SharedArrayBuffer, params: SharedArrayBuffer,
  index: number, threads: number,
): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: { module, memory, ctl, params, index, threads } });
    worker.once('error', reject);
    worker.once('message', () => {
      worker.off('error', reject);
      // An idle worker sleeps in Atomics.wait; it must not keep the process alive.
      worker.unref();
      resolve(worker);
    });
  });
}
