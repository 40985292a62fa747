// Step sizes Δ (the quantization scale of each row): their storage (f32, or f16 to save 2 bytes a
// row) and their optimizer. "step" alone always means the training iteration.
import { halfTable, toHalf } from '../quant/fp16.js';
import { allocArray, bytesOf, loadMoments, momentsState, type Allocator } from './memory.js';
import { adamStepSize } from './sparse-optimizer.js';

export type StepSizeDtype = 'f32' | 'f16';
export type StepSizeOptimizerName = 'adam' | 'adagrad' | 'sgd';
export const STEP_SIZE_OPTIMIZERS: readonly StepSizeOptimizerName[] = ['adam', 'adagrad', 'sgd'];
/** relative: the step-size learning rate is stepLr·Δ0 (scale-free across bit widths); absolute: stepLr. */
export type StepSizeLrScale = 'relative' | 'absolute';

/** Smallest |Δ| kept after an update (torch: clamp_min(1e-8)). */
export const MIN_STEP_SIZE = 1e-8;

/** Δ of row i of an f32 step-size array, or of an f16 one (bit patterns) given halfTable(). */
export function stepSizeAt(a: Float32Array | Uint16Array, half: Float32Array | null, i: number): number {
  return half !== null ? half[a[i]] : a[i];
}

/**
 * Store |x| clamped below at MIN_STEP_SIZE into an f32 or f16 step-size array, never letting f16
 * round it to 0 (which would divide by 0).
 */
export function setPositiveStepSize(a: Float32Array | Uint16Array, i: number, x: number): void {
  const v = Math.max(Math.abs(x), MIN_STEP_SIZE);
  if (a instanceof Float32Array) a[i] = v;
  else {
    const h = toHalf(v);
    a[i] = h === 0 ? 1 : h; // 1 = smallest subnormal half, 2^-24
  }
}

export class StepSizeStore {
  readonly f32: Float32Array | null;
  readonly f16: Uint16Array | null;
  private readonly half: Float32Array | null;

  constructor(readonly dtype: StepSizeDtype, readonly n: number, alloc: Allocator = allocArray) {
    if (dtype === 'f16') {
      this.f16 = alloc(Uint16Array, n, 'f16 step sizes');
      this.half = halfTable();
      this.f32 = null;
    } else if (dtype === 'f32') {
      this.f32 = alloc(Float32Array, n, 'step sizes');
      this.f16 = null;
      this.half = null;
    } else {
      throw new Error(`unknown step dtype '${dtype as string}'`);
    }
  }

  get(i: number): number {
    return this.f32 !== null ? this.f32[i] : this.half![this.f16![i]];
  }

  /** Store a value (rounded to the storage precision). */
  set(i: number, x: number): void {
    if (this.f32 !== null) this.f32[i] = x;
    else this.f16![i] = toHalf(x);
  }

  /** Store |x| clamped below at MIN_STEP_SIZE, never letting f16 round it to 0 (which would divide by 0). */
  setPositive(i: number, x: number): void {
    setPositiveStepSize(this.array, i, x);
  }

  fill(x: number): void {
    if (this.f32 !== null) this.f32.fill(x);
    else this.f16!.fill(toHalf(x));
  }

  get array(): Float32Array | Uint16Array {
    return (this.f32 ?? this.f16)!;
  }

  bytes(): number {
    return bytesOf(this.f32, this.f16);
  }
}

/**
 * Optimizer of n scalar step sizes. 'adam' keeps m, v per entry; `dense` selects torch.optim.Adam's
 * eps placement (p -= lr/bc1 · m/(sqrt(v)/sqrt(bc2)+eps), used for LSQ's single per-table Δ), else
 * torch.optim.SparseAdam's (p -= lr·sqrt(bc2)/bc1 · m/(sqrt(v)+eps), lazy: only touched entries).
 * Bias correction uses the global step. 'adagrad' keeps one accumulator per entry (4 bytes a row:
 * acc += g²; p -= lr·g/(sqrt(acc)+eps)), the memory-light choice; 'sgd' is stateless.
 */
/** Kernel ids of the step-size optimizers (assembly/sparse.ts learnStep). */
export const STEP_SIZE_SGD = 0;
export const STEP_SIZE_ADAM = 1;
export const STEP_SIZE_ADAGRAD = 2;

