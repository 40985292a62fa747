// BatchNorm1d over [batch × dim], torch semantics: training normalises with the batch mean and
// biased variance and updates running stats with momentum and the UNBIASED variance; eval uses
// the running stats. gamma = 1, beta = 0 at init.
//
// The kernels are the backend's (ops.batchNormForward/Backward): per-column statistics in
// float64, then y = (x − mean)·γ·invstd + β. x̂ is not stored: backward recomputes it from the kept
// input and the float32 mean/invstd, so a training step makes 3 passes forward and 2 backward over
// [B×D]. A following ReLU can be fused in (fuseReLU; buildMlp does it): the forward then writes
// max(y, 0) and the backward masks dy by it, saving a pass each way.

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { opsOf } from '../kernels/ops-js.js';
import { RowBuffer, makeParam } from './buffers.js';
import type { Layer, LayerExtras, NamedBuffer, Param } from './layer.js';
import type { ReLU } from './relu.js';

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

  private readonly ops: ElementwiseOps;
  private readonly y: RowBuffer;
  private readonly dx: RowBuffer;
  private readonly mean: Float32Array;
  private readonly invStd: Float32Array;
  private x: Float32Array | null = null;
  private out: Float32Array | null = null;
  private lastTraining = true;
  private relu = false;

  constructor(backend: Backend, readonly inDim: number, opts: BatchNormOptions = {}) {
    this.outDim = inDim;
    this.ops = opsOf(backend);
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
    this.mean = backend.alloc(inDim);
    this.invStd = backend.alloc(inDim);
  }

  /**
   * Apply `relu` (the layer right after this one, fed with this layer's output) inside this
   * layer's kernels; relu then passes values and gradients through unchanged.
   */
  fuseReLU(relu: ReLU): void {
    if (relu.inDim !== this.outDim) throw new Error(`fuseReLU: ReLU width ${relu.inDim} ≠ ${this.outDim}`);
    relu.setFused(true);
    this.relu = true;
  }

  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    const y = this.y.get(batch);
    this.lastTraining = training;
    this.ops.batchNormForward(
      x, batch, this.inDim, this.gamma.value, this.beta.value, this.runningMean, this.runningVar,
      this.mean, this.invStd, y, training, this.trackRunningStats, this.momentum, this.eps, this.relu,
    );
    this.x = x;
    this.out = y;
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const x = this.x;
    if (!x) throw new Error('BatchNorm1d.backward before forward');
    const dx = this.dx.get(batch);
    this.ops.batchNormBackward(
      x, dy, this.relu ? this.out : null, batch, this.inDim, this.gamma.value, this.mean, this.invStd,
      this.gamma.grad, this.beta.grad, dx, this.lastTraining,
    );
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
