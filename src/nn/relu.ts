// Rectified linear unit. When fused into the BatchNorm1d before it (BatchNorm1d.fuseReLU), that
// layer applies it and this one passes values and gradients through.

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { opsOf } from '../kernels/ops-js.js';
import { RowBuffer } from './buffers.js';
import type { Layer, Param } from './layer.js';

export class ReLU implements Layer {
  readonly outDim: number;
  private readonly y: RowBuffer;
  private readonly dx: RowBuffer;
  private out: Float32Array | null = null;
  private readonly ops: ElementwiseOps;
  private fused = false;

  constructor(backend: Backend, readonly inDim: number) {
    this.outDim = inDim;
    this.ops = opsOf(backend);
    this.y = new RowBuffer(backend, inDim);
    this.dx = new RowBuffer(backend, inDim);
  }

  forward(x: Float32Array, batch: number, _training: boolean): Float32Array {
    if (this.fused) return x;
    const y = this.y.get(batch);
    this.ops.relu(x, batch * this.inDim, y);
    this.out = y;
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    if (this.fused) return dy;
    const y = this.out;
    if (!y) throw new Error('ReLU.backward before forward');
    const dx = this.dx.get(batch);
    this.ops.reluBackward(dy, y, batch * this.inDim, dx);
    return dx;
  }

  /** Pass-through mode: the preceding BatchNorm1d applies this ReLU (see BatchNorm1d.fuseReLU). */
  setFused(on: boolean): void {
    this.fused = on;
  }

  get isFused(): boolean {
    return this.fused;
  }

  params(): Param[] {
    return [];
  }
}
