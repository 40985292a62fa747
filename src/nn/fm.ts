// Factorization-machine second-order interaction over F fields of dim d (Rendle 2010):
//   FM:             [B × F·d] → [B × 1],  y = ½ Σ_k ((Σ_f v_fk)² − Σ_f v_fk²)
//   BiInteraction:  [B × F·d] → [B × d],  y_k = ½ ((Σ_f v_fk)² − Σ_f v_fk²)   (NFM)
// Both keep s_k = Σ_f v_fk per row; ∂y_k/∂v_fk = s_k − v_fk.

import type { Backend } from '../kernels/backend.js';
import { RowBuffer } from './buffers.js';
import type { Layer, Param } from './layer.js';

abstract class PairwiseSum implements Layer {
  readonly inDim: number;
  abstract readonly outDim: number;
  protected readonly y: RowBuffer;
  protected readonly sBuf: RowBuffer;
  protected readonly dx: RowBuffer;
  protected x: Float32Array | null = null;
  protected s: Float32Array | null = null;

  constructor(
    backend: Backend,
    readonly numFields: number,
    readonly dim: number,
    outDim: number,
  ) {
    this.inDim = numFields * dim;
    this.y = new RowBuffer(backend, outDim);
    this.sBuf = new RowBuffer(backend, dim);
    this.dx = new RowBuffer(backend, numFields * dim);
  }

  /** Fills s (B×d) with field sums and writes per-row outputs (vector=true: y_k, else Σ_k y_k). */
  protected run(x: Float32Array, batch: number, vector: boolean): Float32Array {
    const F = this.numFields;
    const d = this.dim;
    const w = F * d;
    const s = this.sBuf.get(batch);
    const y = this.y.get(batch);
    for (let i = 0; i < batch; i++) {
      const o = i * w;
      const so = i * d;
      for (let k = 0; k < d; k++) s[so + k] = 0;
      let tot = 0;
      const yo = vector ? i * d : 0;
      if (vector) for (let k = 0; k < d; k++) y[yo + k] = 0;
      // Σ_f v and Σ_f v² in one pass; q accumulates into y temporarily when vector.
      let q = 0;
      for (let f = 0; f < F; f++) {
        const fo = o + f * d;
        for (let k = 0; k < d; k++) {
          const v = x[fo + k];
          s[so + k] += v;
          if (vector) y[yo + k] += v * v;
          else q += v * v;
        }
      }
      if (vector) {
        for (let k = 0; k < d; k++) {
          const sk = s[so + k];
          y[yo + k] = 0.5 * (sk * sk - y[yo + k]);
        }
      } else {
        for (let k = 0; k < d; k++) {
          const sk = s[so + k];
          tot += sk * sk;
        }
        y[i] = 0.5 * (tot - q);
      }
    }
    this.x = x;
    this.s = s;
    return y;
  }

  protected back(dy: Float32Array, batch: number, vector: boolean): Float32Array {
    const x = this.x;
    const s = this.s;
    if (!x || !s) throw new Error('FM.backward before forward');
    const F = this.numFields;
    const d = this.dim;
    const w = F * d;
    const dx = this.dx.get(batch);
    for (let i = 0; i < batch; i++) {
      const o = i * w;
      const so = i * d;
      if (vector) {
        const yo = i * d;
        for (let f = 0; f < F; f++) {
          const fo = o + f * d;
          for (let k = 0; k < d; k++) dx[fo + k] = dy[yo + k] * (s[so + k] - x[fo + k]);
        }
      } else {
        const g = dy[i];
        for (let f = 0; f < F; f++) {
          const fo = o + f * d;
          for (let k = 0; k < d; k++) dx[fo + k] = g * (s[so + k] - x[fo + k]);
        }
      }
    }
    return dx;
  }

  abstract forward(x: Float32Array, batch: number, training: boolean): Float32Array;
  abstract backward(dy: Float32Array, batch: number): Float32Array;

  params(): Param[] {
    return [];
  }
}

/** FM second-order term: [B × F·d] → [B × 1]. */
export class FM extends PairwiseSum {
  readonly outDim = 1;
  constructor(backend: Backend, numFields: number, dim: number) {
    super(backend, numFields, dim, 1);
  }
  forward(x: Float32Array, batch: number, _training: boolean): Float32Array {
    return this.run(x, batch, false);
  }
  backward(dy: Float32Array, batch: number): Float32Array {
    return this.back(dy, batch, false);
  }
}

/** NFM bi-interaction pooling: [B × F·d] → [B × d]. */
export class BiInteraction extends PairwiseSum {
  readonly outDim: number;
  constructor(backend: Backend, numFields: number, dim: number) {
    super(backend, numFields, dim, dim);
    this.outDim = dim;
  }
  forward(x: Float32Array, batch: number, _training: boolean): Float32Array {
    return this.run(x, batch, true);
  }
  backward(dy: Float32Array, batch: number): Float32Array {
    return this.back(dy, batch, true);
  }
}
