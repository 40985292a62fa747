// Embedding-side kernels of the wasm backend (assembly/sparse.ts): tables created with a backend
// that has them place their big arrays in the shared memory (alloc) and pass byte offsets (ptr).
// The TypeScript kernels stay the reference: both produce identical codes, steps and state.

import type { WasmHeap } from './heap.js';
import type { KernelPool } from './pool.js';
import type { SplitKernel } from './shared.js';

export const OPT_SGD = 0;
export const OPT_ADAGRAD = 1;
export const OPT_ROWWISE = 2;
export const OPT_ADAM = 3;

export interface SparseExports {
  gatherQuant(codes: number, rb: number, bits: number, dim: number, steps: number, rows: number, count: number, out: number): void;
  gatherF32(weights: number, dim: number, rows: number, count: number, out: number): void;
  updateF32(
    weights: number, dim: number, rows: number, count: number, grads: number,
    kind: number, m: number, v: number, rate: number, c1: number, c2: number, eps: number,
  ): void;
  updateQuant(
    codes: number, rb: number, bits: number, dim: number, steps: number, rows: number, count: number, grads: number,
    kind: number, m: number, v: number, rate: number, c1: number, c2: number, eps: number,
    stochastic: number, rseed: number, step: number, buf: number,
  ): void;
  stageQuant(
    codes: number, rb: number, bits: number, dim: number, steps: number, rows: number, count: number, grads: number,
    kind: number, m: number, v: number, rate: number, c1: number, c2: number, eps: number,
    stagedW: number, stagedRows: number,
  ): void;
  writeBackQuant(
    stagedW: number, stagedRows: number, count: number, codes: number, rb: number, bits: number, dim: number,
    steps: number, stochastic: number, rseed: number, step: number,
  ): void;
  fakeQuantStaged(stagedW: number, stagedRows: number, count: number, dim: number, steps: number, lo: number, hi: number, out: number): void;
  stepsStaged(
    stagedW: number, stagedRows: number, count: number, dim: number, dq: number, steps: number, lo: number, hi: number,
    gscale: number, adam: number, sm: number, sv: number, lr: number, a: number, c1: number, c2: number, eps: number,
  ): void;
  stepsWriteBackStaged(
    stagedW: number, stagedRows: number, count: number, dim: number, dq: number, steps: number, lo: number, hi: number,
    gscale: number, adam: number, sm: number, sv: number, lr: number, a: number, c1: number, c2: number, eps: number,
    codes: number, rb: number, bits: number, stochastic: number, rseed: number, step: number,
  ): void;
  updateLearnQuant(
    codes: number, rb: number, bits: number, dim: number, steps: number, rows: number, count: number, grads: number,
    kind: number, m: number, v: number, rate: number, c1: number, c2: number, eps: number,
    lo: number, hi: number, gscale: number, adam: number, sm: number, sv: number, slr: number, sa: number, sc1: number,
    sc2: number, seps: number, stochastic: number, rseed: number, step: number, buf: number,
  ): void;
  expandRows(v: number, inv: number, slots: number, dim: number, x: number): void;
  scatterRows(dx: number, inv: number, slots: number, dim: number, g: number, count: number): void;
  roundingRowKey(rseed: number, step: number, row: number): number;
  prepareRows(ids: number, slots: number, nRows: number, table: number, capLog2: number, rows: number, inverse: number): number;
  // init (assembly/init.ts): rows [rowPlus1 - 1, + count) of the table whose init key is tableKey
  initAbsSums(tableKey: number, dim: number, std: number, rowPlus1: number, count: number, sums: number, buf: number): void;
  initQuant(
    tableKey: number, dim: number, std: number, rowPlus1: number, count: number, codes: number, rb: number, bits: number,
    step: number, rseed: number, buf: number,
  ): void;
  initF32(tableKey: number, dim: number, std: number, rowPlus1: number, count: number, out: number): void;
}

export type ArrayCtor<T> = new (n: number) => T;

export interface SparseKernels {
  readonly ex: SparseExports;
  /** A zero-filled typed array of n elements inside the wasm memory (lives as long as the backend). */
  alloc<T extends ArrayBufferView>(ctor: ArrayCtor<T>, n: number, what: string): T;
  /** Byte offset of the array in the wasm memory, or -1 if it lives elsewhere. */
  ptr(a: ArrayBufferView | null | undefined): number;
  /** A transient f64 array in the wasm memory (one reusable region: valid until the next call). */
  scratchF64(n: number): Float64Array;
}

