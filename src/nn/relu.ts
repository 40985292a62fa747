// Rectified linear unit.

import type { Backend } from '../kernels/backend.js';
import { RowBuffer } from './buffers.js';
import type { Layer, Param } from './layer.js';

export class ReLU implements Layer {
  readonly outDim: number;
  private readonly y: RowBuffer;
  private readonly dx: RowBuffer;
  private out: Float32Array | null = null;

  constructor(backend: Backend, readonly inDim: number) {
    this.outDim = inDim;
    this.y = new RowBuffer(backend, inDim);
    this.dx = new RowBuffer(backend, inDim);
  }

  forward(x: Float32Array, batch: number, _training: boolean): Float32Array {
    const y = this.y.get(batch);
    const n = batch * this.inDim;
    // Branchless (v·[v>0]): random signs make a branch mispredict half the time.
    for (let i = 0; i < n; i++) {
      const v = x[i];
      y[i] = v * +(v > 0);
    }
    this.out = y;
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const y = this.out;
    if (!y) throw new Error('ReLU.backward before forward');
    const dx = this.dx.get(batch);
    const n = batch * this.inDim;
    for (let i = 0; i < n; i++) dx[i] = dy[i] * +(y[i] > 0);
    return dx;
  }

  params(): Param[] {
    return [];
  }
}
