// Dense optimizers over Param[] with torch semantics. Gradients are read as left by backward
// (overwritten each step, so there is no zero_grad).

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { jsOps, opsOf } from '../kernels/ops-js.js';
import type { Param } from './layer.js';

export interface Optimizer {
  lr: number;
  step(): void;
  /** Number of step() calls so far. */
  readonly steps: number;
  /** Copies of the optimizer state, keyed `${param.name}.${slot}` plus `step`. */
  state(): Record<string, Float32Array>;
  load(state: Record<string, ArrayBufferView>): void;
}

function checkNames(params: Param[]): void {
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.name)) throw new Error(`optimizer: duplicate param name '${p.name}' (state would be ambiguous)`);
    seen.add(p.name);
  }
}

/** A Float32Array over a saved tensor (a view if aligned, else a copy). */
function asF32(v: ArrayBufferView): Float32Array {
  if (v instanceof Float32Array) return v;
  if (v.byteOffset % 4 === 0) return new Float32Array(v.buffer, v.byteOffset, v.byteLength >> 2);
  return new Float32Array(new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice().buffer);
}

function loadInto(state: Record<string, ArrayBufferView>, key: string, dst: Float32Array): void {
  const raw = state[key];
  if (!raw) throw new Error(`optimizer state: missing '${key}'`);
  const src = asF32(raw);
  if (src.length !== dst.length) throw new Error(`optimizer state: '${key}' has ${src.length} values, expected ${dst.length}`);
  dst.set(src);
}

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 (or with decoupled, AdamW) weight decay, applied to params with decay=true only. */
  weightDecay?: number;
  /** AdamW: p ← p·(1 − lr·wd) instead of adding wd·p to the gradient. */
  decoupled?: boolean;
  /** Backend whose element-wise kernels run the update (its alloc() holds the moments). */
  backend?: Backend;
}

/**
 * torch.optim.Adam (and AdamW with decoupled=true):
 *   g ← grad (+ wd·p);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 * in float32 arithmetic (like torch), by the backend's ops.adam.
 */
export class Adam implements Optimizer {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  private t = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly ops: ElementwiseOps;

  constructor(
    readonly params: Param[],
    opts: AdamOptions = {},
  ) {
    checkNames(params);
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.decoupled = opts.decoupled ?? false;
    const be = opts.backend;
    this.ops = be ? opsOf(be) : jsOps;
    this.m = params.map((p) => (be ? be.alloc(p.value.length) : new Float32Array(p.value.length)));
    this.v = params.map((p) => (be ? be.alloc(p.value.length) : new Float32Array(p.value.length)));
  }

  get steps(): number {
    return this.t;
  }

  step(): void {
    const t = ++this.t;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const stepSize = this.lr / (1 - Math.pow(b1, t));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, t));
    const ops = this.ops;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const w = p.value;
      const n = w.length;
      const wd = p.decay ? this.weightDecay : 0;
      if (wd !== 0 && this.decoupled) ops.scale(w, n, 1 - this.lr * wd);
      ops.adam(w, p.grad, this.m[k], this.v[k], n, b1, b2, stepSize, bc2Sqrt, this.eps, this.decoupled ? 0 : wd);
    }
  }

  state(): Record<string, Float32Array> {
    const s: Record<string, Float32Array> = { step: new Float32Array([this.t]) };
    this.params.forEach((p, k) => {
      s[`${p.name}.exp_avg`] = this.m[k].slice();
      s[`${p.name}.exp_avg_sq`] = this.v[k].slice();
    });
    return s;
  }

  load(state: Record<string, ArrayBufferView>): void {
    const st = state.step ? asF32(state.step) : null;
    if (!st || st.length !== 1) throw new Error("optimizer state: missing 'step'");
    this.params.forEach((p, k) => {
      loadInto(state, `${p.name}.exp_avg`, this.m[k]);
      loadInto(state, `${p.name}.exp_avg_sq`, this.v[k]);
    });
    this.t = st[0];
  }
}

export interface SgdOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** L2 weight decay added to the gradient, for params with decay=true. */
  weightDecay?: number;
}

/** torch.optim.SGD: g ← grad + wd·p; buf ← g (first step) or μ·buf + (1−τ)·g; p ← p − lr·(buf or g + μ·buf). */
export class SGD implements Optimizer {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private t = 0;
  private readonly buf: Float32Array[];

  constructor(
    readonly params: Param[],
    opts: SgdOptions = {},
  ) {
    checkNames(params);
    this.lr = opts.lr ?? 1e-2;
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    this.buf = this.momentum !== 0 ? params.map((p) => new Float32Array(p.value.length)) : [];
  }

  get steps(): number {
    return this.t;
  }

  step(): void {
    const first = this.t === 0;
    this.t++;
    const lr = this.lr;
    const mu = this.momentum;
    const damp = 1 - this.dampening;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const w = p.value;
      const g = p.grad;
      const n = w.length;
      const wd = p.decay ? this.weightDecay : 0;
      if (mu === 0) {
        for (let i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
        continue;
      }
      const b = this.buf[k];
      for (let i = 0; i < n; i++) {
        const gi = g[i] + wd * w[i];
        const bi = (b[i] = first ? gi : mu * b[i] + damp * gi);
        w[i] -= lr * (this.nesterov ? gi + mu * bi : bi);
      }
    }
  }

  state(): Record<string, Float32Array> {
    const s: Record<string, Float32Array> = { step: new Float32Array([this.t]) };
    this.params.forEach((p, k) => {
      if (this.momentum !== 0) s[`${p.name}.momentum_buffer`] = this.buf[k].slice();
    });
    return s;
  }

  load(state: Record<string, ArrayBufferView>): void {
    const st = state.step ? asF32(state.step) : null;
    if (!st || st.length !== 1) throw new Error("optimizer state: missing 'step'");
    if (this.momentum !== 0) this.params.forEach((p, k) => loadInto(state, `${p.name}.momentum_buffer`, this.buf[k]));
    this.t = st[0];
  }
}
