// Full-precision baseline table: fp32 weights + sparse optimizer state.
import type { EmbeddingTable, MemoryReport, SparseOptimizerConfig } from './table.js';
import { SparseOptimizer } from './sparse-optimizer.js';
import { allocArray, loadInto, memoryReport } from './memory.js';
import { DEFAULT_INIT_STD, drawRow, initRng } from './init.js';

export interface Fp32TableOptions {
  rows: number;
  dim: number;
  seed: number;
  /** Distinguishes tables under one seed (init and rounding streams). Default 0. */
  tableId?: number;
  initStd?: number;
  optimizer: SparseOptimizerConfig;
}

export class Fp32Table implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly weights: Float32Array;
  readonly opt: SparseOptimizer;

  constructor(o: Fp32TableOptions) {
    this.rows = o.rows;
    this.dim = o.dim;
    this.weights = allocArray(Float32Array, o.rows * o.dim, 'fp32 embedding weights');
    this.opt = new SparseOptimizer(o.optimizer, o.rows, o.dim);
    drawRow(initRng(o.seed, o.tableId ?? 0), o.initStd ?? DEFAULT_INIT_STD, this.weights, 0, o.rows * o.dim);
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    const d = this.dim;
    const w = this.weights;
    for (let i = 0; i < count; i++) {
      const o = rows[i] * d;
      const p = i * d;
      for (let j = 0; j < d; j++) out[p + j] = w[o + j]; // no subarray views: no per-row allocation
    }
  }

  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    const d = this.dim;
    this.opt.begin(step);
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      this.opt.updateRow(this.weights, r * d, grads, i * d, r);
    }
  }

  setLearningRate(lr: number): void {
    this.opt.lr = lr;
  }

  memory(): MemoryReport {
    return memoryReport(this.rows, this.dim, { codes: this.weights.byteLength, optimizerState: this.opt.bytes() });
  }

  state(): Record<string, ArrayBufferView> {
    return { weights: this.weights, ...this.opt.state('opt.') };
  }

  load(state: Record<string, ArrayBufferView>): void {
    loadInto(state, 'weights', this.weights);
    this.opt.load(state, 'opt.');
  }
}
