// WebAssembly SIMD backend: one shared memory, the main thread plus threads-1 workers running the
// same kernel module over it. GEMM, the element-wise kernels and the per-row embedding kernels
// are split across them by the pool (src/kernels/pool.ts); every call is synchronous.

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Backend } from './backend.js';
import { WasmHeap } from './heap.js';
import { createWasmOps } from './ops-wasm.js';
import { createSparseKernels, type SparseExports, type SparseKernels } from './sparse.js';
import { KernelPool } from './pool.js';
import { ctlLength, GEN, paramsLength, QUIT, setThreadScratch, type KernelExports } from './shared.js';

// dist/src/kernels/wasm.js -> <package root>/build/kernels*.wasm
const WASM_URL = new URL('../../../build/kernels.wasm', import.meta.url);
// Same source built with relaxed SIMD: f32x4.relaxed_madd becomes one FMA (about 1.4-2× faster).
const WASM_RELAXED_URL = new URL('../../../build/kernels-relaxed.wasm', import.meta.url);
const WORKER_URL = new URL('./worker.js', import.meta.url);
// Must match --initialMemory / --maximumMemory in the build:wasm script.
const INITIAL_PAGES = 32;
const MAX_PAGES = 65536;

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
  const { memory, instance, ex, heap, ctlBuf, paramsBuf, ctl, params } = kernelMemory(module, threads);

  const workers = await Promise.all(
    Array.from({ length: threads - 1 }, (_, w) => startWorker(module, memory, ctlBuf, paramsBuf, w + 1, threads)),
  );
  const shards: KernelShard[] = [];

  const checkLength = (name: string, arr: Float32Array, need: number): void => {
    if (arr.length < need) throw new RangeError(`gemm: ${name} has ${arr.length} elements, needs ${need}`);
  };

  const pool = new KernelPool(ex, threads, ctl, params);

  let disposed = false;
  return {
    name: fmaModule ? 'wasm-fma' : 'wasm',
    threads,
    alloc: (n: number) => heap.alloc(n),
    ops: createWasmOps(heap, pool),
    sparse: createSparseKernels(instance.exports as unknown as SparseExports, heap, pool),
    newSparseShard() {
      if (disposed) throw new Error('newSparseShard on a disposed backend');
      const shard = createKernelShard(module, threads);
      shards.push(shard);
      return shard.sparse;
    },
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
          if (copyIn) mem.set(arr.subarray(0, len), off / 4); // offsets pass 2^31: no bit ops
          off += Math.ceil(len / 16) * 64;
        });
      }
      pool.gemm(transA, transB, m, n, k, alpha, ptrs[0], ptrs[1], beta, ptrs[2], bias ? ptrs[3] : 0);
      if (cStaged) c.set(heap.f32().subarray(ptrs[2] / 4, ptrs[2] / 4 + m * n));
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      Atomics.store(ctl, QUIT, 1);
      Atomics.store(ctl, GEN, (Atomics.load(ctl, GEN) + 1) | 0);
      Atomics.notify(ctl, GEN);
      for (const w of workers) void w.terminate();
      for (const sh of shards) sh.dispose();
    },
  };
}

/** A shared memory with the kernel module instantiated over it, its heap, and a pool's control and job blocks. */
function kernelMemory(module: WebAssembly.Module, threads: number) {
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const ex = instance.exports as unknown as KernelExports;
  const heap = new WasmHeap(memory, ex.heapBase());
  const ctlBuf = new SharedArrayBuffer(4 * ctlLength(threads));
  const paramsBuf = new SharedArrayBuffer(8 * paramsLength(threads));
  const ctl = new Int32Array(ctlBuf);
  const params = new Float64Array(paramsBuf);
  for (let t = 0; t < threads; t++) setThreadScratch(params, t, heap.reserve(ex.scratchBytes()));
  return { memory, instance, ex, heap, ctlBuf, paramsBuf, ctl, params };
}

/** One more WebAssembly memory with its own kernel instances and workers (a table shard's home). */
interface KernelShard {
  sparse: SparseKernels;
  dispose(): void;
}

/**
 * A memory of its own (up to 4 GiB more) with the kernel module instantiated over it on the main
 * thread and in threads − 1 workers of its own, so a shard's gathers and updates run on all
 * threads like the main memory's. Synchronous (tables are built synchronously): the workers are
 * told the generation to start from, so a job posted before they are up is still theirs; idle,
 * they sleep in Atomics.wait.
 */
function createKernelShard(module: WebAssembly.Module, threads: number): KernelShard {
  const { memory, instance, ex, heap, ctlBuf, paramsBuf, ctl, params } = kernelMemory(module, threads);
  const workers = Array.from({ length: threads - 1 }, (_, w) => {
    const worker = new Worker(WORKER_URL, { workerData: { module, memory, ctl: ctlBuf, params: paramsBuf, index: w + 1, threads, gen0: 0 } });
    worker.unref();
    // a worker that dies would leave the main thread waiting for its share: fail loudly instead
    worker.on('error', (e) => {
      process.stderr.write(`alpt: table shard kernel worker failed: ${(e as Error).message}\n`);
      process.exit(70);
    });
    return worker;
  });
  const pool = new KernelPool(ex, threads, ctl, params);
  return {
    sparse: createSparseKernels(instance.exports as unknown as SparseExports, heap, pool),
    dispose() {
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
