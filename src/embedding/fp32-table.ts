// Full-precision baseline table: fp32 weights + sparse optimizer state.
import type { EmbeddingTable, MemoryReport, TableInitOptions } from './table.js';
import { SparseOptimizer } from './sparse-optimizer.js';
import { allocatorOf, loadInto, memoryReport, type Allocator } from './memory.js';
import type { SparseKernels } from '../kernels/sparse.js';
import { tableKernelsFor, type Fp32TableArrays, type TableKernels } from '../kernels/table-kernels.js';
import { DEFAULT_INIT_STD, drawRows, initTableKey } from './init.js';

export interface Fp32TableOptions extends TableInitOptions {
  /** The wasm backend's embedding kernels: weights and optimizer state then live in its memory. */
  kernels?: SparseKernels;
}

export class Fp32Table implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  /** The first (global) row held: 0, or the start of this shard. */
  readonly firstRow: number;
  readonly weights: Float32Array;
  readonly opt: SparseOptimizer;
  /** The kernels this table runs (WebAssembly when all its arrays are in the wasm memory). */
  readonly kernels: TableKernels;
  private readonly alloc: Allocator;
  private readonly arrays: Fp32TableArrays;

  constructor(o: Fp32TableOptions) {
    this.rows = o.rows;
    this.dim = o.dim;
    this.firstRow = o.firstRow ?? 0;
    const alloc = this.alloc = allocatorOf(o.kernels);
    this.weights = alloc(Float32Array, o.rows * o.dim, 'fp32 embedding weights');
    this.opt = new SparseOptimizer(o.optimizer, o.rows, o.dim, alloc);
    this.arrays = { weights: this.weights, dim: this.dim, firstRow: this.firstRow };
    this.kernels = tableKernelsFor(o.kernels, [this.weights, this.opt.m, this.opt.v]);
    const key = initTableKey(o.seed, o.tableId ?? 0), std = o.initStd ?? DEFAULT_INIT_STD;
    // in wasm memory the rows are drawn on all threads (the init is a pure function of the row)
    const wp = o.kernels ? o.kernels.ptr(this.weights) : -1;
    if (o.init === false) return; // load() fills the weights
    if (wp >= 0 && o.rows > 0) o.kernels!.ex.initF32(key, o.dim, std, this.firstRow + 1, o.rows, wp);
    else drawRows(key, this.firstRow, o.rows, o.dim, std, this.weights);
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    this.kernels.gatherFp32({ table: this.arrays, rows, count, out });
  }

  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    this.opt.begin(step);
    this.kernels.updateFp32({ table: this.arrays, rows, count, grads, opt: this.opt });
  }

  setLearningRate(lr: number): void {
    this.opt.lr = lr;
  }

  memory(): MemoryReport {
    return memoryReport(this.rows, this.dim, {
      codes: this.weights.byteLength, optimizerState: this.opt.bytes(), fallbacks: this.alloc.fallbacks,
    });
  }

  state(): Record<string, ArrayBufferView> {
    return { weights: this.weights, ...this.opt.state('opt.') };
  }

  load(state: Record<string, ArrayBufferView>): void {
    loadInto(state, 'weights', this.weights);
    this.opt.load(state, 'opt.');
  }
}
