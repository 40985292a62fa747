// Embedding-side kernels of the wasm backend (assembly/sparse.ts): tables created with a backend
// that has them place their big arrays in the shared memory (alloc). Tables do not call these
// exports: they call the TableKernels interface (table-kernels.ts), whose WebAssembly
// implementation resolves byte offsets (ptr) and calls the exports below; the TypeScript
// implementation stays the reference (identical codes, step sizes and state).

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
  /** Bytes of the memory in use (everything allocated so far). */
  used(): number;
}

/**
 * Parameter names of every export, in the order assembly/sparse.ts declares them. The thread split
 * below and the WebAssembly table kernels (table-kernels-wasm.ts) refer to arguments by these
 * names; createSparseKernels checks each export's arity against its list.
 */
export const SPARSE_PARAMS = {
  gatherQuant: ['codes', 'rb', 'bits', 'dim', 'steps', 'rows', 'count', 'out'],
  gatherF32: ['weights', 'dim', 'rows', 'count', 'out'],
  updateF32: ['weights', 'dim', 'rows', 'count', 'grads', 'kind', 'm', 'v', 'rate', 'c1', 'c2', 'eps'],
  updateQuant: [
    'codes', 'rb', 'bits', 'dim', 'steps', 'rows', 'count', 'grads', 'kind', 'm', 'v', 'rate', 'c1', 'c2', 'eps',
    'stochastic', 'rseed', 'step', 'buf',
  ],
  stageQuant: [
    'codes', 'rb', 'bits', 'dim', 'steps', 'rows', 'count', 'grads', 'kind', 'm', 'v', 'rate', 'c1', 'c2', 'eps',
    'stagedW', 'stagedRows',
  ],
  writeBackQuant: ['stagedW', 'stagedRows', 'count', 'codes', 'rb', 'bits', 'dim', 'steps', 'stochastic', 'rseed', 'step'],
  fakeQuantStaged: ['stagedW', 'stagedRows', 'count', 'dim', 'steps', 'lo', 'hi', 'out'],
  stepsStaged: [
    'stagedW', 'stagedRows', 'count', 'dim', 'dq', 'steps', 'lo', 'hi', 'gscale', 'adam', 'sm', 'sv', 'lr', 'a', 'c1', 'c2', 'eps',
  ],
  stepsWriteBackStaged: [
    'stagedW', 'stagedRows', 'count', 'dim', 'dq', 'steps', 'lo', 'hi', 'gscale', 'adam', 'sm', 'sv', 'lr', 'a', 'c1', 'c2', 'eps',
    'codes', 'rb', 'bits', 'stochastic', 'rseed', 'step',
  ],
  updateLearnQuant: [
    'codes', 'rb', 'bits', 'dim', 'steps', 'rows', 'count', 'grads', 'kind', 'm', 'v', 'rate', 'c1', 'c2', 'eps',
    'lo', 'hi', 'gscale', 'adam', 'sm', 'sv', 'slr', 'sa', 'sc1', 'sc2', 'seps', 'stochastic', 'rseed', 'step', 'buf',
  ],
  expandRows: ['v', 'inv', 'slots', 'dim', 'x'],
  scatterRows: ['dx', 'inv', 'slots', 'dim', 'g', 'count'],
  roundingRowKey: ['rseed', 'step', 'row'],
  prepareRows: ['ids', 'slots', 'nRows', 'table', 'capLog2', 'rows', 'inverse'],
  initAbsSums: ['tableKey', 'dim', 'std', 'rowPlus1', 'count', 'sums', 'buf'],
  initQuant: ['tableKey', 'dim', 'std', 'rowPlus1', 'count', 'codes', 'rb', 'bits', 'step', 'rseed', 'buf'],
  initF32: ['tableKey', 'dim', 'std', 'rowPlus1', 'count', 'out'],
} as const satisfies { [K in keyof SparseExports]: readonly string[] };

type ParamOf<K extends keyof SparseExports> = (typeof SPARSE_PARAMS)[K][number];

/**
 * How a per-row kernel is split across the pool, by parameter name: `count` is replaced by each
 * slice's length, `perRow` pointers move by 4 bytes (an i32/f32) per row, `perRowDim` pointers by
 * `dim` f32 per row, and `scratch` becomes the thread's own scratch.
 */
interface RowSplit<P extends string> {
  count: P;
  dim: P;
  perRow: readonly P[];
  perRowDim: readonly P[];
  scratch?: P;
  /** A row number (never 0: a 0 argument is not moved) that moves by 1 per row. */
  rowNumber?: P;
  /** [pointer, parameter holding its bytes per row]. */
  perRowBytes?: readonly (readonly [P, P])[];
  /** Slices are multiples of this many rows (default ROW_UNIT). */
  unit?: number;
}

