// GEMM throughput for the MLP shapes: forward y = x·Wᵀ (NT), dX = dY·W (NN), dW = dYᵀ·X (TN).

import { availableParallelism } from 'node:os';
import type { Backend } from './backend.js';
import { blasInfo, createBlasBackend } from './blas.js';
import { createJsBackend } from './js.js';
import { createWasmBackend } from './wasm.js';

export interface BenchGemmOptions {
  /** Batch rows (default 4096). */
  batch?: number;
  /** [in, out] layer shapes (default [624,1024], [1024,512], [512,256]). */
  shapes?: [number, number][];
  /** Timed repetitions for wasm (median reported; default 7) and for js (default 2). */
  reps?: number;
  jsReps?: number;
  /** Thread counts for wasm (default 1 and all cores). */
  threads?: number[];
  /** Also time the plain-SIMD build next to the FMA one (default true). */
  compareFma?: boolean;
  /** Skip the (slow) js backend. */
  skipJs?: boolean;
  /** Time the wasm backend (default true). */
  wasm?: boolean;
  /** Time the OpenBLAS backend when its addon loads (default true); rows say e.g. "blas-SkylakeX". */
  blas?: boolean;
}

export interface BenchGemmRow {
  backend: string;
  threads: number;
  form: 'forward NT' | 'dX NN' | 'dW TN';
  m: number;
  n: number;
  k: number;
  ms: number;
  gflops: number;
  /** Flops per second of process CPU time: close to per-core speed even when the machine is busy. */
  gflopsPerCpu: number;
}

type Form = [BenchGemmRow['form'], boolean, boolean, number, number, number];

function forms(batch: number, inDim: number, outDim: number): Form[] {
  return [
    ['forward NT', false, true, batch, outDim, inDim],
    ['dX NN', false, false, batch, inDim, outDim],
    ['dW TN', true, false, outDim, inDim, batch],
  ];
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

function fill(be: Backend, n: number): Float32Array {
  const a = be.alloc(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

function time(be: Backend, f: Form, reps: number, warmup: number): BenchGemmRow {
  const [form, tA, tB, m, n, k] = f;
  const a = fill(be, m * k);
  const b = fill(be, k * n);
  const c = be.alloc(m * n);
  for (let r = 0; r < warmup; r++) be.gemm(tA, tB, m, n, k, 1, a, b, 0, c);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    be.gemm(tA, tB, m, n, k, 1, a, b, 0, c);
    wall.push(performance.now() - t0);
    const u = process.cpuUsage(u0);
    cpu.push((u.user + u.system) / 1000);
  }
  const flop = 2 * m * n * k;
  const ms = median(wall);
  return {
    backend: be.name, threads: be.threads, form, m, n, k,
    ms: +ms.toFixed(2),
    gflops: +(flop / ms / 1e6).toFixed(1),
    gflopsPerCpu: +(flop / Math.max(median(cpu), 1e-3) / 1e6).toFixed(1),
  };
}

export async function benchGemm(opts: BenchGemmOptions = {}): Promise<BenchGemmRow[]> {
  const batch = opts.batch ?? 4096;
  const shapes = opts.shapes ?? [[624, 1024], [1024, 512], [512, 256]];
  const reps = opts.reps ?? 7;
  const all = availableParallelism();
  const threadList = opts.threads ?? (all > 1 ? [1, all] : [1]);
  const rows: BenchGemmRow[] = [];
  const variants = opts.wasm === false ? [] : opts.compareFma === false ? [true] : [true, false];
  for (const fma of variants) {
    for (const threads of threadList) {
      const be = await createWasmBackend({ threads, fma });
      if (!fma && rows.some((r) => r.backend === be.name)) {
        be.dispose();
        continue; // FMA build unsupported: the "fma" run already used the plain build
      }
      for (const [inDim, outDim] of shapes) for (const f of forms(batch, inDim, outDim)) rows.push(time(be, f, reps, 2));
      be.dispose();
    }
  }
  const blas = opts.blas === false ? undefined : blasInfo();
  if (blas) {
    for (const threads of threadList) {
      const be = await createBlasBackend({ threads });
      for (const [inDim, outDim] of shapes) {
        for (const f of forms(batch, inDim, outDim)) rows.push({ ...time(be, f, reps, 2), backend: `blas-${blas.corename}` });
      }
      be.dispose();
    }
  }
  if (!opts.skipJs) {
    const js = createJsBackend();
    for (const [inDim, outDim] of shapes) for (const f of forms(batch, inDim, outDim)) rows.push(time(js, f, opts.jsReps ?? 2, 0));
  }
  return rows;
}
