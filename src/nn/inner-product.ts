// IPNN inner products of all field pairs: [B × F·d] → [B × F(F−1)/2], pairs (i, j), i < j, in
// row-major order (0,1), (0,2), …, (0,F−1), (1,2), …

import type { Backend } from '../kernels/backend.js';
import { RowBuffer } from './buffers.js';
import type { Layer, Param } from './layer.js';

export class InnerProduct implements Layer {
  readonly inDim: number;
  readonly outDim: number;
  private readonly y: RowBuffer;
  private readonly dx: RowBuffer;
  private x: Float32Array | null = null;

  constructor(
    backend: Backend,
    readonly numFields: number,
    readonly dim: number,
  ) {
    this.inDim = numFields * dim;
    this.outDim = (numFields * (numFields - 1)) / 2;
    this.y = new RowBuffer(backend, this.outDim);
    this.dx = new RowBuffer(backend, this.inDim);
  }

  forward(x: Float32Array, batch: number, _training: boolean): Float32Array {
    const F = this.numFields;
    const d = this.dim;
    const w = this.inDim;
    const P = this.outDim;
    const y = this.y.get(batch);
    for (let r = 0; r < batch; r++) {
      const o = r * w;
      let p = r * P;
      for (let i = 0; i < F; i++) {
        const io = o + i * d;
        for (let j = i + 1; j < F; j++) {
          const jo = o + j * d;
          let dot = 0;
          for (let k = 0; k < d; k++) dot += x[io + k] * x[jo + k];
          y[p++] = dot;
        }
      }
    }
    this.x = x;
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const x = this.x;
    if (!x) throw new Error('InnerProduct.backward before forward');
    const F = this.numFields;
    const d = this.dim;
    const w = this.inDim;
    const P = this.outDim;
    const dx = this.dx.get(batch);
    dx.fill(0);
    for (let r = 0; r < batch; r++) {
      const o = r * w;
      let p = r * P;
      for (let i = 0; i < F; i++) {
        const io = o + i * d;
        for (let j = i + 1; j < F; j++) {
          const jo = o + j * d;
          const g = dy[p++];
          if (g === 0) continue;
          for (let k = 0; k < d; k++) {
            dx[io + k] += g * x[jo + k];
            dx[jo + k] += g * x[io + k];
          }
        }
      }
    }
    return dx;
  }

  params(): Param[] {
    return [];
  }
}
