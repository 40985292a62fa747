// The main thread's side of the worker pool: posts a job through the shared control block
// (Atomics.notify), computes its own share, then waits for the workers' shares. Jobs are
// synchronous, so callers see plain function calls.

import {
  DONE, errSlot, GEN, runShare, setGemmJob, setSplitJob, setThreadRange, SPLIT_KERNELS,
  type KernelExports, type SplitKernel,
} from './shared.js';

// Below this much work (multiply-adds for GEMM, element visits for split kernels) the wake-up and
// sync cost (a few microseconds) outweighs the second core.
const GEMM_PARALLEL_MIN = 2e5;
const SPLIT_PARALLEL_MIN = 1 << 15;
const MR = 2;
const NR = 16;

/** How a split kernel's call is cut into slices: see shared.ts. */
export interface Split {
  /** Length of the range (rows, columns or elements) being split. */
  total: number;
  /** Slices are whole multiples of this many units (16 columns = one cache line of f32). */
  unit: number;
  /** Work per unit (elements touched), for the serial/parallel decision. */
  work: number;
  /** Index of the count argument (replaced by the slice length). */
  countArg: number;
  /** Byte stride per unit of each argument (0: not moved). */
  strides: ArrayLike<number>;
  /** Index of an argument to replace by the thread's own scratch, or −1. */
  scratchArg?: number;
}

export class KernelPool {
  private readonly argBuf: number[] = [];
  private readonly kernelIndex = new Map<string, number>(SPLIT_KERNELS.map((k, i) => [k, i]));

  constructor(
    private readonly ex: KernelExports,
    readonly threads: number,
    private readonly ctl: Int32Array,
    private readonly params: Float64Array,
  ) {}

  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    alpha: number, a: number, b: number, beta: number, c: number, bias: number,
  ): void {
    setGemmJob(this.params, transA, transB, m, n, k, alpha, a, b, beta, c, bias);
    const T = this.threads > 1 && m * n * k >= GEMM_PARALLEL_MIN ? this.threads : 1;
    // Split the longer side of C; chunks are whole micro-tiles so tiles never straddle threads.
    const byRows = m >= n;
    const unit = byRows ? MR : NR;
    const len = byRows ? m : n;
    const chunk = Math.ceil(len / T / unit) * unit;
    for (let t = 0; t < this.threads; t++) {
      const lo = Math.min(len, t * chunk);
      const hi = t < T ? Math.min(len, lo + chunk) : lo;
      if (byRows) setThreadRange(this.params, t, lo, hi, 0, n);
      else setThreadRange(this.params, t, 0, m, lo, hi);
    }
    this.execute(T);
  }

  /** Calls the kernel on slices of split.total across the threads (one slice when the work is small). */
  split(kernel: SplitKernel, args: ArrayLike<number>, split: Split): void {
    const { total, unit } = split;
    if (total <= 0) return;
    setSplitJob(this.params, this.kernelIndex.get(kernel)!, args, split.strides, split.countArg, split.scratchArg ?? -1);
    const T = this.threads > 1 && total > unit && total * split.work >= SPLIT_PARALLEL_MIN ? this.threads : 1;
    const chunk = Math.ceil(total / T / unit) * unit;
    for (let t = 0; t < this.threads; t++) {
      const lo = Math.min(total, t * chunk);
      const hi = t < T ? Math.min(total, lo + chunk) : lo;
      setThreadRange(this.params, t, lo, hi, 0, 1);
    }
    this.execute(T);
  }

  private execute(T: number): void {
    const { ctl, ex, params } = this;
    if (T === 1) {
      runShare(ex, params, 0, this.argBuf);
      return;
    }
    const gen = (Atomics.load(ctl, GEN) + 1) | 0;
    Atomics.store(ctl, GEN, gen);
    Atomics.notify(ctl, GEN);
    let failed: unknown = null;
    try {
      runShare(ex, params, 0, this.argBuf);
    } catch (err) {
      failed = err;
    }
    // Always wait for every worker: returning early would let the next job overwrite the params.
    for (let t = 1; t < this.threads; t++) {
      let v = Atomics.load(ctl, DONE + t);
      for (let s = 0; v !== gen && s < 20000; s++) v = Atomics.load(ctl, DONE + t);
      while (v !== gen) {
        Atomics.wait(ctl, DONE + t, v);
        v = Atomics.load(ctl, DONE + t);
      }
      if (Atomics.exchange(ctl, errSlot(this.threads, t), 0) && failed === null) {
        failed = new Error(`kernel ${params[0] === 0 ? 'gemm' : SPLIT_KERNELS[params[0] - 1]} failed in worker thread ${t}`);
      }
    }
    if (failed !== null) throw failed;
  }
}
