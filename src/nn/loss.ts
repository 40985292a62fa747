// Sigmoid + binary cross entropy on logits, numerically stable (torch's
// binary_cross_entropy_with_logits, mean reduction):
//   ℓ(z, y) = max(z, 0) − z·y + log(1 + e^{−|z|}),   ∂ℓ/∂z = σ(z) − y.

import type { Backend } from '../kernels/backend.js';

/** Stable logistic sigmoid. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** out[i] = σ(z[i]) for i < n. */
export function sigmoidInto(z: Float32Array, out: Float32Array, n: number = z.length): void {
  for (let i = 0; i < n; i++) {
    const v = z[i];
    if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
    else {
      const e = Math.exp(v);
      out[i] = e / (1 + e);
    }
  }
}

/** Stable per-example BCE with logits (float64). */
export function bceWithLogits(z: number, y: number): number {
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

/** Mean BCE over logits[0..n) (float64 accumulation). */
export function meanBceWithLogits(logits: Float32Array, labels: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const z = logits[i];
    s += Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return n > 0 ? s / n : 0;
}

export class BCEWithLogitsLoss {
  private grad: Float32Array = new Float32Array(0);
  private view: Float32Array = this.grad;
  private logits: Float32Array | null = null;
  private labels: ArrayLike<number> | null = null;
  private n = 0;

  constructor(private readonly backend?: Backend) {}

  /** Mean loss over the batch; keeps references to logits and labels for backward. */
  forward(logits: Float32Array, labels: ArrayLike<number>, batch: number): number {
    this.logits = logits;
    this.labels = labels;
    this.n = batch;
    return meanBceWithLogits(logits, labels, batch);
  }

  /** dlogits[i] = (σ(z_i) − y_i) / B, owned by the loss and reused. */
  backward(): Float32Array {
    const z = this.logits;
    const y = this.labels;
    if (!z || !y) throw new Error('BCEWithLogitsLoss.backward before forward');
    const n = this.n;
    if (this.grad.length < n) {
      this.grad = this.backend ? this.backend.alloc(n) : new Float32Array(n);
      this.view = this.grad;
    }
    if (this.view.length !== n) this.view = this.grad.subarray(0, n);
    const g = this.view;
    const inv = 1 / n;
    for (let i = 0; i < n; i++) {
      const v = z[i];
      let p: number;
      if (v >= 0) p = 1 / (1 + Math.exp(-v));
      else {
        const e = Math.exp(v);
        p = e / (1 + e);
      }
      g[i] = (p - y[i]) * inv;
    }
    return g;
  }
}
