// Full-precision baseline table: fp32 weights + sparse optimizer state.
import type { EmbeddingTable, MemoryReport, TableInitOptions } from './table.js';
import { SparseOptimizer } from './sparse-optimizer.js';
import { allocatorOf, loadInto, memoryReport, type Allocator } from './memory.js';
import { ptrsOf, type SparseKernels } from '../kernels/sparse.js';
import { DEFAULT_INIT_STD, drawRows, initTableKey } from './init.js';

export interface Fp32TableOptions extends TableInitOptions {
  /** The wasm backend's embedding kernels: weights and optimizer state then live in its memory. */
  kernels?: SparseKernels;
}

export class Fp32Table implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly weights: Float32Array;
  readonly opt: SparseOptimizer;
  private readonly k: SparseKernels | null;
  private readonly alloc: Allocator;
  /** Byte offsets of weights, opt m, opt v (wasm path), or null. */
  private readonly p: number[] | null;

  constructor(o: Fp32TableOptions) {
    this.rows = o.rows;
    this.dim = o.dim;
    this.k = o.kernels ?? null;
    const alloc = this.alloc = allocatorOf(this.k);
    this.weights = alloc(Float32Array, o.rows * o.dim, 'fp32 embedding weights');
    this.opt = new SparseOptimizer(o.optimizer, o.rows, o.dim, alloc);
    this.p = this.k ? ptrsOf(this.k, this.weights, this.opt.m, this.opt.v) : null;
    const key = initTableKey(o.seed, o.tableId ?? 0), std = o.initStd ?? DEFAULT_INIT_STD;
    // on the wasm kernels the rows are drawn on all threads (the init is a pure function of the row)
    if (this.p !== null && o.rows > 0) this.k!.ex.initF32(key, o.dim, std, 1, o.rows, this.p[0]);
    else drawRows(key, 0, o.rows, o.dim, std, this.weights);
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    const d = this.dim;
    const w = this.weights;
    const q = this.p !== null && count > 0 ? ptrsOf(this.k!, rows, out) : null;
    if (q !== null) {
      this.k!.ex.gatherF32(this.p![0], d, q[0], count, q[1]);
      return;
    }
    for (let i = 0; i < count; i++) {
      const o = rows[i] * d;
      const p = i * d;
      for (let j = 0; j < d; j++) out[p + j] = w[o + j]; // no subarray views: no per-row allocation
    }
  }

  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    const d = this.dim;
    this.opt.begin(step);
    const p = this.p;
    const q = p !== null && count > 0 ? ptrsOf(this.k!, rows, grads) : null;
    if (q !== null) {
      const o = this.opt;
      this.k!.ex.updateF32(p![0], d, q[0], count, q[1], o.kind, p![1], p![2], o.rate, 1 - o.beta1, 1 - o.beta2, o.eps);
      return;
    }
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      this.opt.updateRow(this.weights, r * d, grads, i * d, r);
    }
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
