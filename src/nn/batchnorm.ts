// BatchNorm1d over [batch × dim], torch semantics: training normalises with the batch mean and
// biased variance and updates running stats with momentum and the UNBIASED variance; eval uses
// the running stats. gamma = 1, beta = 0 at init.
//
// Like torch's CPU kernel, the normalisation is applied as a per-column affine map
// y = x·a + c (a = γ·invstd, c = β − mean·a), and x̂ is not stored: backward recomputes it from
// the kept input, so a training step makes 3 passes forward and 2 backward over [B×D].

import type { Backend } from '../kernels/backend.js';
import { RowBuffer, makeParam } from './buffers.js';
import type { Layer, LayerExtras, NamedBuffer, Param } from './layer.js';

export interface BatchNormOptions {
  momentum?: number;
  eps?: number;
}

export class BatchNorm1d implements Layer, LayerExtras {
  readonly outDim: number;
  readonly gamma: Param;
  readonly beta: Param;
  readonly runningMean: Float32Array;
  readonly runningVar: Float32Array;
  readonly momentum: number;
  readonly eps: number;
  /** Update running stats in training forwards (default true; turn off for a second pass). */
  trackRunningStats = true;

  private readonly y: RowBuffer;
  private readonly dx: RowBuffer;
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private readonly ca: Float64Array;
  private readonly cb: Float64Array;
  private readonly cc: Float64Array;
  private readonly acc1: Float64Array;
  private readonly acc2: Float64Array;
  private x: Float32Array | null = null;
  private lastTraining = true;

  constructor(backend: Backend, readonly inDim: number, opts: BatchNormOptions = {}) {
    this.outDim = inDim;
    this.momentum = opts.momentum ?? 0.1;
    this.eps = opts.eps ?? 1e-5;
    this.gamma = makeParam(backend, 'weight', inDim, false);
    this.beta = makeParam(backend, 'bias', inDim, false);
    this.gamma.value.fill(1);
    this.runningMean = backend.alloc(inDim);
    this.runningVar = backend.alloc(inDim);
    this.runningVar.fill(1);
    this.y = new RowBuffer(backend, inDim);
    this.dx = new RowBuffer(backend, inDim);
    this.mean = new Float64Array(inDim);
    this.invStd = new Float64Array(inDim);
    this.ca = new Float64Array(inDim);
    this.cb = new Float64Array(inDim);
    this.cc = new Float64Array(inDim);
    this.acc1 = new Float64Array(inDim);
    this.acc2 = new Float64Array(inDim);
  }

  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    const d = this.inDim;
    const y = this.y.get(batch);
    const mean = this.mean;
    const inv = this.invStd;
    const g = this.gamma.value;
    const b = this.beta.value;
    this.lastTraining = training;
    if (training) {
      // Two passes (mean, then centred squares) in float64: exact enough for any offset.
      const s = this.acc1;
      s.fill(0);
      for (let i = 0; i < batch; i++) {
        const o = i * d;
        for (let j = 0; j < d; j++) s[j] += x[o + j];
      }
      for (let j = 0; j < d; j++) mean[j] = s[j] / batch;
      const q = this.acc2;
      q.fill(0);
      for (let i = 0; i < batch; i++) {
        const o = i * d;
        for (let j = 0; j < d; j++) {
          const c = x[o + j] - mean[j];
          q[j] += c * c;
        }
      }
      const m = this.momentum;
      const rm = this.runningMean;
      const rv = this.runningVar;
      const track = this.trackRunningStats;
      for (let j = 0; j < d; j++) {
        const v = q[j] / batch;
        inv[j] = 1 / Math.sqrt(v + this.eps);
        if (track) {
          rm[j] = (1 - m) * rm[j] + m * mean[j];
          rv[j] = (1 - m) * rv[j] + m * (batch > 1 ? q[j] / (batch - 1) : v);
        }
      }
    } else {
      const rm = this.runningMean;
      const rv = this.runningVar;
      for (let j = 0; j < d; j++) {
        mean[j] = rm[j];
        inv[j] = 1 / Math.sqrt(rv[j] + this.eps);
      }
    }
    const a = this.ca;
    const c = this.cb;
    for (let j = 0; j < d; j++) {
      a[j] = g[j] * inv[j];
      c[j] = b[j] - mean[j] * a[j];
    }
    for (let i = 0; i < batch; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) y[o + j] = x[o + j] * a[j] + c[j];
    }
    this.x = x;
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const x = this.x;
    if (!x) throw new Error('BatchNorm1d.backward before forward');
    const d = this.inDim;
    const sdy = this.acc1;
    const sdyx = this.acc2;
    sdy.fill(0);
    sdyx.fill(0);
    for (let i = 0; i < batch; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) {
        const t = dy[o + j];
        sdy[j] += t;
        sdyx[j] += t * x[o + j];
      }
    }
    const gg = this.gamma.grad;
    const gb = this.beta.grad;
    const g = this.gamma.value;
    const mean = this.mean;
    const inv = this.invStd;
    // k·dy + p·x + q per column (see the header): dx = γ·invstd·(dy − Σdy/B − x̂·Σ(dy·x̂)/B).
    const k = this.ca;
    const p = this.cb;
    const q = this.cc;
    const training = this.lastTraining;
    for (let j = 0; j < d; j++) {
      const dbeta = sdy[j];
      const dgamma = (sdyx[j] - mean[j] * dbeta) * inv[j]; // Σ dy·x̂
      gg[j] = dgamma;
      gb[j] = dbeta;
      const kj = g[j] * inv[j];
      k[j] = kj;
      if (training) {
        const pj = (-kj * inv[j] * dgamma) / batch;
        p[j] = pj;
        q[j] = (-kj * dbeta) / batch - pj * mean[j];
      } else {
        p[j] = 0;
        q[j] = 0;
      }
    }
    const dx = this.dx.get(batch);
    if (training) {
      for (let i = 0; i < batch; i++) {
        const o = i * d;
        for (let j = 0; j < d; j++) dx[o + j] = dy[o + j] * k[j] + x[o + j] * p[j] + q[j];
      }
    } else {
      for (let i = 0; i < batch; i++) {
        const o = i * d;
        for (let j = 0; j < d; j++) dx[o + j] = dy[o + j] * k[j];
      }
    }
    return dx;
  }

  setTrackRunningStats(on: boolean): void {
    this.trackRunningStats = on;
  }

  params(): Param[] {
    return [this.gamma, this.beta];
  }

  buffers(): NamedBuffer[] {
    return [
      { name: 'running_mean', value: this.runningMean },
      { name: 'running_var', value: this.runningVar },
    ];
  }
}
