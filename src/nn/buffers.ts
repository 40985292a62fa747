// Buffer helpers shared by the layers: row buffers that grow to the largest batch seen and are
// reused afterwards, parameter allocation, and small fused typed-array loops.

import type { Backend } from '../kernels/backend.js';
import { columnSumsJs } from '../kernels/ops-js.js';
import type { Layer, LayerExtras, Param } from './layer.js';

const EMPTY = new Float32Array(0);

/**
 * A [rows × width] buffer allocated from the backend for the largest batch seen. get(rows) returns
 * an exact-length view; the same view object is returned for the same row count (a new view is
 * only created when the row count changes, a new allocation only when it grows).
 */
export class RowBuffer {
  private data: Float32Array = EMPTY;
  private capRows = 0;
  private view: Float32Array = EMPTY;
  private viewRows = -1;

  constructor(
    private readonly backend: Backend,
    readonly width: number,
  ) {}

  get(rows: number): Float32Array {
    if (rows > this.capRows) {
      this.data = this.backend.alloc(rows * this.width);
      this.capRows = rows;
      this.viewRows = -1;
    }
    if (rows !== this.viewRows) {
      this.view = rows * this.width === this.data.length ? this.data : this.data.subarray(0, rows * this.width);
      this.viewRows = rows;
    }
    return this.view;
  }

  /** Rows currently allocated. */
  get capacity(): number {
    return this.capRows;
  }
}

/** A parameter with value and gradient allocated (zero-filled) from the backend. */
export function makeParam(backend: Backend, name: string, n: number, decay: boolean): Param {
  return { name, value: backend.alloc(n), grad: backend.alloc(n), decay };
}

/** dst[0..n) += src[0..n). */
export function addInto(dst: Float32Array, src: Float32Array, n: number = dst.length): void {
  for (let i = 0; i < n; i++) dst[i] += src[i];
}

/**
 * Column sums of a row-major [rows × cols] matrix into out[cols] (accumulated in float64). The
 * acc argument is unused (kept for callers); layers with a backend use opsOf(backend).columnSums.
 */
export function columnSums(x: Float32Array, rows: number, cols: number, out: Float32Array, _acc?: Float64Array): void {
  columnSumsJs(x, rows, cols, out);
}

/** Prefix parameter names (returns new Param objects sharing the same arrays). */
export function prefixParams(prefix: string, ps: Param[]): Param[] {
  return ps.map((p) => ({ name: prefix + p.name, value: p.value, grad: p.grad, decay: p.decay }));
}

/** A layer's persistent buffers (BatchNorm running stats, …) as a record keyed `${prefix}${name}`. */
export function buffersOf(layer: Layer, prefix = ''): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const b of (layer as Layer & LayerExtras).buffers?.() ?? []) out[prefix + b.name] = b.value;
  return out;
}
