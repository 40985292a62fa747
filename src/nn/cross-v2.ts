// DCN-V2 cross network (Wang et al. 2021), full-rank:
//   x_{l+1} = x0 ⊙ (W_l x_l + b_l) + x_l,   W_l [d×d], b_l [d], initialised like nn.Linear(d, d).
// One Layer: input x0 [B×d] → output x_L [B×d], exact backward into x0.

import type { Backend } from '../kernels/backend.js';
import { opsOf } from '../kernels/ops-js.js';
import { CounterRng, Stream } from '../util/rng.js';
import { RowBuffer, makeParam } from './buffers.js';
import type { Layer, Param } from './layer.js';
import { initLinear } from './linear.js';

export interface CrossV2Options {
  seed?: number;
  id?: number;
}

export class CrossNetworkV2 implements Layer {
  readonly inDim: number;
  readonly outDim: number;
  readonly W: Param[] = [];
  readonly b: Param[] = [];
  /** xs[l] holds x_{l+1}; us[l] holds u_l = x_l·W_lᵀ + b_l. */
  private readonly xs: RowBuffer[] = [];
  private readonly us: RowBuffer[] = [];
  private readonly du: RowBuffer;
  private readonly gA: RowBuffer;
  private readonly gB: RowBuffer;
  private readonly dx0: RowBuffer;
  private x0: Float32Array | null = null;
  private paramGrads = true;

  constructor(
    private readonly backend: Backend,
    readonly dim: number,
    readonly numLayers: number,
    opts: CrossV2Options = {},
  ) {
    this.inDim = dim;
    this.outDim = dim;
    const rng = new CounterRng(opts.seed ?? 0, Stream.init, opts.id ?? 0);
    for (let l = 0; l < numLayers; l++) {
      const W = makeParam(backend, `weight.${l}`, dim * dim, true);
      const b = makeParam(backend, `bias.${l}`, dim, false);
      initLinear(W.value, b.value, dim, rng);
      this.W.push(W);
      this.b.push(b);
      this.xs.push(new RowBuffer(backend, dim));
      this.us.push(new RowBuffer(backend, dim));
    }
    if (numLayers === 0) this.xs.push(new RowBuffer(backend, dim));
    this.du = new RowBuffer(backend, dim);
    this.gA = new RowBuffer(backend, dim);
    this.gB = new RowBuffer(backend, dim);
    this.dx0 = new RowBuffer(backend, dim);
  }

  forward(x0: Float32Array, batch: number, _training: boolean): Float32Array {
    const d = this.dim;
    const n = batch * d;
    this.x0 = x0;
    if (this.numLayers === 0) {
      const y = this.xs[0].get(batch);
      y.set(x0.subarray(0, n));
      return y;
    }
    let xl = x0;
    for (let l = 0; l < this.numLayers; l++) {
      const u = this.us[l].get(batch);
      const xn = this.xs[l].get(batch);
      this.backend.gemm(false, true, batch, d, d, 1, xl, this.W[l].value, 0, u, this.b[l].value);
      for (let i = 0; i < n; i++) xn[i] = x0[i] * u[i] + xl[i];
      xl = xn;
    }
    return xl;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const x0 = this.x0;
    if (!x0) throw new Error('CrossNetworkV2.backward before forward');
    const d = this.dim;
    const n = batch * d;
    const dx0 = this.dx0.get(batch);
    if (this.numLayers === 0) {
      dx0.set(dy.subarray(0, n));
      return dx0;
    }
    const du = this.du.get(batch);
    let g = dy;
    for (let l = this.numLayers - 1; l >= 0; l--) {
      const xl = l === 0 ? x0 : this.xs[l - 1].get(batch);
      const u = this.us[l].get(batch);
      const first = l === this.numLayers - 1;
      // du = g ⊙ x0; dx0 (+)= g ⊙ u
      if (first) {
        for (let i = 0; i < n; i++) {
          const gi = g[i];
          du[i] = gi * x0[i];
          dx0[i] = gi * u[i];
        }
      } else {
        for (let i = 0; i < n; i++) {
          const gi = g[i];
          du[i] = gi * x0[i];
          dx0[i] += gi * u[i];
        }
      }
      if (this.paramGrads) this.paramGrad(l, du, xl, batch);
      // ∂L/∂x_l = g + du · W
      const gn = (l & 1 ? this.gA : this.gB).get(batch);
      gn.set(g.subarray(0, n));
      this.backend.gemm(false, false, batch, d, d, 1, du, this.W[l].value, 1, gn);
      g = gn;
    }
    opsOf(this.backend).addInto(dx0, g, n);
    return dx0;
  }

  /** db_l = colsum(du), dW_l = duᵀ · x_l. */
  private paramGrad(l: number, du: Float32Array, xl: Float32Array, batch: number): void {
    const d = this.dim;
    opsOf(this.backend).columnSums(du, batch, d, this.b[l].grad);
    this.backend.gemm(true, false, d, d, batch, 1, du, xl, 0, this.W[l].grad);
  }

  setParamGrads(on: boolean): void {
    this.paramGrads = on;
  }

  params(): Param[] {
    const out: Param[] = [];
    for (let l = 0; l < this.numLayers; l++) out.push(this.W[l], this.b[l]);
    return out;
  }
}
