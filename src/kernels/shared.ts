// What the main thread and the GEMM workers agree on: the wasm exports, the control block layout
// and the job parameter layout (both live in SharedArrayBuffers handed to every worker).

export interface KernelExports {
  heapBase(): number;
  scratchBytes(): number;
  gemm(
    transA: number, transB: number, m: number, n: number, k: number,
    alpha: number, a: number, b: number, beta: number, c: number, bias: number,
    i0: number, i1: number, j0: number, j1: number, scratch: number,
  ): void;
}

/** Int32 control block: job generation, quit flag, then one done slot and one error slot per thread. */
export const GEN = 0;
export const QUIT = 1;
export const DONE = 2;
export const ctlLength = (threads: number): number => DONE + 2 * threads;
export const errSlot = (threads: number, t: number): number => DONE + threads + t;

/** Float64 job parameters: 11 shared values, then [i0, i1, j0, j1, scratch] per thread. */
const COMMON = 11;
const PER_THREAD = 5;
export const paramsLength = (threads: number): number => COMMON + PER_THREAD * threads;

export function setThreadRange(p: Float64Array, t: number, i0: number, i1: number, j0: number, j1: number): void {
  const o = COMMON + PER_THREAD * t;
  p[o] = i0; p[o + 1] = i1; p[o + 2] = j0; p[o + 3] = j1;
}

export function setThreadScratch(p: Float64Array, t: number, scratch: number): void {
  p[COMMON + PER_THREAD * t + 4] = scratch;
}

/** Runs thread t's rectangle of the job currently described in p. */
export function runShare(ex: KernelExports, p: Float64Array, t: number): void {
  const o = COMMON + PER_THREAD * t;
  if (p[o] >= p[o + 1] || p[o + 2] >= p[o + 3]) return;
  ex.gemm(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[o], p[o + 1], p[o + 2], p[o + 3], p[o + 4]);
}
