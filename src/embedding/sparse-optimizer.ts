// Fused per-row sparse optimizer kernels, in place on a float row, with state per table row.
// Only the rows passed in are touched ("lazy"), like torch's sparse Embedding + SparseAdam/Adagrad.
import type { SparseOptimizerConfig, SparseOptimizerName } from './table.js';
import { allocArray, bytesOf, loadMoments, momentsState, type Allocator } from './memory.js';
import { OPT_ADAGRAD, OPT_ADAM, OPT_ROWWISE, OPT_SGD } from '../kernels/sparse.js';

/** w -= lr·g */
export function sgdRow(w: Float32Array, wOff: number, g: Float32Array, gOff: number, dim: number, lr: number): void {
  for (let i = 0; i < dim; i++) w[wOff + i] -= lr * g[gOff + i];
}

/** torch Adagrad (sparse): acc += g²; w -= lr·g/(sqrt(acc)+eps). */
export function adagradRow(
  w: Float32Array, wOff: number, g: Float32Array, gOff: number, acc: Float32Array, aOff: number,
  dim: number, lr: number, eps: number,
): void {
  for (let i = 0; i < dim; i++) {
    const gi = g[gOff + i];
    const a = acc[aOff + i] + gi * gi;
    acc[aOff + i] = a;
    w[wOff + i] -= (lr * gi) / (Math.sqrt(Math.fround(a)) + eps);
  }
}

/** Row-wise Adagrad (FBGEMM): one accumulator per row, acc += mean(g²); w -= lr·g/(sqrt(acc)+eps). */
export function rowwiseAdagradRow(
  w: Float32Array, wOff: number, g: Float32Array, gOff: number, acc: Float32Array, row: number,
  dim: number, lr: number, eps: number,
): void {
  let s = 0;
  for (let i = 0; i < dim; i++) {
    const gi = g[gOff + i];
    s += gi * gi;
  }
  const a = Math.fround(acc[row] + s / dim);
  acc[row] = a;
  const k = lr / (Math.sqrt(a) + eps);
  for (let i = 0; i < dim; i++) w[wOff + i] -= k * g[gOff + i];
}

/**
 * torch.optim.SparseAdam on one row: m += (1-β1)(g-m); v += (1-β2)(g²-v);
 * w -= stepSize·m/(sqrt(v)+eps), stepSize = lr·sqrt(1-β2^t)/(1-β1^t) with t the global step count.
 */
export function adamRow(
  w: Float32Array, wOff: number, g: Float32Array, gOff: number, m: Float32Array, v: Float32Array, sOff: number,
  dim: number, stepSize: number, beta1: number, beta2: number, eps: number,
): void {
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < dim; i++) {
    const gi = g[gOff + i];
    const j = sOff + i;
    const mi = Math.fround(m[j] + c1 * (gi - m[j]));
    const vi = Math.fround(v[j] + c2 * (gi * gi - v[j]));
    m[j] = mi;
    v[j] = vi;
    w[wOff + i] -= (stepSize * mi) / (Math.sqrt(vi) + eps);
  }
}

/** lr·sqrt(1-β2^t)/(1-β1^t), SparseAdam's bias-corrected step size. */
export function adamStepSize(lr: number, beta1: number, beta2: number, step: number): number {
  if (!(step >= 1)) throw new RangeError(`Adam needs a 1-based step, got ${step}`);
  return (lr * Math.sqrt(1 - Math.pow(beta2, step))) / (1 - Math.pow(beta1, step));
}

/**
 * What the table kernels read of a sparse optimizer (SparseOptimizer has these fields): kind
 * (OPT_*), state m, v (null when the kind keeps none), the per-call rate (lr, or Adam's
 * bias-corrected step size after begin()), β1, β2, eps.
 */
