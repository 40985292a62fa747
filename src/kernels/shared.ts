// What the main thread and the workers agree on: the control block layout, the job parameter
// layout, and how one thread runs its share of a job (both blocks live in SharedArrayBuffers
// handed to every worker).
//
// A job is either a GEMM (each thread computes a rectangle of C) or a split kernel: one export of
// the kernel module called on a slice [lo, hi) of a range (rows, columns or elements). The slice
// is expressed through the arguments: every argument with a stride s becomes arg + lo·s (pointers
// move to the slice; a 0 pointer stays 0), the count argument becomes hi − lo, and the scratch
// argument (if any) becomes the thread's own scratch.

export interface KernelExports {
  heapBase(): number;
  scratchBytes(): number;
  gemm(
    transA: number, transB: number, m: number, n: number, k: number,
    alpha: number, a: number, b: number, beta: number, c: number, bias: number,
    i0: number, i1: number, j0: number, j1: number, scratch: number,
  ): void;
}

/** Exports that split jobs may call, by index (the job's kind is 1 + index; 0 is GEMM). */
export const SPLIT_KERNELS = [
  'colSums', 'bnForward', 'bnBackward', 'reluForward', 'reluBackward', 'crossForward', 'crossBackwardRows',
  'crossBackwardCols', 'addInto', 'scaleInPlace', 'adam', 'copyBlock',
  'gatherQuant', 'gatherF32', 'updateF32', 'updateQuant', 'stageQuant', 'writeBackQuant', 'fakeQuantStaged',
  'stepsStaged', 'stepsWriteBackStaged', 'updateLearnQuant', 'expandRows', 'initAbsSums', 'initQuant', 'initF32',
] as const;
export type SplitKernel = (typeof SPLIT_KERNELS)[number];
export const JOB_GEMM = 0;

/** Int32 control block: job generation, quit flag, then one done slot and one error slot per thread. */
export const GEN = 0;
export const QUIT = 1;
export const DONE = 2;
export const ctlLength = (threads: number): number => DONE + 2 * threads;
export const errSlot = (threads: number, t: number): number => DONE + threads + t;

/**
 * Float64 job parameters: [kind, nargs, countArg, scratchArg], MAX_ARGS arguments, MAX_ARGS
 * strides, then [i0, i1, j0, j1, scratch] per thread (split jobs use [i0, i1) as [lo, hi)).
 */
export const MAX_ARGS = 32;
const HEAD = 4;
const ARGS = HEAD;
const STRIDES = ARGS + MAX_ARGS;
const COMMON = STRIDES + MAX_ARGS;
const PER_THREAD = 5;
export const paramsLength = (threads: number): number => COMMON + PER_THREAD * threads;

export function setThreadRange(p: Float64Array, t: number, i0: number, i1: number, j0: number, j1: number): void {
  const o = COMMON + PER_THREAD * t;
  p[o] = i0; p[o + 1] = i1; p[o + 2] = j0; p[o + 3] = j1;
}

export function setThreadScratch(p: Float64Array, t: number, scratch: number): void {
  p[COMMON + PER_THREAD * t + 4] = scratch;
}

/** Describes a GEMM job (ranges are set per thread). */
export function setGemmJob(
  p: Float64Array, transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: number, b: number, beta: number, c: number, bias: number,
): void {
  p[0] = JOB_GEMM;
  p[ARGS] = transA ? 1 : 0; p[ARGS + 1] = transB ? 1 : 0;
  p[ARGS + 2] = m; p[ARGS + 3] = n; p[ARGS + 4] = k;
  p[ARGS + 5] = alpha; p[ARGS + 6] = a; p[ARGS + 7] = b;
  p[ARGS + 8] = beta; p[ARGS + 9] = c; p[ARGS + 10] = bias;
}

/** Describes a split job: kernel, arguments, per-unit byte strides, which argument is the count. */
export function setSplitJob(
  p: Float64Array, kernel: number, args: ArrayLike<number>, strides: ArrayLike<number>, countArg: number, scratchArg: number,
): void {
  if (args.length > MAX_ARGS) throw new RangeError(`split job: ${args.length} arguments, at most ${MAX_ARGS}`);
  p[0] = 1 + kernel;
  p[1] = args.length;
  p[2] = countArg;
  p[3] = scratchArg;
  for (let i = 0; i < args.length; i++) {
    p[ARGS + i] = args[i];
    p[STRIDES + i] = strides[i] ?? 0;
  }
}

type AnyKernel = (...args: number[]) => unknown;

/** Runs thread t's share of the job currently described in p. */
export function runShare(ex: KernelExports, p: Float64Array, t: number, argBuf: number[] = []): void {
  const o = COMMON + PER_THREAD * t;
  if (p[o] >= p[o + 1]) return;
  const kind = p[0];
  if (kind === JOB_GEMM) {
    if (p[o + 2] >= p[o + 3]) return;
    const a = ARGS;
    ex.gemm(p[a], p[a + 1], p[a + 2], p[a + 3], p[a + 4], p[a + 5], p[a + 6], p[a + 7], p[a + 8], p[a + 9], p[a + 10],
      p[o], p[o + 1], p[o + 2], p[o + 3], p[o + 4]);
    return;
  }
  const fn = (ex as unknown as Record<string, AnyKernel>)[SPLIT_KERNELS[kind - 1]];
  const lo = p[o];
  const n = p[1];
  argBuf.length = n;
  for (let i = 0; i < n; i++) {
    const v = p[ARGS + i];
    const s = p[STRIDES + i];
    argBuf[i] = s !== 0 && v !== 0 ? v + lo * s : v;
  }
  argBuf[p[2]] = p[o + 1] - lo;
  if (p[3] >= 0) argBuf[p[3]] = p[o + 4];
  fn.apply(null, argBuf);
}
