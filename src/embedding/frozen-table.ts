// A trained table for inference: the packed codes and step sizes exactly as trained (or fp32
// weights), read-only. No optimizer state and no initialisation pass, so loading a model costs one
// copy of its bytes. gather runs the same kernels as training, so scores match training's bit for bit.
import type { EmbeddingTable, MemoryReport } from './table.js';
import { rowBytes } from '../quant/pack.js';
import { allocatorOf, loadInto, memoryReport } from './memory.js';
import type { SparseKernels } from '../kernels/sparse.js';
import { tableKernelsFor, type Fp32TableArrays, type PackedTableArrays, type TableKernels } from '../kernels/table-kernels.js';

export interface FrozenTableOptions {
  rows: number;
  dim: number;
  /** 1..8 for packed codes; 32 for fp32 weights. */
  bits: number;
  /** f16 step sizes are kept as their 16-bit patterns (the wasm gather reads them directly). */
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
  readonly stepSizes: Float32Array | Uint16Array | null;
  /** The kernels this table runs (WebAssembly when all its arrays are in the wasm memory). */
  readonly kernels: TableKernels;
  private readonly fallbacks: readonly string[];
  private readonly fp32: Fp32TableArrays | null;
  private readonly packed: PackedTableArrays | null;

  constructor(o: FrozenTableOptions) {
    this.rows = o.rows;
    this.dim = o.dim;
    this.bits = o.bits;
    const alloc = allocatorOf(o.kernels);
    this.fallbacks = alloc.fallbacks ?? [];
    if (o.bits === 32) {
      this.rowBytes = 4 * o.dim;
      this.weights = alloc(Float32Array, o.rows * o.dim, 'fp32 embedding weights');
      this.codes = null;
      this.stepSizes = null;
      this.fp32 = { weights: this.weights, dim: o.dim };
      this.packed = null;
    } else {
      this.rowBytes = rowBytes(o.dim, o.bits);
      this.codes = alloc(Uint8Array, o.rows * this.rowBytes, `${o.bits}-bit codes`);
      this.stepSizes = o.stepDtype === 'f16' ? alloc(Uint16Array, o.rows, 'f16 step sizes') : alloc(Float32Array, o.rows, 'step sizes');
      this.weights = null;
      this.fp32 = null;
      this.packed = { codes: this.codes, stepSizes: this.stepSizes, dim: o.dim, bits: o.bits, rowBytes: this.rowBytes };
    }
    this.kernels = tableKernelsFor(o.kernels, [this.weights, this.codes, this.stepSizes]);
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    if (this.fp32 !== null) this.kernels.gatherFp32({ table: this.fp32, rows, count, out });
    else this.kernels.gatherPacked({ table: this.packed!, rows, count, out });
  }

  update(): void {
    throw new Error('a frozen (inference) table cannot be trained');
  }

  memory(): MemoryReport {
    return memoryReport(this.rows, this.dim, {
      codes: (this.codes ?? this.weights)!.byteLength,
      steps: this.stepSizes?.byteLength ?? 0,
      fallbacks: this.fallbacks,
    });
  }

  /** `weights` (fp32) or `codes` + `steps` (the step sizes; model-file tensor names unchanged). */
  state(): Record<string, ArrayBufferView> {
    return this.weights ? { weights: this.weights } : { codes: this.codes!, steps: this.stepSizes! };
  }

  load(state: Record<string, ArrayBufferView>): void {
    for (const [k, v] of Object.entries(this.state())) loadInto(state, k, v);
  }
}
