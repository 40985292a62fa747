// Finite-difference gradient checks. Buffers stay float32 (as the layers compute), the scalar
// loss L = Σ r_i·y_i (fixed random weights r) is accumulated in float64, and derivatives use
// central differences divided by the actually representable float32 step.

import { CounterRng } from '../util/rng.js';
import type { Layer } from './layer.js';

export interface GradCheckOptions {
  batch: number;
  /** Input [batch × inDim]; standard normal if omitted. Not modified on return. */
  x?: Float32Array;
  /** Allocator for the input and output-gradient arrays (e.g. a backend's alloc; default: new). */
  alloc?: (n: number) => Float32Array;
  /** Forward mode (default true). */
  training?: boolean;
  /** Finite-difference step (default 1e-2). */
  eps?: number;
  /**
   * Denominator floor of the relative error, as a fraction of the largest |analytic| entry over
   * all checked tensors (default 1e-2): entries far below the gradient scale (e.g. a bias feeding
   * BatchNorm, whose true gradient is 0) are judged on absolute error relative to that scale.
   */
  floor?: number;
  /** Check at most this many entries per tensor, evenly spaced (default 256). */
  maxChecks?: number;
  seed?: number;
  /** Check the input gradient (default true). */
  input?: boolean;
  /** Check parameter gradients (default true). */
  params?: boolean;
}

export interface GradCheckEntry {
  tensor: string;
  index: number;
  analytic: number;
  numeric: number;
  relErr: number;
}

export interface GradCheckResult {
  /** max over checked entries of |a − n| / max(|a|, |n|, floor). */
  maxRelErr: number;
  worst: GradCheckEntry | null;
  /** Max relative error per tensor ('input' or param name). */
  perTensor: Record<string, number>;
  checked: number;
}

/**
 * Compare analytic ∂f/∂target against central differences. f must recompute from target's
 * current contents. Updates result in place. The relative-error denominator is floored at
 * floor·scale, scale defaulting to max |analytic| of this tensor.
 */
export function compareGrad(
  f: () => number,
  target: Float32Array,
  analytic: ArrayLike<number>,
  name: string,
  result: GradCheckResult,
  opts: { eps?: number; floor?: number; maxChecks?: number; scale?: number } = {},
): void {
  const eps = opts.eps ?? 1e-2;
  const maxChecks = opts.maxChecks ?? 256;
  const n = target.length;
  let amax = opts.scale ?? 0;
  if (opts.scale === undefined) for (let i = 0; i < n; i++) amax = Math.max(amax, Math.abs(analytic[i]));
  const floor = Math.max((opts.floor ?? 1e-2) * amax, 1e-12);
  const stride = n <= maxChecks ? 1 : n / maxChecks;
  let worst = result.perTensor[name] ?? 0;
  let last = -1;
  for (let c = 0; c < Math.min(n, maxChecks); c++) {
    const i = Math.floor(c * stride);
    if (i === last) continue;
    last = i;
    const orig = target[i];
    target[i] = orig + eps;
    const xp = target[i];
    const lp = f();
    target[i] = orig - eps;
    const xm = target[i];
    const lm = f();
    target[i] = orig;
    const num = (lp - lm) / (xp - xm);
    const a = analytic[i];
    const err = Math.abs(a - num) / Math.max(Math.abs(a), Math.abs(num), floor);
    result.checked++;
    if (err > worst) worst = err;
    if (err > result.maxRelErr || result.worst === null) {
      if (err >= result.maxRelErr) result.worst = { tensor: name, index: i, analytic: a, numeric: num, relErr: err };
      result.maxRelErr = Math.max(result.maxRelErr, err);
    }
  }
  result.perTensor[name] = worst;
}

/** Gradient check of a Layer with respect to its input and its parameters. */
export function gradCheck(layer: Layer, opts: GradCheckOptions): GradCheckResult {
  const B = opts.batch;
  const training = opts.training ?? true;
  const rng = new CounterRng(opts.seed ?? 1234, 99, 0);
  const alloc = opts.alloc ?? ((n: number) => new Float32Array(n));
  const x = alloc(B * layer.inDim);
  if (opts.x) x.set(opts.x.subarray(0, x.length));
  else for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const nOut = B * layer.outDim;
  const r = new Float64Array(nOut);
  const r32 = alloc(nOut);
  for (let i = 0; i < nOut; i++) r32[i] = r[i] = rng.normal();

  const loss = (): number => {
    const y = layer.forward(x, B, training);
    let s = 0;
    for (let i = 0; i < nOut; i++) s += r[i] * y[i];
    return s;
  };

  // Analytic gradients (copied: the layer reuses its buffers).
  loss();
  const dx = layer.backward(r32, B).slice(0, x.length);
  const params = layer.params();
  const pgrads = params.map((p) => p.grad.slice());

  const result: GradCheckResult = { maxRelErr: 0, worst: null, perTensor: {}, checked: 0 };
  let scale = 0;
  if (opts.input !== false) for (let i = 0; i < dx.length; i++) scale = Math.max(scale, Math.abs(dx[i]));
  if (opts.params !== false) for (const g of pgrads) for (let i = 0; i < g.length; i++) scale = Math.max(scale, Math.abs(g[i]));
  const cmp = { eps: opts.eps, floor: opts.floor, maxChecks: opts.maxChecks, scale };
  if (opts.input !== false) compareGrad(loss, x, dx, 'input', result, cmp);
  if (opts.params !== false) params.forEach((p, k) => compareGrad(loss, p.value, pgrads[k], p.name, result, cmp));
  return result;
}