// The per-row kernels split across the pool by ranges of the rows they visit: row i of a call
// only touches its own staged/gradient/output rows and table row rows[i], and rows in one call are
// distinct (packed rows start on byte boundaries), so threads never write the same bytes.
// [argument index, moved by 4 bytes (an i32/f32 per row), by dim f32 per row, by 1 per row (a row
// number), or by as many bytes per row as argument n says ({ bytesArg: n })].
type Moves = [number, 'one' | 'dim' | 'row' | { bytesArg: number }][];
const ROW_SPLITS: Partial<Record<keyof SparseExports & SplitKernel, { countArg: number; dimArg: number; moves: Moves; scratchArg?: number; unit?: number }>> = {
  gatherQuant: { countArg: 6, dimArg: 3, moves: [[5, 'one'], [7, 'dim']] },
  gatherF32: { countArg: 3, dimArg: 1, moves: [[2, 'one'], [4, 'dim']] },
  updateF32: { countArg: 3, dimArg: 1, moves: [[2, 'one'], [4, 'dim']] },
  updateQuant: { countArg: 6, dimArg: 3, moves: [[5, 'one'], [7, 'dim']], scratchArg: 18 },
  stageQuant: { countArg: 6, dimArg: 3, moves: [[5, 'one'], [7, 'dim'], [15, 'dim'], [16, 'one']] },
  writeBackQuant: { countArg: 2, dimArg: 6, moves: [[0, 'dim'], [1, 'one']] },
  fakeQuantStaged: { countArg: 2, dimArg: 3, moves: [[0, 'dim'], [1, 'one'], [7, 'dim']] },
  stepsStaged: { countArg: 2, dimArg: 3, moves: [[0, 'dim'], [1, 'one'], [4, 'dim']] },
  stepsWriteBackStaged: { countArg: 2, dimArg: 3, moves: [[0, 'dim'], [1, 'one'], [4, 'dim']] },
  updateLearnQuant: { countArg: 6, dimArg: 3, moves: [[5, 'one'], [7, 'dim']], scratchArg: 29 },
  expandRows: { countArg: 2, dimArg: 3, moves: [[1, 'one'], [4, 'dim']] },
  // init: slices of whole pass-1 blocks (INIT_BLOCK_ROWS), each writing its own block sums
  initAbsSums: { countArg: 4, dimArg: 1, moves: [[3, 'row']], scratchArg: 6, unit: 4096 },
  initQuant: { countArg: 4, dimArg: 1, moves: [[3, 'row'], [5, { bytesArg: 6 }]], scratchArg: 10 },
  initF32: { countArg: 4, dimArg: 1, moves: [[3, 'row'], [5, 'dim']] },
};
const ROW_UNIT = 16;

function splitExports(ex: SparseExports, pool: KernelPool): SparseExports {
  const out: Record<string, unknown> = { ...ex };
  for (const [name, spec] of Object.entries(ROW_SPLITS)) {
    out[name] = (...args: number[]): void => {
      const dim = args[spec.dimArg];
      const strides = new Array<number>(args.length).fill(0);
      for (const [i, kind] of spec.moves) {
        strides[i] = kind === 'one' ? 4 : kind === 'dim' ? 4 * dim : kind === 'row' ? 1 : args[kind.bytesArg];
      }
      pool.split(name as SplitKernel, args, {
        total: args[spec.countArg], unit: spec.unit ?? ROW_UNIT, work: dim, countArg: spec.countArg, strides, scratchArg: spec.scratchArg,
      });
    };
  }
  return out as unknown as SparseExports;
}

export function createSparseKernels(ex: SparseExports, heap: WasmHeap, pool?: KernelPool): SparseKernels {
  return {
    ex: pool ? splitExports(ex, pool) : ex,
    alloc<T extends ArrayBufferView>(ctor: ArrayCtor<T>, n: number, what: string): T {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: invalid length ${n}`);
      const bpe = (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      let ptr: number;
      try {
        ptr = heap.reserve(Math.max(n * bpe, 1));
      } catch (e) {
        throw new RangeError(`${what}: cannot place ${(n * bpe / 2 ** 20).toFixed(1)} MiB in WebAssembly memory: ${(e as Error).message}`);
      }
      const C = ctor as unknown as new (b: ArrayBufferLike, off: number, len: number) => T;
      return new C(heap.memory.buffer, ptr, n);
    },
    ptr(a) {
      return a ? heap.ptrOf(a) : -1;
    },
    scratchF64(n: number): Float64Array {
      const ptr = heap.stage(Math.max(n * 8, 8));
      return new Float64Array(heap.memory.buffer, ptr, n);
    },
  };
}

/** Byte offsets of all arrays, or null if any is outside the memory. */
export function ptrsOf(k: SparseKernels, ...arrays: (ArrayBufferView | null)[]): number[] | null {
  const out: number[] = [];
  for (const a of arrays) {
    if (a === null) {
      out.push(0);
      continue;
    }
    const p = k.ptr(a);
    if (p < 0) return null;
    out.push(p);
  }
  return out;
}
