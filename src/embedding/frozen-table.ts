// A trained table for inference: the packed codes and step sizes exactly as trained (or fp32
// weights), read-only. No optimizer state and no initialisation pass, so loading a model costs one
// copy of its bytes. gather runs the same kernels as training, so scores match training's bit for bit.
import type { EmbeddingTable, MemoryReport } from './table.js';
import { dequantizeRow, rowBytes } from '../quant/pack.js';
import { halfTable } from '../quant/fp16.js';
import { allocatorOf, loadInto, memoryReport } from './memory.js';
import { ptrsOf, type SparseKernels } from '../kernels/sparse.js';

export interface FrozenTableOptions {
  rows: number;
  dim: number;
  /** 1..8 for packed codes; 32 for fp32 weights. */
  bits: number;
  /** f16 steps are kept as their 16-bit patterns (the wasm gather reads them directly). */
  stepDtype?: 'f32' | 'f16';
  kernels?: SparseKernels | null;
}

export class FrozenTable implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly bits: number;
  readonly rowBytes: number;
  /** Packed codes (bits ≤ 8) or fp32 weights (bits 32). */
  readonly codes: Uint8Array | null;
  readonly weights: Float32Array | null;
  readonly steps: Float32Array | Uint16Array | null;
  private readonly k: SparseKernels | null;
  private readonly fallbacks: readonly string[];
  private readonly p: number[] | null;

  constructor(o: FrozenTableOptions) {
    this.rows = o.rows;
    this.dim = o.dim;
    this.bits = o.bits;
    this.k = o.kernels ?? null;
    const alloc = allocatorOf(this.k);
    this.fallbacks = alloc.fallbacks ?? [];
    if (o.bits === 32) {
      this.rowBytes = 4 * o.dim;
      this.weights = alloc(Float32Array, o.rows * o.dim, 'fp32 embedding weights');
      this.codes = null;
      this.steps = null;
      this.p = this.k ? ptrsOf(this.k, this.weights) : null;
    } else {
      this.rowBytes = rowBytes(o.dim, o.bits);
      this.codes = alloc(Uint8Array, o.rows * this.rowBytes, `${o.bits}-bit codes`);
      this.steps = o.stepDtype === 'f16' ? alloc(Uint16Array, o.rows, 'f16 step sizes') : alloc(Float32Array, o.rows, 'step sizes');
      this.weights = null;
      this.p = this.k ? ptrsOf(this.k, this.codes, this.steps) : null;
      // f16 steps: the kernels take the steps pointer + 1 (assembly/sparse.ts loadStep)
      if (this.p !== null && this.steps instanceof Uint16Array) this.p[1] += 1;
    }
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    const d = this.dim;
    const q = this.p !== null && count > 0 ? ptrsOf(this.k!, rows, out) : null;
    if (q !== null) {
      if (this.weights) this.k!.ex.gatherF32(this.p![0], d, q[0], count, q[1]);
      else this.k!.ex.gatherQuant(this.p![0], this.rowBytes, this.bits, d, this.p![1], q[0], count, q[1]);
      return;
    }
    if (this.weights) {
      const w = this.weights;
      for (let i = 0; i < count; i++) {
        const o = rows[i] * d;
        for (let j = 0; j < d; j++) out[i * d + j] = w[o + j];
      }
      return;
    }
    const steps = this.steps!;
    const half = steps instanceof Uint16Array ? halfTable() : null;
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const s = half ? half[steps[r]] : steps[r];
      dequantizeRow(this.codes!, r * this.rowBytes, d, this.bits, s, out, i * d);
    }
  }

  update(): void {
    throw new Error('a frozen (inference) table cannot be trained');
  }

  memory(): MemoryReport {
    return memoryReport(this.rows, this.dim, {
      codes: (this.codes ?? this.weights)!.byteLength,
      steps: this.steps?.byteLength ?? 0,
      fallbacks: this.fallbacks,
    });
  }

  /** `weights` (fp32) or `codes` + `steps`. */
  state(): Record<string, ArrayBufferView> {
    return this.weights ? { weights: this.weights } : { codes: this.codes!, steps: this.steps! };
  }

  load(state: Record<string, ArrayBufferView>): void {
    for (const [k, v] of Object.entries(this.state())) loadInto(state, k, v);
  }
}
