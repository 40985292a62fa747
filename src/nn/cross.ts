// DCN cross network (Wang et al. 2017), as in torch_ref:
//   x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l,   w_l ∈ R^d ~ N(0, 0.01²), b_l = 0.
// One Layer: input x0 [B×d] → output x_L [B×d]; backward returns the full gradient w.r.t. x0
// (through the explicit x0 factor of every layer and through the x_l chain).

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { opsOf } from '../kernels/ops-js.js';
import { CounterRng, Stream } from '../util/rng.js';
import { RowBuffer, makeParam } from './buffers.js';
import type { Layer, Param } from './layer.js';

export interface CrossOptions {
  seed?: number;
  id?: number;
  /** Std of the w init (default 0.01, torch_ref's randn·0.01). */
  initStd?: number;
}

export class CrossNetwork implements Layer {
  readonly inDim: number;
  readonly outDim: number;
  readonly w: Param[] = [];
  readonly b: Param[] = [];
  /** xs[l] holds x_{l+1}. */
  private readonly xs: RowBuffer[] = [];
  /** s[l] holds x_l·w_l, one scalar per row. */
  private readonly s: RowBuffer[] = [];
  private readonly gA: RowBuffer;
  private readonly gB: RowBuffer;
  private readonly dx0: RowBuffer;
  private readonly ops: ElementwiseOps;
  private x0: Float32Array | null = null;
  private paramGrads = true;

  constructor(
    backend: Backend,
    readonly dim: number,
    readonly numLayers: number,
    opts: CrossOptions = {},
  ) {
    this.inDim = dim;
    this.outDim = dim;
    const rng = new CounterRng(opts.seed ?? 0, Stream.init, opts.id ?? 0);
    const std = opts.initStd ?? 0.01;
    for (let l = 0; l < numLayers; l++) {
      const w = makeParam(backend, `w.${l}`, dim, true);
      for (let j = 0; j < dim; j++) w.value[j] = rng.normal() * std;
      this.w.push(w);
      this.b.push(makeParam(backend, `b.${l}`, dim, false));
      this.xs.push(new RowBuffer(backend, dim));
      this.s.push(new RowBuffer(backend, 1));
    }
    if (numLayers === 0) this.xs.push(new RowBuffer(backend, dim)); // identity output
    this.gA = new RowBuffer(backend, dim);
    this.gB = new RowBuffer(backend, dim);
    this.dx0 = new RowBuffer(backend, dim);
    this.ops = opsOf(backend);
  }

  forward(x0: Float32Array, batch: number, _training: boolean): Float32Array {
    const d = this.dim;
    this.x0 = x0;
    if (this.numLayers === 0) {
      const y = this.xs[0].get(batch); // identity copy
      y.set(x0.subarray(0, batch * d));
      return y;
    }
    let xl = x0;
    for (let l = 0; l < this.numLayers; l++) {
      const xn = this.xs[l].get(batch);
      this.ops.crossForward(x0, xl, this.w[l].value, this.b[l].value, batch, d, this.s[l].get(batch), xn);
      xl = xn;
    }
    return xl;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const x0 = this.x0;
    if (!x0) throw new Error('CrossNetwork.backward before forward');
    const d = this.dim;
    const dx0 = this.dx0.get(batch);
    if (this.numLayers === 0) {
      dx0.set(dy.subarray(0, batch * d));
      return dx0;
    }
    let g = dy; // ∂L/∂x_{l+1}
    for (let l = this.numLayers - 1; l >= 0; l--) {
      const xl = l === 0 ? x0 : this.xs[l - 1].get(batch);
      const s = this.s[l].get(batch);
      const gn = (l & 1 ? this.gA : this.gB).get(batch); // never aliases g
      const first = l === this.numLayers - 1;
      const [dw, db] = this.paramGrads ? [this.w[l].grad, this.b[l].grad] : [null, null];
      this.ops.crossBackward(x0, xl, g, this.w[l].value, s, batch, d, first, gn, dx0, dw, db);
      g = gn;
    }
    // x_0 is x0 itself: add the gradient that reached the bottom of the chain.
    this.ops.addInto(dx0, g, batch * d);
    return dx0;
  }

  /** Off: backward computes only dx0 (ALPT's second pass needs no weight gradients). */
  setParamGrads(on: boolean): void {
    this.paramGrads = on;
  }

  params(): Param[] {
    const out: Param[] = [];
    for (let l = 0; l < this.numLayers; l++) out.push(this.w[l], this.b[l]);
    return out;
  }
}
