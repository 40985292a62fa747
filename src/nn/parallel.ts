// Parallel branches on one input with concatenated outputs:
//   y = [f_0(x) ‖ f_1(x) ‖ …],   dx = Σ_k ∂f_k/∂x · dy_k.
// E.g. DCN's [MLP(x0) ‖ CrossNet(x0)] head, or IPNN's [x0 ‖ inner products].

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { opsOf } from '../kernels/ops-js.js';
import { RowBuffer, prefixParams } from './buffers.js';
import { Concat } from './concat.js';
import type { Layer, LayerExtras, NamedBuffer, Param } from './layer.js';

export class Parallel implements Layer, LayerExtras {
  readonly inDim: number;
  readonly outDim: number;
  private readonly concat: Concat;
  private readonly dx: RowBuffer;
  private readonly outs: Float32Array[];
  private cachedParams: Param[] | null = null;
  private readonly ops: ElementwiseOps;

  constructor(
    backend: Backend,
    readonly branches: Layer[],
  ) {
    this.ops = opsOf(backend);
    if (branches.length === 0) throw new Error('Parallel needs at least one branch');
    this.inDim = branches[0].inDim;
    for (const b of branches) if (b.inDim !== this.inDim) throw new Error(`Parallel: branch inDim ${b.inDim} ≠ ${this.inDim}`);
    this.concat = new Concat(backend, branches.map((b) => b.outDim));
    this.outDim = this.concat.outDim;
    this.dx = new RowBuffer(backend, this.inDim);
    this.outs = branches.map(() => new Float32Array(0));
  }

  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    for (let k = 0; k < this.branches.length; k++) this.outs[k] = this.branches[k].forward(x, batch, training);
    return this.concat.forward(this.outs, batch);
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    const parts = this.concat.backward(dy, batch);
    const dx = this.dx.get(batch);
    const n = batch * this.inDim;
    for (let k = 0; k < this.branches.length; k++) {
      const g = this.branches[k].backward(parts[k], batch);
      if (k === 0) dx.set(g.subarray(0, n));
      else this.ops.addInto(dx, g, n);
    }
    return dx;
  }

  /** Params named `${branch}.${name}`. */
  params(): Param[] {
    if (!this.cachedParams) {
      const out: Param[] = [];
      this.branches.forEach((l, i) => out.push(...prefixParams(`${i}.`, l.params())));
      this.cachedParams = out;
    }
    return this.cachedParams;
  }

  buffers(): NamedBuffer[] {
    const out: NamedBuffer[] = [];
    this.branches.forEach((l, i) => {
      for (const b of (l as Layer & LayerExtras).buffers?.() ?? []) out.push({ name: `${i}.${b.name}`, value: b.value });
    });
    return out;
  }

  setStep(step: number): void {
    for (const l of this.branches) (l as Layer & LayerExtras).setStep?.(step);
  }

  setParamGrads(on: boolean): void {
    for (const l of this.branches) (l as Layer & LayerExtras).setParamGrads?.(on);
  }

  setTrackRunningStats(on: boolean): void {
    for (const l of this.branches) (l as Layer & LayerExtras).setTrackRunningStats?.(on);
  }
}