export interface SparseOptimizerArgs {
  readonly kind: number;
  readonly m: Float32Array | null;
  readonly v: Float32Array | null;
  readonly rate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/** Update w[wOff..wOff+dim) of table row `row` from gradient g[gOff..gOff+dim). */
export function sparseOptimizerRow(
  o: SparseOptimizerArgs, w: Float32Array, wOff: number, g: Float32Array, gOff: number, row: number, dim: number,
): void {
  switch (o.kind) {
    case OPT_ADAM:
      adamRow(w, wOff, g, gOff, o.m!, o.v!, row * dim, dim, o.rate, o.beta1, o.beta2, o.eps);
      return;
    case OPT_ADAGRAD:
      adagradRow(w, wOff, g, gOff, o.m!, row * dim, dim, o.rate, o.eps);
      return;
    case OPT_ROWWISE:
      rowwiseAdagradRow(w, wOff, g, gOff, o.m!, row, dim, o.rate, o.eps);
      return;
    default:
      sgdRow(w, wOff, g, gOff, dim, o.rate);
  }
}

/** One table's sparse optimizer: config, per-row state, and dispatch to the kernels. */
export class SparseOptimizer implements SparseOptimizerArgs {
  readonly name: SparseOptimizerName;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** adam: first/second moments; adagrad: accumulator in m (rows·dim); rowwise-adagrad: m (rows). */
  readonly m: Float32Array | null = null;
  readonly v: Float32Array | null = null;
  private adamRate = 0;

  constructor(cfg: SparseOptimizerConfig, readonly rows: number, readonly dim: number, alloc: Allocator = allocArray) {
    this.name = cfg.name;
    this.lr = cfg.lr;
    this.beta1 = cfg.beta1 ?? 0.9;
    this.beta2 = cfg.beta2 ?? 0.999;
    // torch defaults: Adam 1e-8, Adagrad 1e-10; FBGEMM's row-wise Adagrad 1e-8
    this.eps = cfg.eps ?? (cfg.name === 'adagrad' ? 1e-10 : 1e-8);
    const init = cfg.initialAccumulator ?? 0;
    switch (cfg.name) {
      case 'adam':
        this.m = alloc(Float32Array, rows * dim, 'adam m');
        this.v = alloc(Float32Array, rows * dim, 'adam v');
        break;
      case 'adagrad':
        this.m = alloc(Float32Array, rows * dim, 'adagrad accumulator');
        if (init !== 0) this.m.fill(init);
        break;
      case 'rowwise-adagrad':
        this.m = alloc(Float32Array, rows, 'row-wise adagrad accumulator');
        if (init !== 0) this.m.fill(init);
        break;
      case 'sgd':
        break;
      default:
        throw new Error(`unknown sparse optimizer '${(cfg as { name: string }).name}'`);
    }
  }

  /** Per-call constants (Adam's bias correction for global step `step`); call before updateRow. */
  begin(step: number): void {
    if (this.name === 'adam') this.adamRate = adamStepSize(this.lr, this.beta1, this.beta2, step);
  }

  /** Kernel id of the optimizer (src/kernels/sparse.ts OPT_*). */
  get kind(): number {
    switch (this.name) {
      case 'adam': return OPT_ADAM;
      case 'adagrad': return OPT_ADAGRAD;
      case 'rowwise-adagrad': return OPT_ROWWISE;
      default: return OPT_SGD;
    }
  }

  /** The per-call rate the kernels take: Adam's step size (after begin()), else lr. */
  get rate(): number {
    return this.name === 'adam' ? this.adamRate : this.lr;
  }

  /** Update w[wOff..wOff+dim) of table row `row` from gradient g[gOff..gOff+dim). */
  updateRow(w: Float32Array, wOff: number, g: Float32Array, gOff: number, row: number): void {
    sparseOptimizerRow(this, w, wOff, g, gOff, row, this.dim);
  }

  bytes(): number {
    return bytesOf(this.m, this.v);
  }

  state(prefix: string): Record<string, ArrayBufferView> {
    return momentsState(prefix, this.m, this.v);
  }

  load(state: Record<string, ArrayBufferView>, prefix: string): void {
    loadMoments(state, prefix, this.m, this.v);
  }
}
