// Inverted dropout with a counter-based mask: element (row r, col c) of step s is kept iff
// uniform(key, Stream.dropout, s, r·dim + c) >= rate, where key mixes the run seed and layer id.
// The mask is a pure function of (seed, id, step, index): resumed runs reproduce it exactly.

import type { Backend } from '../kernels/backend.js';
import { Stream, uniform } from '../util/rng.js';
import { RowBuffer } from './buffers.js';
import type { Layer, LayerExtras, Param } from './layer.js';

export interface DropoutOptions {
  seed?: number;
  /** Layer id: distinct dropout layers should use distinct ids (independent masks). */
  id?: number;
}

export class Dropout implements Layer, LayerExtras {
  readonly outDim: number;
  private readonly y: RowBuffer;
  private readonly dx: RowBuffer;
  private readonly maskBuf: RowBuffer;
  private mask: Float32Array | null = null;
  private readonly key: number;
  private active = false;
  /** The global step the next training forward draws its mask for; set with setStep(). */
  step = 0;

  constructor(
    backend: Backend,
    readonly inDim: number,
    readonly rate: number,
    opts: DropoutOptions = {},
  ) {
    if (!(rate >= 0 && rate < 1)) throw new Error(`Dropout rate must be in [0, 1), got ${rate}`);
    this.outDim = inDim;
    this.key = ((opts.seed ?? 0) ^ Math.imul(opts.id ?? 0, 0x27d4eb2f)) >>> 0;
    this.y = new RowBuffer(backend, inDim);
    this.dx = new RowBuffer(backend, inDim);
    this.maskBuf = new RowBuffer(backend, inDim);
  }

  setStep(step: number): void {
    this.step = step;
  }

  /**
   * Training: y = x·mask with mask ∈ {0, 1/(1−rate)}. Eval or rate 0: identity, and the input
   * buffer itself is returned (no copy).
   */
  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    this.active = training && this.rate > 0;
    if (!this.active) return x;
    const n = batch * this.inDim;
    const y = this.y.get(batch);
    const mask = this.maskBuf.get(batch);
    const p = this.rate;
    const scale = 1 / (1 - p);
    const key = this.key;
    const s = this.step;
    for (let i = 0; i < n; i++) {
      const m = uniform(key, Stream.dropout, s, i) >= p ? scale : 0;
      mask[i] = m;
      y[i] = x[i] * m;
    }
    this.mask = mask;
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    if (!this.active) return dy;
    const mask = this.mask!;
    const dx = this.dx.get(batch);
    const n = batch * this.inDim;
    for (let i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
    return dx;
  }

  params(): Param[] {
    return [];
  }
}
