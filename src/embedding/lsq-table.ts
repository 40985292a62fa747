// LSQ baseline (quantization-aware training): an fp32 master table, fake-quantized on gather with a
// learned step size — one per table (torch_ref's 'lsq', default) or one per row. Δ used is |t| + 1e-10.
import type { EmbeddingTable, MemoryReport, StepSizeLearningOptions, TableInitOptions } from './table.js';
import { checkBits } from '../quant/pack.js';
import { qHigh, qLow } from '../quant/round.js';
import { fakeQuantize, lsqBackward, lsqGradScale } from '../quant/lsq.js';
import { SparseOptimizer } from './sparse-optimizer.js';
import { DEFAULT_STEP_SIZE_LR, effectiveStepSizeLr, StepSizeOptimizer, type StepSizeLrScale } from './steps.js';
import { allocArray, loadInto, memoryReport } from './memory.js';
import { DEFAULT_INIT_STD, drawRows, initialStepSize, initMeanAbs, initTableKey } from './init.js';

export interface LsqTableOptions extends TableInitOptions, StepSizeLearningOptions {
  bits: number;
  /** One learned step size per row instead of one per table. Default false. */
  perRow?: boolean;
}

export class LsqTable implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly bits: number;
  readonly perRow: boolean;
  readonly master: Float32Array;
  /** Raw step-size parameters t (Δ = |t| + 1e-10): length 1, or rows if perRow. */
  readonly stepSizes: Float32Array;
  readonly opt: SparseOptimizer;
  readonly stepSizeOpt: StepSizeOptimizer;
  initStepSize: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly gscale: number;
  private readonly stepLr: number;
  private readonly stepLrScale: StepSizeLrScale;
  private readonly dw: Float32Array;

  constructor(o: LsqTableOptions) {
    checkBits(o.bits);
    this.rows = o.rows;
    this.dim = o.dim;
    this.bits = o.bits;
    this.perRow = o.perRow ?? false;
    this.lo = qLow(o.bits);
    this.hi = qHigh(o.bits);
    // torch: 1/sqrt(weight.numel()·Q_P) for the table's step size; 1/sqrt(dim·Q_P) per row
    this.gscale = lsqGradScale(this.perRow ? o.dim : o.rows * o.dim, o.bits);
    const tableId = o.tableId ?? 0;
    const std = o.initStd ?? DEFAULT_INIT_STD;
    this.master = allocArray(Float32Array, o.rows * o.dim, 'LSQ fp32 master weights');
    const key = initTableKey(o.seed, tableId);
    drawRows(key, 0, o.rows, o.dim, std, this.master);
    this.initStepSize = o.initStep ?? initialStepSize(initMeanAbs(key, o.rows, o.dim, std), o.bits);
    this.stepSizes = allocArray(Float32Array, this.perRow ? o.rows : 1, 'LSQ step sizes');
    this.stepSizes.fill(this.initStepSize);
    this.opt = new SparseOptimizer(o.optimizer, o.rows, o.dim);
    this.stepLr = o.stepLr ?? DEFAULT_STEP_SIZE_LR;
    this.stepLrScale = o.stepLrScale ?? 'relative';
    // the per-table step size gets torch.optim.Adam (dense); per-row step sizes lazy SparseAdam
    this.stepSizeOpt = new StepSizeOptimizer(o.stepOptimizer ?? 'adam', this.stepSizes.length,
      effectiveStepSizeLr(this.stepLr, this.stepLrScale, this.initStepSize), !this.perRow);
    this.dw = new Float32Array(o.dim);
  }

  private delta(r: number): number {
    return Math.abs(this.stepSizes[this.perRow ? r : 0]) + 1e-10;
  }

  /** Q(w) of the rows. (x = w/Δ is recomputed in update(): same w and Δ, and robust to eval gathers.) */
  gather(rows: Int32Array, count: number, out: Float32Array): void {
    const d = this.dim;
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      fakeQuantize(this.master, r * d, d, this.delta(r), this.lo, this.hi, out, i * d);
    }
  }

  /** grads are ∂L/∂Q of the rows: STE-masked into w's optimizer, LSQ gradient into Δ's. */
  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    const d = this.dim, w = this.master, dw = this.dw, so = this.stepSizeOpt;
    this.opt.begin(step);
    so.begin(step);
    let dsTable = 0;
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      const k = this.perRow ? r : 0;
      const t = this.stepSizes[k];
      const ds = lsqBackward(w, r * d, grads, i * d, d, Math.abs(t) + 1e-10, this.lo, this.hi, dw, 0) * this.gscale;
      this.opt.updateRow(w, r * d, dw, 0, r);
      if (this.perRow) this.stepSizes[k] = so.next(k, t, ds * Math.sign(t)); // d|t|/dt = sign(t), as torch's abs()
      else dsTable += ds;
    }
    if (!this.perRow) {
      const t = this.stepSizes[0];
      this.stepSizes[0] = so.next(0, t, dsTable * Math.sign(t));
    }
  }

  setLearningRate(lr: number): void {
    this.opt.lr = lr;
  }

  memory(): MemoryReport {
    return memoryReport(this.rows, this.dim, {
      master: this.master.byteLength,
      steps: this.stepSizes.byteLength,
      optimizerState: this.opt.bytes(),
      stepOptimizerState: this.stepSizeOpt.bytes(),
      scratch: this.dw.byteLength,
    });
  }

  state(): Record<string, ArrayBufferView> {
    return {
      master: this.master,
      steps: this.stepSizes,
      initStep: new Float64Array([this.initStepSize]),
      ...this.opt.state('opt.'),
      ...this.stepSizeOpt.state('stepOpt.'),
    };
  }

  load(state: Record<string, ArrayBufferView>): void {
    loadInto(state, 'master', this.master);
    loadInto(state, 'steps', this.stepSizes);
    const s0 = new Float64Array(1);
    loadInto(state, 'initStep', s0);
    this.initStepSize = s0[0];
    this.opt.load(state, 'opt.');
    this.stepSizeOpt.load(state, 'stepOpt.');
    this.stepSizeOpt.lr = effectiveStepSizeLr(this.stepLr, this.stepLrScale, this.initStepSize);
  }
}
