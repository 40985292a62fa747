// Fully connected layer, y = x·Wᵀ + b with W stored [out × in] like torch.nn.Linear.

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { CounterRng, Stream } from '../util/rng.js';
import { opsOf } from '../kernels/ops-js.js';
import { RowBuffer, makeParam } from './buffers.js';
import type { Layer, Param } from './layer.js';

export interface InitOptions {
  /** Run seed (default 0). */
  seed?: number;
  /** Layer id: distinct layers of one model must use distinct ids to get distinct weights. */
  id?: number;
}

export interface LinearOptions extends InitOptions {
  /** Add a bias (default true). */
  bias?: boolean;
  /** Compute dx in backward (default true; false for a layer whose input needs no gradient). */
  inputGrad?: boolean;
}

/** PyTorch nn.Linear init: W, b ~ U(−1/√fan_in, 1/√fan_in), drawn W first then b. */
export function initLinear(w: Float32Array, b: Float32Array | null, fanIn: number, rng: CounterRng): void {
  const bound = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * bound;
  if (b) for (let i = 0; i < b.length; i++) b[i] = (2 * rng.next() - 1) * bound;
}

export class Linear implements Layer {
  readonly weight: Param;
  readonly bias: Param | null;
  private readonly y: RowBuffer;
  private readonly dx: RowBuffer;
  private x: Float32Array | null = null;
  private readonly inputGrad: boolean;
  private readonly ops: ElementwiseOps;
  private paramGrads = true;

  constructor(
    private readonly backend: Backend,
    readonly inDim: number,
    readonly outDim: number,
    opts: LinearOptions = {},
  ) {
    this.weight = makeParam(backend, 'weight', outDim * inDim, true);
    this.bias = opts.bias === false ? null : makeParam(backend, 'bias', outDim, false);
    this.inputGrad = opts.inputGrad !== false;
    this.ops = opsOf(backend);
    initLinear(this.weight.value, this.bias ? this.bias.value : null, inDim, new CounterRng(opts.seed ?? 0, Stream.init, opts.id ?? 0));
    this.y = new RowBuffer(backend, outDim);
    this.dx = new RowBuffer(backend, inDim);
  }

  forward(x: Float32Array, batch: number, _training: boolean): Float32Array {
    const y = this.y.get(batch);
    this.x = x;
    this.backend.gemm(false, true, batch, this.outDim, this.inDim, 1, x, this.weight.value, 0, y, this.bias ? this.bias.value : undefined);
    return y;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const x = this.x;
    if (!x) throw new Error('Linear.backward before forward');
    if (this.paramGrads) {
      // dW[out×in] = dyᵀ[out×B] · x[B×in]
      this.backend.gemm(true, false, this.outDim, this.inDim, batch, 1, dy, x, 0, this.weight.grad);
      if (this.bias) this.ops.columnSums(dy, batch, this.outDim, this.bias.grad);
    }
    const dx = this.dx.get(batch);
    // dx[B×in] = dy[B×out] · W[out×in]
    if (this.inputGrad) this.backend.gemm(false, false, batch, this.inDim, this.outDim, 1, dy, this.weight.value, 0, dx);
    return dx;
  }

  setParamGrads(on: boolean): void {
    this.paramGrads = on;
  }

  params(): Param[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }
}
