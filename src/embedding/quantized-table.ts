// Packed low-precision table (LPT / ALPT): the packed b-bit codes and one step Δ per row are the
// only storage of the weights; there is no fp32 copy. An update dequantizes the touched rows,
// runs the sparse optimizer in float, and writes them back as codes.
import type { AdaptiveStepTable, EmbeddingTable, MemoryReport, StepLearningOptions, TableInitOptions } from './table.js';
import { checkBits, dequantizeRow, quantizeRow, rowBytes } from '../quant/pack.js';
import { qHigh, qLow, roundingRowKey, roundingSeed } from '../quant/round.js';
import { fakeQuantize, lsqBackward, lsqGradScale } from '../quant/lsq.js';
import { SparseOptimizer } from './sparse-optimizer.js';
import {
  DEFAULT_STEP_LR, effectiveStepLr, StepOptimizer, StepStore,
  type StepDtype, type StepLrScale,
} from './steps.js';
import { allocatorOf, bytesOf, loadInto, memoryReport, type Allocator } from './memory.js';
import { ptrsOf, type SparseKernels } from '../kernels/sparse.js';
import { DEFAULT_INIT_STD, drawRowAt, initBlocks, initialStep, initMeanAbs, initMeanRows, initTableKey } from './init.js';

export type RoundingMode = 'deterministic' | 'stochastic';
/** fixed: LPT (Δ stays at Δ0). learned: ALPT (Δ per row learned with LSQ gradients). */
export type StepMode = 'fixed' | 'learned';

export interface QuantizedTableOptions extends TableInitOptions, StepLearningOptions {
  bits: number;
  /** Write-back rounding. Default 'stochastic'. (The initial quantization is always stochastic, as in torch.) */
  rounding?: RoundingMode;
  stepMode?: StepMode;
  stepDtype?: StepDtype;
  /**
   * The wasm backend's embedding kernels (backend.sparse): codes, steps, optimizer states and
   * staging buffers then live in its memory and gather/update run there (f32 or f16 steps; arrays
   * outside the memory take the TypeScript path, with identical results).
   */
  kernels?: SparseKernels;
}

