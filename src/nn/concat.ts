// Row-block concatenation [B×a] ‖ [B×b] → [B×(a+b)] and the matching gradient split, for
// heads that join several towers (DCN: MLP output ‖ cross output → final Linear).

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { opsOf } from '../kernels/ops-js.js';
import { RowBuffer } from './buffers.js';

/** out[B×(a+b)] = [x | y] row by row. */
export function concatRows(x: Float32Array, a: number, y: Float32Array, b: number, batch: number, out: Float32Array): void {
  const w = a + b;
  for (let i = 0; i < batch; i++) {
    out.set(x.subarray(i * a, i * a + a), i * w);
    out.set(y.subarray(i * b, i * b + b), i * w + a);
  }
}

/** Inverse of concatRows: dx[B×a], dy[B×b] from g[B×(a+b)]. */
export function splitRows(g: Float32Array, a: number, b: number, batch: number, dx: Float32Array, dy: Float32Array): void {
  const w = a + b;
  for (let i = 0; i < batch; i++) {
    const o = i * w;
    dx.set(g.subarray(o, o + a), i * a);
    dy.set(g.subarray(o + a, o + w), i * b);
  }
}

/** Concatenation of any number of row blocks with owned, reused buffers. */
export class Concat {
  readonly outDim: number;
  private readonly out: RowBuffer;
  private readonly grads: RowBuffer[];
  private readonly offsets: number[];
  private readonly gradViews: Float32Array[];
  private readonly ops: ElementwiseOps;

  constructor(
    backend: Backend,
    readonly dims: number[],
  ) {
    this.ops = opsOf(backend);
    this.outDim = dims.reduce((s, d) => s + d, 0);
    this.out = new RowBuffer(backend, this.outDim);
    this.grads = dims.map((d) => new RowBuffer(backend, d));
    this.offsets = [];
    let o = 0;
    for (const d of dims) {
      this.offsets.push(o);
      o += d;
    }
    this.gradViews = dims.map(() => new Float32Array(0));
  }

  /** parts[k] is [B × dims[k]]; returns the owned [B × Σdims] buffer. */
  forward(parts: Float32Array[], batch: number): Float32Array {
    const out = this.out.get(batch);
    const w = this.outDim;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      const d = this.dims[k];
      const off = this.offsets[k];
      this.ops.copyBlock(p, batch, d, d, off === 0 ? out : out.subarray(off), w);
    }
    return out;
  }

  /** Splits g [B × Σdims] into per-part gradients (owned, reused); returns the same array each call. */
  backward(g: Float32Array, batch: number): Float32Array[] {
    const w = this.outDim;
    for (let k = 0; k < this.dims.length; k++) {
      const d = this.dims[k];
      const off = this.offsets[k];
      const dst = this.grads[k].get(batch);
      this.gradViews[k] = dst;
      this.ops.copyBlock(off === 0 ? g : g.subarray(off), batch, d, w, dst, d);
    }
    return this.gradViews;
  }
}