/**
 * What the table kernels read of a step-size optimizer (StepSizeOptimizer has these fields): kind
 * (STEP_SIZE_*), state m, v (per row; null when the kind keeps none), lr, Adam's per-call rate
 * (after begin()), β1, β2, eps.
 */
export interface StepSizeOptimizerArgs {
  readonly kind: number;
  readonly m: Float32Array | null;
  readonly v: Float32Array | null;
  readonly lr: number;
  readonly rate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/** The lazy (sparse) update of step size i, currently p, with gradient g: the new (unclamped) value. */
export function nextStepSize(o: StepSizeOptimizerArgs, i: number, p: number, g: number): number {
  const m = o.m, v = o.v;
  if (o.kind === STEP_SIZE_SGD) return p - o.lr * g;
  if (o.kind === STEP_SIZE_ADAGRAD) {
    const acc = Math.fround(m![i] + g * g);
    m![i] = acc;
    return p - (o.lr * g) / (Math.sqrt(acc) + o.eps);
  }
  const mi = Math.fround(m![i] + (1 - o.beta1) * (g - m![i]));
  const vi = Math.fround(v![i] + (1 - o.beta2) * (g * g - v![i]));
  m![i] = mi;
  v![i] = vi;
  return p - (o.rate * mi) / (Math.sqrt(vi) + o.eps);
}

export class StepSizeOptimizer implements StepSizeOptimizerArgs {
  readonly m: Float32Array | null;
  readonly v: Float32Array | null;
  private a = 0;
  private bc2sqrt = 1;

  constructor(
    readonly name: StepSizeOptimizerName, readonly n: number, public lr: number, readonly dense = false,
    readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8, alloc: Allocator = allocArray,
  ) {
    if (name === 'adam') {
      this.m = alloc(Float32Array, n, 'step-size adam m');
      this.v = alloc(Float32Array, n, 'step-size adam v');
    } else if (name === 'adagrad') {
      this.m = alloc(Float32Array, n, 'step-size adagrad accumulator');
      this.v = null;
    } else if (name === 'sgd') {
      this.m = this.v = null;
    } else {
      throw new Error(`unknown step optimizer '${name as string}'`);
    }
  }

  begin(step: number): void {
    if (this.name !== 'adam') return;
    if (this.dense) {
      if (!(step >= 1)) throw new RangeError(`Adam needs a 1-based step, got ${step}`);
      this.a = this.lr / (1 - Math.pow(this.beta1, step));
      this.bc2sqrt = Math.sqrt(1 - Math.pow(this.beta2, step));
    } else {
      this.a = adamStepSize(this.lr, this.beta1, this.beta2, step);
    }
  }

  /** Adam's per-call step size (after begin()); the kernels take it. */
  get rate(): number {
    return this.a;
  }

  /** Kernel id (assembly/sparse.ts learnStep): STEP_SIZE_SGD, STEP_SIZE_ADAM or STEP_SIZE_ADAGRAD. */
  get kind(): number {
    return this.name === 'adam' ? STEP_SIZE_ADAM : this.name === 'adagrad' ? STEP_SIZE_ADAGRAD : STEP_SIZE_SGD;
  }

  /** Updated value of parameter i, currently p, with gradient g. */
  next(i: number, p: number, g: number): number {
    if (!this.dense) return nextStepSize(this, i, p, g);
    if (this.m === null) return p - this.lr * g;
    if (this.v === null) {
      const acc = Math.fround(this.m[i] + g * g);
      this.m[i] = acc;
      return p - (this.lr * g) / (Math.sqrt(acc) + this.eps);
    }
    const m = Math.fround(this.m[i] + (1 - this.beta1) * (g - this.m[i]));
    const v = Math.fround(this.v![i] + (1 - this.beta2) * (g * g - this.v![i]));
    this.m[i] = m;
    this.v![i] = v;
    const denom = this.dense ? Math.sqrt(v) / this.bc2sqrt + this.eps : Math.sqrt(v) + this.eps;
    return p - (this.a * m) / denom;
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

/** Effective step-size learning rate. */
export function effectiveStepSizeLr(stepLr: number, scale: StepSizeLrScale, initStepSize: number): number {
  if (scale === 'relative') return stepLr * initStepSize;
  if (scale === 'absolute') return stepLr;
  throw new Error(`unknown stepLrScale '${scale as string}'`);
}

export const DEFAULT_STEP_SIZE_LR = 0.01;
