// Packed low-precision table (LPT / ALPT): the packed b-bit codes and one step size Δ per row are
// the only storage of the weights; there is no fp32 copy. An update dequantizes the touched rows,
// runs the sparse optimizer in float, and writes them back as codes. Every loop over rows is a
// call to the table kernels (src/kernels/table-kernels.ts), WebAssembly or TypeScript, picked once.
import type { LearnedStepSizeTable, EmbeddingTable, MemoryReport, StepSizeLearningOptions, TableInitOptions } from './table.js';
import { checkBits, quantizeRow, rowBytes } from '../quant/pack.js';
import { qHigh, qLow, roundingRowKey, roundingSeed } from '../quant/round.js';
import { lsqGradScale } from '../quant/lsq.js';
import { SparseOptimizer } from './sparse-optimizer.js';
import {
  DEFAULT_STEP_SIZE_LR, effectiveStepSizeLr, StepSizeOptimizer, StepSizeStore,
  type StepSizeDtype, type StepSizeLrScale,
} from './steps.js';
import { allocatorOf, bytesOf, loadInto, memoryReport, type Allocator } from './memory.js';
import type { SparseKernels } from '../kernels/sparse.js';
import {
  tableKernelsFor, type LsqArgs, type PackedTableArrays, type RoundingArgs, type StagedRows, type TableKernels,
} from '../kernels/table-kernels.js';
import { DEFAULT_INIT_STD, drawRowAt, initBlocks, initialStepSize, initMeanAbs, initMeanRows, initTableKey } from './init.js';

export type RoundingMode = 'deterministic' | 'stochastic';
/** fixed: LPT (Δ stays at Δ0). learned: ALPT (Δ per row learned with LSQ gradients). */
export type StepSizeMode = 'fixed' | 'learned';

export interface QuantizedTableOptions extends TableInitOptions, StepSizeLearningOptions {
  bits: number;
  /** Write-back rounding. Default 'stochastic'. (The initial quantization is always stochastic, as in torch.) */
  rounding?: RoundingMode;
  stepSizeMode?: StepSizeMode;
  /**
   * learned step sizes: 2 (alpt, default) — the trainer runs a second forward/backward through the
   * fake-quantized updated rows for ∂L/∂Q; 1 (alpt-fast) — ∂L/∂Q is the first backward's gradient.
   */
  passes?: 1 | 2;
  stepDtype?: StepSizeDtype;
  /**
   * The wasm backend's embedding kernels (backend.sparse): codes, step sizes, optimizer states and
   * staging buffers then live in its memory and the table runs the WebAssembly table kernels (f32
   * or f16 step sizes; a table whose arrays did not all fit runs the TypeScript ones, with
   * identical results).
   */
  kernels?: SparseKernels;
}