// The per-row kernels split across the pool by ranges of the rows they visit: row i of a call
// only touches its own staged/gradient/output rows and table row rows[i], and rows in one call are
// distinct (packed rows start on byte boundaries), so threads never write the same bytes.
const ROW_SPLITS: { [K in keyof SparseExports & SplitKernel]?: RowSplit<ParamOf<K>> } = {
  gatherQuant: { count: 'count', dim: 'dim', perRow: ['rows'], perRowDim: ['out'] },
  gatherF32: { count: 'count', dim: 'dim', perRow: ['rows'], perRowDim: ['out'] },
  updateF32: { count: 'count', dim: 'dim', perRow: ['rows'], perRowDim: ['grads'] },
  updateQuant: { count: 'count', dim: 'dim', perRow: ['rows'], perRowDim: ['grads'], scratch: 'buf' },
  stageQuant: { count: 'count', dim: 'dim', perRow: ['rows', 'stagedRows'], perRowDim: ['grads', 'stagedW'] },
  writeBackQuant: { count: 'count', dim: 'dim', perRow: ['stagedRows'], perRowDim: ['stagedW'] },
  fakeQuantStaged: { count: 'count', dim: 'dim', perRow: ['stagedRows'], perRowDim: ['stagedW', 'out'] },
  stepsStaged: { count: 'count', dim: 'dim', perRow: ['stagedRows'], perRowDim: ['stagedW', 'dq'] },
  stepsWriteBackStaged: { count: 'count', dim: 'dim', perRow: ['stagedRows'], perRowDim: ['stagedW', 'dq'] },
  updateLearnQuant: { count: 'count', dim: 'dim', perRow: ['rows'], perRowDim: ['grads'], scratch: 'buf' },
  expandRows: { count: 'slots', dim: 'dim', perRow: ['inv'], perRowDim: ['x'] },
  // init: a row number moves by 1 per row (rowPlus1), packed codes by rb bytes; pass 1 is split in
  // whole blocks of INIT_BLOCK_ROWS, each slice writing its own block sums
  initAbsSums: { count: 'count', dim: 'dim', perRow: [], perRowDim: [], rowNumber: 'rowPlus1', scratch: 'buf', unit: 4096 },
  initQuant: { count: 'count', dim: 'dim', perRow: [], perRowDim: [], rowNumber: 'rowPlus1', perRowBytes: [['codes', 'rb']], scratch: 'buf' },
  initF32: { count: 'count', dim: 'dim', perRow: [], perRowDim: ['out'], rowNumber: 'rowPlus1' },
};
const ROW_UNIT = 16;

/** Index of parameter `name` of export `kernel`. */
export function paramIndex<K extends keyof SparseExports>(kernel: K, name: ParamOf<K>): number {
  const i = (SPARSE_PARAMS[kernel] as readonly string[]).indexOf(name);
  if (i < 0) throw new Error(`${kernel} has no parameter '${name}'`);
  return i;
}

function splitExports(ex: SparseExports, pool: KernelPool): SparseExports {
  const out: Record<string, unknown> = { ...ex };
  for (const [name, spec] of Object.entries(ROW_SPLITS) as [keyof SparseExports & SplitKernel, RowSplit<string>][]) {
    const at = (p: string): number => paramIndex(name, p as never);
    const countArg = at(spec.count);
    const dimArg = at(spec.dim);
    const one = spec.perRow.map(at);
    const byDim = spec.perRowDim.map(at);
    const scratchArg = spec.scratch !== undefined ? at(spec.scratch) : undefined;
    const rowArg = spec.rowNumber !== undefined ? at(spec.rowNumber) : undefined;
    const byBytes = (spec.perRowBytes ?? []).map(([p, n]) => [at(p), at(n)] as const);
    const nargs = SPARSE_PARAMS[name].length;
    out[name] = (...args: number[]): void => {
      const dim = args[dimArg];
      const strides = new Array<number>(nargs).fill(0);
      for (const i of one) strides[i] = 4;
      for (const i of byDim) strides[i] = 4 * dim;
      if (rowArg !== undefined) strides[rowArg] = 1;
      for (const [i, n] of byBytes) strides[i] = args[n];
      pool.split(name, args, { total: args[countArg], unit: spec.unit ?? ROW_UNIT, work: dim, countArg, strides, scratchArg });
    };
  }
  return out as unknown as SparseExports;
}

export function createSparseKernels(ex: SparseExports, heap: WasmHeap, pool?: KernelPool): SparseKernels {
  for (const [name, params] of Object.entries(SPARSE_PARAMS)) {
    const fn = (ex as unknown as Record<string, (...a: number[]) => unknown>)[name];
    if (typeof fn !== 'function' || fn.length !== params.length) {
      throw new Error(`wasm export ${name}: expected ${params.length} parameters (${params.join(', ')}), found ${fn?.length}`);
    }
  }
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
    used: () => heap.used,
    scratchF64(n: number): Float64Array {
      const ptr = heap.stage(Math.max(n * 8, 8));
      return new Float64Array(heap.memory.buffer, ptr, n);
    },
  };
}