export class QuantizedTable implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly bits: number;
  readonly rowBytes: number;
  readonly stochastic: boolean;
  readonly stepMode: StepMode;
  readonly codes: Uint8Array;
  readonly steps: StepStore;
  readonly opt: SparseOptimizer;
  readonly stepOpt: StepOptimizer | null;
  /** Δ0: the initial step (also the unit of a relative step learning rate). */
  initStep: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly gscale: number;
  private readonly rseed: number;
  private readonly stepLr: number;
  private readonly stepLrScale: StepLrScale;
  // scratch, reused across steps
  private readonly rowBuf: Float32Array;
  private stagedW = new Float32Array(0);
  private stagedRows = new Int32Array(0);
  private stagedCount = 0;
  private readonly k: SparseKernels | null;
  private readonly alloc: Allocator;
  /** Byte offsets of codes, steps, opt m, opt v, step-opt m, step-opt v, rowBuf (wasm path), or null. */
  private readonly p: number[] | null;

  constructor(o: QuantizedTableOptions) {
    checkBits(o.bits);
    this.rows = o.rows;
    this.dim = o.dim;
    this.bits = o.bits;
    this.rowBytes = rowBytes(o.dim, o.bits);
    this.lo = qLow(o.bits);
    this.hi = qHigh(o.bits);
    this.gscale = lsqGradScale(o.dim, o.bits);
    this.stochastic = (o.rounding ?? 'stochastic') === 'stochastic';
    this.stepMode = o.stepMode ?? 'fixed';
    if (this.stepMode !== 'fixed' && this.stepMode !== 'learned') throw new Error(`unknown stepMode '${this.stepMode as string}'`);
    const tableId = o.tableId ?? 0;
    this.rseed = roundingSeed(o.seed, tableId);
    this.k = o.kernels ?? null;
    const alloc = this.alloc = allocatorOf(this.k);
    this.codes = alloc(Uint8Array, o.rows * this.rowBytes, `${o.bits}-bit codes`);
    this.steps = new StepStore(o.stepDtype ?? 'f32', o.rows, alloc);
    this.opt = new SparseOptimizer(o.optimizer, o.rows, o.dim, alloc);
    this.rowBuf = alloc(Float32Array, o.dim, 'row buffer');

    this.initStep = this.initialize(o, tableId);
    if (!(this.initStep > 0)) throw new RangeError(`initial step must be > 0, got ${this.initStep}`);

    this.stepLr = o.stepLr ?? DEFAULT_STEP_LR;
    this.stepLrScale = o.stepLrScale ?? 'relative';
    this.stepOpt = this.stepMode === 'learned'
      ? new StepOptimizer(o.stepOptimizer ?? 'adam', o.rows, effectiveStepLr(this.stepLr, this.stepLrScale, this.initStep),
        false, 0.9, 0.999, 1e-8, alloc)
      : null;
    this.p = this.k
      ? ptrsOf(this.k, this.codes, this.steps.array, this.opt.m, this.opt.v, this.stepOpt?.m ?? null, this.stepOpt?.v ?? null, this.rowBuf)
      : null;
    // f16 steps: the kernels take the steps pointer with its low bit set (assembly/sparse.ts loadStep)
    if (this.p !== null && this.steps.f16 !== null) this.p[1] += 1; // (arrays are 64-byte aligned; no bit op: offsets reach 2^32)
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
    let initStep = o.initStep;
    if (initStep === undefined) {
      let sums: Float64Array | undefined;
      if (wasm) {
        const rows = initMeanRows(o.rows);
        sums = k.scratchF64(initBlocks(rows));
        k.ex.initAbsSums(key, o.dim, std, 1, rows, k.ptr(sums), bufPtr);
      }
      initStep = initialStep(initMeanAbs(key, o.rows, o.dim, std, sums), o.bits);
    }
    this.steps.fill(initStep);
    if (o.rows === 0) return initStep;
    const step = this.steps.get(0); // Δ0 as stored (f16 steps round it)
    if (wasm) {
      k.ex.initQuant(key, o.dim, std, 1, o.rows, codesPtr, this.rowBytes, o.bits, step, this.rseed, bufPtr);
    } else {
      for (let r = 0; r < o.rows; r++) {
        drawRowAt(key, r, o.dim, std, this.rowBuf, 0);
        quantizeRow(this.rowBuf, 0, o.dim, o.bits, step, true, roundingRowKey(this.rseed, 0, r), this.codes, r * this.rowBytes);
      }
    }
    return initStep;
  }

  /** The learning rate actually applied to Δ (after the relative scaling). */
  get effectiveStepLr(): number {
    return this.stepOpt ? this.stepOpt.lr : 0;
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    const p = this.p;
    if (p !== null && count > 0) {
      const q = ptrsOf(this.k!, rows, out);
      if (q !== null) {
        this.k!.ex.gatherQuant(p[0], this.rowBytes, this.bits, this.dim, p[1], q[0], count, q[1]);
        return;
      }
    }
    const d = this.dim, rb = this.rowBytes, b = this.bits, codes = this.codes, steps = this.steps;
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      dequantizeRow(codes, r * rb, d, b, steps.get(r), out, i * d);
    }
  }

  /**
   * fixed (LPT): dequantize → optimizer → write back with the table's rounding, row by row.
   * learned: the single-pass "alpt-fast" variant — stage, update Δ taking the first backward's
   * gradients as ∂L/∂Q of the staged rows (no second forward), write back.
   */
  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    if (this.stepMode === 'learned') {
      const so = this.stepOpt!;
      const p = this.p;
      const q = p !== null && count > 0 ? ptrsOf(this.k!, rows, grads) : null;
      if (q !== null) {
        // The same three phases fused per row, so each table row is visited once.
        const o = this.opt;
        o.begin(step);
        so.begin(step);
        this.k!.ex.updateLearnQuant(p![0], this.rowBytes, this.bits, this.dim, p![1], q[0], count, q[1],
          o.kind, p![2], p![3], o.rate, 1 - o.beta1, 1 - o.beta2, o.eps,
          this.lo, this.hi, this.gscale, so.kind, p![4], p![5], so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps,
          +this.stochastic, this.rseed, step, p![6]);
        this.stagedCount = 0;
        return;
      }
      this.stageUpdate(rows, count, grads, step);
      this.updateStepsStaged(grads, step); // ∂L/∂Q taken from the first backward (grads are read-only)
      this.writeBackStaged(step);
      return;
    }
    const d = this.dim, rb = this.rowBytes, b = this.bits, buf = this.rowBuf;
    this.opt.begin(step);
    const p = this.p;
    if (p !== null) {
      const q = ptrsOf(this.k!, rows, grads);
      if (q !== null) {
        const o = this.opt;
        this.k!.ex.updateQuant(p[0], rb, b, d, p[1], q[0], count, q[1], o.kind, p[2], p[3], o.rate, 1 - o.beta1, 1 - o.beta2,
          o.eps, +this.stochastic, this.rseed, step, p[6]);
        return;
      }
    }
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const s = this.steps.get(r);
      dequantizeRow(this.codes, r * rb, d, b, s, buf, 0);
      this.opt.updateRow(buf, 0, grads, i * d, r);
      quantizeRow(buf, 0, d, b, s, this.stochastic, roundingRowKey(this.rseed, step, r), this.codes, r * rb);
    }
  }

  /** Sparse optimizer on the rows into the staging buffer (no write-back); remembers the rows. */
  stageUpdate(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    const d = this.dim, n = count * d;
    if (this.stagedW.length < n) {
      const cap = Math.max(n, Math.ceil(this.stagedW.length * 1.5));
      this.stagedW = this.scratch(Float32Array, cap, 'staged rows');
    }
    if (this.stagedRows.length < count) {
      this.stagedRows = this.scratch(Int32Array, Math.max(count, Math.ceil(this.stagedRows.length * 1.5)), 'staged row ids');
    }
    const w = this.stagedW, rb = this.rowBytes, b = this.bits;
    this.opt.begin(step);
    const p = this.p;
    const q = p !== null ? ptrsOf(this.k!, rows, grads, w, this.stagedRows) : null;
    if (q !== null) {
      const o = this.opt;
      this.k!.ex.stageQuant(p![0], rb, b, d, p![1], q[0], count, q[1], o.kind, p![2], p![3], o.rate, 1 - o.beta1, 1 - o.beta2,
        o.eps, q[2], q[3]);
    } else {
      for (let i = 0; i < count; i++) {
        const r = rows[i];
        this.stagedRows[i] = r;
        dequantizeRow(this.codes, r * rb, d, b, this.steps.get(r), w, i * d);
        this.opt.updateRow(w, i * d, grads, i * d, r);
      }
    }
    this.stagedCount = count;
  }

  /** Q(w) = Δ·clip(round(w/Δ)) of the staged rows under the current Δ, into out[count×dim]. */
  fakeQuantizeStaged(out: Float32Array): void {
    const d = this.dim;
    const p = this.p;
    const q = p !== null && this.stagedCount > 0 ? ptrsOf(this.k!, this.stagedW, this.stagedRows, out) : null;
    if (q !== null) {
      this.k!.ex.fakeQuantStaged(q[0], q[1], this.stagedCount, d, p![1], this.lo, this.hi, q[2]);
      return;
    }
    for (let i = 0; i < this.stagedCount; i++) {
      fakeQuantize(this.stagedW, i * d, d, this.steps.get(this.stagedRows[i]), this.lo, this.hi, out, i * d);
    }
  }

  /**
   * From ∂L/∂Q of the staged rows: each row's LSQ gradient Σ dQ·∂Q/∂Δ · 1/sqrt(dim·Q_P), a step of
   * the step optimizer (lazy: only these rows), then Δ = max(|Δ|, 1e-8).
   */
  updateStepsStaged(dq: Float32Array, step: number): void {
    const so = this.stepOpt;
    if (so === null) throw new Error('updateStepsStaged: this table has fixed steps (stepMode "fixed")');
    const d = this.dim, w = this.stagedW, steps = this.steps;
    so.begin(step);
    const p = this.p;
    const q = p !== null && this.stagedCount > 0 ? ptrsOf(this.k!, w, this.stagedRows, dq) : null;
    if (q !== null) {
      this.k!.ex.stepsStaged(q[0], q[1], this.stagedCount, d, q[2], p![1], this.lo, this.hi, this.gscale,
        so.kind, p![4], p![5], so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps);
      return;
    }
    for (let i = 0; i < this.stagedCount; i++) {
      const r = this.stagedRows[i];
      const s = steps.get(r);
      const ds = lsqBackward(w, i * d, dq, i * d, d, s, this.lo, this.hi, null, 0) * this.gscale;
      steps.setPositive(r, so.next(r, s, ds));
    }
  }

  /** updateStepsStaged(dq) then writeBackStaged(), in one pass over the rows where kernels exist. */
  updateStepsAndWriteBack(dq: Float32Array, step: number): void {
    const so = this.stepOpt;
    const p = this.p;
    const q = so !== null && p !== null && this.stagedCount > 0 ? ptrsOf(this.k!, this.stagedW, this.stagedRows, dq) : null;
    if (q === null) {
      this.updateStepsStaged(dq, step);
      this.writeBackStaged(step);
      return;
    }
    so!.begin(step);
    this.k!.ex.stepsWriteBackStaged(q[0], q[1], this.stagedCount, this.dim, q[2], p![1], this.lo, this.hi, this.gscale,
      so!.kind, p![4], p![5], so!.lr, so!.rate, 1 - so!.beta1, 1 - so!.beta2, so!.eps,
      p![0], this.rowBytes, this.bits, +this.stochastic, this.rseed, step);
  }

  /** Write the staged rows back as codes under the current Δ (table rounding, stochastic by default). */
  writeBackStaged(step: number): void {
    const d = this.dim, rb = this.rowBytes, b = this.bits;
    const p = this.p;
    const q = p !== null && this.stagedCount > 0 ? ptrsOf(this.k!, this.stagedW, this.stagedRows) : null;
    if (q !== null) {
      this.k!.ex.writeBackQuant(q[0], q[1], this.stagedCount, p![0], rb, b, d, p![1], +this.stochastic, this.rseed, step);
      return;
    }
    for (let i = 0; i < this.stagedCount; i++) {
      const r = this.stagedRows[i];
      quantizeRow(this.stagedW, i * d, d, b, this.steps.get(r), this.stochastic, roundingRowKey(this.rseed, step, r),
        this.codes, r * rb);
    }
  }

  /** A staging buffer (in the kernels' memory when there are kernels; never freed there, grown by 1.5×). */
  private scratch<T extends ArrayBufferView>(ctor: new (n: number) => T, n: number, what: string): T {
    return this.k ? this.alloc(ctor, n, what) : new ctor(n);
  }

  /** Number of rows currently staged. */
  get staged(): number {
    return this.stagedCount;
  }

  /**
   * Live views of the staged row ids [staged] and their float values [staged×dim], valid until the
   * next stageUpdate (for inspection: test/reference.test.ts compares them with PyTorch's).
   */
  stagedView(): { rows: Int32Array; weights: Float32Array } {
    const n = this.stagedCount;
    return { rows: this.stagedRows.subarray(0, n), weights: this.stagedW.subarray(0, n * this.dim) };
  }

  setLearningRate(lr: number): void {
    this.opt.lr = lr;
  }

  memory(): MemoryReport {
    return memoryReport(this.rows, this.dim, {
      codes: this.codes.byteLength,
      steps: this.steps.bytes(),
      optimizerState: this.opt.bytes(),
      stepOptimizerState: this.stepOpt ? this.stepOpt.bytes() : 0,
      scratch: bytesOf(this.rowBuf, this.stagedW, this.stagedRows),
      fallbacks: this.alloc.fallbacks,
    });
  }

  /** Live views (not copies) of codes, steps, optimizer states and Δ0. */
  state(): Record<string, ArrayBufferView> {
    return {
      codes: this.codes,
      steps: this.steps.array,
      initStep: new Float64Array([this.initStep]),
      ...this.opt.state('opt.'),
      ...(this.stepOpt ? this.stepOpt.state('stepOpt.') : {}),
    };
  }

  load(state: Record<string, ArrayBufferView>): void {
    loadInto(state, 'codes', this.codes);
    loadInto(state, 'steps', this.steps.array);
    const s0 = new Float64Array(1);
    loadInto(state, 'initStep', s0);
    this.initStep = s0[0];
    this.opt.load(state, 'opt.');
    if (this.stepOpt) {
      this.stepOpt.load(state, 'stepOpt.');
      this.stepOpt.lr = effectiveStepLr(this.stepLr, this.stepLrScale, this.initStep);
    }
    this.stagedCount = 0;
  }
}

/** ALPT: learned per-row steps with the two-pass alternating update (isAdaptive() is true). */
export class AlptTable extends QuantizedTable implements AdaptiveStepTable {
  readonly learnsSteps = true as const;
  constructor(o: Omit<QuantizedTableOptions, 'stepMode'>) {
    super({ ...o, stepMode: 'learned' });
  }
}