export class QuantizedTable implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly bits: number;
  readonly rowBytes: number;
  /** The first (global) row held: 0, or the start of this shard. */
  readonly firstRow: number;
  readonly stochastic: boolean;
  readonly stepSizeMode: StepSizeMode;
  readonly codes: Uint8Array;
  readonly stepSizes: StepSizeStore;
  readonly opt: SparseOptimizer;
  readonly stepSizeOpt: StepSizeOptimizer | null;
  /** Δ0: the initial step size (also the unit of a relative step-size learning rate). */
  initStepSize: number;
  /** The kernels this table runs (WebAssembly when all its arrays are in the wasm memory). */
  readonly kernels: TableKernels;
  private readonly rseed: number;
  private readonly stepLr: number;
  private readonly stepLrScale: StepSizeLrScale;
  private readonly arrays: PackedTableArrays;
  private readonly lsq: LsqArgs;
  private readonly rounding: RoundingArgs;
  // scratch, reused across steps
  private readonly rowBuf: Float32Array;
  private readonly stagedRows: StagedRows = { w: new Float32Array(0), rows: new Int32Array(0), count: 0 };
  private readonly k: SparseKernels | null;
  private readonly alloc: Allocator;
  /** Bytes of every staging buffer placed in the kernels' memory (outgrown ones are never freed there). */
  private stagingBytes = 0;

  constructor(o: QuantizedTableOptions) {
    checkBits(o.bits);
    this.rows = o.rows;
    this.dim = o.dim;
    this.bits = o.bits;
    this.rowBytes = rowBytes(o.dim, o.bits);
    this.firstRow = o.firstRow ?? 0;
    this.lsq = { lo: qLow(o.bits), hi: qHigh(o.bits), gscale: lsqGradScale(o.dim, o.bits) };
    this.stochastic = (o.rounding ?? 'stochastic') === 'stochastic';
    this.stepSizeMode = o.stepSizeMode ?? 'fixed';
    if (this.stepSizeMode !== 'fixed' && this.stepSizeMode !== 'learned') {
      throw new Error(`unknown stepSizeMode '${this.stepSizeMode as string}'`);
    }
    const tableId = o.tableId ?? 0;
    this.rseed = roundingSeed(o.seed, tableId);
    this.rounding = { stochastic: this.stochastic, rseed: this.rseed };
    this.k = o.kernels ?? null;
    const alloc = this.alloc = allocatorOf(this.k);
    this.codes = alloc(Uint8Array, o.rows * this.rowBytes, `${o.bits}-bit codes`);
    this.stepSizes = new StepSizeStore(o.stepDtype ?? 'f32', o.rows, alloc);
    this.opt = new SparseOptimizer(o.optimizer, o.rows, o.dim, alloc);
    this.rowBuf = alloc(Float32Array, o.dim, 'row buffer');
    this.arrays = {
      codes: this.codes, stepSizes: this.stepSizes.array, dim: this.dim, bits: this.bits, rowBytes: this.rowBytes, firstRow: this.firstRow,
    };

    // ---- init: Δ0 from the init draw, then the packed codes of the same draw (step 0's rounding)
    if (o.init === false) {
      this.initStepSize = o.initStep ?? 1; // placeholder until load() sets the checkpoint's Δ0
    } else {
      this.initStepSize = this.initialize(o, tableId);
      if (!(this.initStepSize > 0)) throw new RangeError(`initial step size must be > 0, got ${this.initStepSize}`);
    }

    this.stepLr = o.stepLr ?? DEFAULT_STEP_SIZE_LR;
    this.stepLrScale = o.stepLrScale ?? 'relative';
    this.stepSizeOpt = this.stepSizeMode === 'learned'
      ? new StepSizeOptimizer(o.stepOptimizer ?? 'adam', o.rows, effectiveStepSizeLr(this.stepLr, this.stepLrScale, this.initStepSize),
        false, 0.9, 0.999, 1e-8, alloc)
      : null;
    this.kernels = tableKernelsFor(this.k, [
      this.codes, this.stepSizes.array, this.opt.m, this.opt.v, this.stepSizeOpt?.m ?? null, this.stepSizeOpt?.v ?? null, this.rowBuf,
    ]);
  }

  /**
   * Draws the N(0, std²) init (two passes: mean|w| of the first 2^20 rows for Δ0, then draw and quantize stochastically
   * with step 0's draws) and fills Δ; returns Δ0. On the wasm kernels both passes run on all
   * threads, each drawing its own rows (the init is a pure function of the row).
   */
  private initialize(o: QuantizedTableOptions, tableId: number): number {
    const std = o.initStd ?? DEFAULT_INIT_STD;
    const key = initTableKey(o.seed, tableId);
    const k = this.k;
    const codesPtr = k ? k.ptr(this.codes) : -1;
    const bufPtr = k ? k.ptr(this.rowBuf) : -1;
    const wasm = k !== null && codesPtr >= 0 && bufPtr >= 0 && o.rows > 0;
    let initStepSize = o.initStep;
    const first = this.firstRow;
    if (initStepSize === undefined) {
      // Δ0 from the first rows of the whole table (a shard draws them too: its Δ0 is the table's)
      const tableRows = o.tableRows ?? o.rows;
      let sums: Float64Array | undefined;
      if (wasm) {
        const rows = initMeanRows(tableRows);
        sums = k.scratchF64(initBlocks(rows));
        k.ex.initAbsSums(key, o.dim, std, 1, rows, k.ptr(sums), bufPtr);
      }
      initStepSize = initialStepSize(initMeanAbs(key, tableRows, o.dim, std, sums), o.bits);
    }
    this.stepSizes.fill(initStepSize);
    if (o.rows === 0) return initStepSize;
    const step = this.stepSizes.get(0); // Δ0 as stored (f16 step sizes round it)
    if (wasm) {
      k.ex.initQuant(key, o.dim, std, first + 1, o.rows, codesPtr, this.rowBytes, o.bits, step, this.rseed, bufPtr);
    } else {
      for (let r = 0; r < o.rows; r++) {
        drawRowAt(key, first + r, o.dim, std, this.rowBuf, 0);
        quantizeRow(this.rowBuf, 0, o.dim, o.bits, step, true, roundingRowKey(this.rseed, 0, first + r), this.codes, r * this.rowBytes);
      }
    }
    return initStepSize;
  }

  /** The learning rate actually applied to Δ (after the relative scaling). */
  get effectiveStepSizeLr(): number {
    return this.stepSizeOpt ? this.stepSizeOpt.lr : 0;
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    this.kernels.gatherPacked({ table: this.arrays, rows, count, out });
  }

  /**
   * fixed (LPT): dequantize → optimizer → write back with the table's rounding, row by row.
   * learned: the one-pass update (updateOnePass) — the trainer runs ALPT's variants explicitly
   * (src/train/step.ts); this is for callers without a second pass.
   */
  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    if (this.stepSizeMode === 'learned') {
      this.updateOnePass(rows, count, grads, step);
      return;
    }
    this.opt.begin(step);
    this.kernels.updatePacked({
      table: this.arrays, rows, count, grads, opt: this.opt, rounding: this.rounding, step, scratch: this.rowBuf,
    });
  }

  /**
   * ALPT in one pass ("alpt-fast"): sparse optimizer, then each row's Δ updated taking the first
   * backward's gradients as ∂L/∂Q of the updated row (no second forward), then write-back under the
   * new Δ — fused per row, nothing staged.
   */
  updateOnePass(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    const so = this.learnedOpt('updateOnePass');
    this.opt.begin(step);
    so.begin(step);
    this.kernels.updatePackedOnePass({
      table: this.arrays, rows, count, grads, opt: this.opt, lsq: this.lsq, stepSizeOpt: so,
      rounding: this.rounding, step, scratch: this.rowBuf,
    });
    this.stagedRows.count = 0;
  }

  /** Sparse optimizer on the rows into the staging buffer (no write-back); remembers the rows. */
  stageUpdate(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    const st = this.stagedRows;
    const n = count * this.dim;
    if (st.w.length < n) st.w = this.scratch(Float32Array, Math.max(n, Math.ceil(st.w.length * 1.5)), 'staged rows');
    if (st.rows.length < count) {
      st.rows = this.scratch(Int32Array, Math.max(count, Math.ceil(st.rows.length * 1.5)), 'staged row ids');
    }
    this.opt.begin(step);
    this.kernels.stagePacked({ table: this.arrays, rows, count, grads, opt: this.opt, staged: st });
    st.count = count;
  }

  /** Q(w) = Δ·clip(round(w/Δ)) of the staged rows under the current Δ, into out[count×dim]. */
  fakeQuantizeStaged(out: Float32Array): void {
    this.kernels.fakeQuantizeStaged({ table: this.arrays, staged: this.stagedRows, lsq: this.lsq, out });
  }

  /**
   * From ∂L/∂Q of the staged rows: each row's LSQ gradient Σ dQ·∂Q/∂Δ · 1/sqrt(dim·Q_P), a step of
   * the step-size optimizer (lazy: only these rows), then Δ = max(|Δ|, 1e-8).
   */
  updateStepSizesStaged(dq: Float32Array, step: number): void {
    const so = this.learnedOpt('updateStepSizesStaged');
    so.begin(step);
    this.kernels.updateStepSizesStaged({ table: this.arrays, staged: this.stagedRows, dq, lsq: this.lsq, stepSizeOpt: so });
  }

  /** updateStepSizesStaged(dq) then writeBackStaged(), in one pass over the rows. */
  updateStepSizesAndWriteBack(dq: Float32Array, step: number): void {
    const so = this.learnedOpt('updateStepSizesAndWriteBack');
    so.begin(step);
    this.kernels.updateStepSizesAndWriteBack({
      table: this.arrays, staged: this.stagedRows, dq, lsq: this.lsq, stepSizeOpt: so, rounding: this.rounding, step,
    });
  }

  /** Write the staged rows back as codes under the current Δ (table rounding, stochastic by default). */
  writeBackStaged(step: number): void {
    this.kernels.writeBackStaged({ table: this.arrays, staged: this.stagedRows, rounding: this.rounding, step });
  }

  private learnedOpt(what: string): StepSizeOptimizer {
    if (this.stepSizeOpt === null) throw new Error(`${what}: this table has fixed step sizes (stepSizeMode "fixed")`);
    return this.stepSizeOpt;
  }

  /** A staging buffer (in the kernels' memory when there are kernels; never freed there, grown by 1.5×). */
  private scratch<T extends ArrayBufferView>(ctor: new (n: number) => T, n: number, what: string): T {
    if (!this.k) return new ctor(n);
    const a = this.alloc(ctor, n, what);
    this.stagingBytes += a.byteLength;
    return a;
  }

  /** Number of rows currently staged. */
  get staged(): number {
    return this.stagedRows.count;
  }

  /**
   * Live views of the staged row ids [staged] and their float values [staged×dim], valid until the
   * next stageUpdate (for inspection: test/reference.test.ts compares them with PyTorch's).
   */
  stagedView(): { rows: Int32Array; weights: Float32Array } {
    const { count: n, rows, w } = this.stagedRows;
    return { rows: rows.subarray(0, n), weights: w.subarray(0, n * this.dim) };
  }

  setLearningRate(lr: number): void {
    this.opt.lr = lr;
  }

  memory(): MemoryReport {
    return memoryReport(this.rows, this.dim, {
      codes: this.codes.byteLength,
      steps: this.stepSizes.bytes(),
      optimizerState: this.opt.bytes(),
      stepOptimizerState: this.stepSizeOpt ? this.stepSizeOpt.bytes() : 0,
      scratch: bytesOf(this.rowBuf) + (this.k ? this.stagingBytes : bytesOf(this.stagedRows.w, this.stagedRows.rows)),
      fallbacks: this.alloc.fallbacks,
    });
  }

  /** Live views (not copies) of codes, step sizes, optimizer states and Δ0 (checkpoint names unchanged). */
  state(): Record<string, ArrayBufferView> {
    return {
      codes: this.codes,
      steps: this.stepSizes.array,
      initStep: new Float64Array([this.initStepSize]),
      ...this.opt.state('opt.'),
      ...(this.stepSizeOpt ? this.stepSizeOpt.state('stepOpt.') : {}),
    };
  }

  load(state: Record<string, ArrayBufferView>): void {
    loadInto(state, 'codes', this.codes);
    loadInto(state, 'steps', this.stepSizes.array);
    const s0 = new Float64Array(1);
    loadInto(state, 'initStep', s0);
    this.initStepSize = s0[0];
    this.opt.load(state, 'opt.');
    if (this.stepSizeOpt) {
      this.stepSizeOpt.load(state, 'stepOpt.');
      this.stepSizeOpt.lr = effectiveStepSizeLr(this.stepLr, this.stepLrScale, this.initStepSize);
    }
    this.stagedRows.count = 0;
  }
}

/**
 * ALPT: learned per-row step sizes. passes 2 (alpt, default): the two-pass alternating update, the
 * trainer runs the second forward/backward between the phases; passes 1 (alpt-fast): one pass.
 */
export class AlptTable extends QuantizedTable implements LearnedStepSizeTable {
  readonly learnsStepSizes = true as const;
  readonly passes: 1 | 2;
  constructor(o: Omit<QuantizedTableOptions, 'stepSizeMode'>) {
    super({ ...o, stepSizeMode: 'learned' });
    this.passes = o.passes ?? 2;
    if (this.passes !== 1 && this.passes !== 2) throw new Error(`ALPT passes must be 1 or 2, got ${this.passes as number}`);
  }
}
