// One batch's view of a table: de-duplicate the batch's ids once, then reuse the mapping for the
// lookup (gather + expand), the sparse backward (scatter-add of repeated ids) and the update.

import type { EmbeddingTable } from './table.js';
import { ptrsOf, type SparseKernels } from '../kernels/sparse.js';
import { allocatorOf, bytesOf, type Allocator } from './memory.js';

export class BatchLookup {
  /** Unique row ids of the current batch, in first-seen order: rows[0..count). */
  rows: Int32Array = new Int32Array(0);
  count = 0;
  /** For every (example, field) slot, the index of its row in `rows`. */
  inverse: Int32Array = new Int32Array(0);
  /** Gathered vectors of the unique rows [count×dim], and the summed gradients [count×dim]. */
  vectors: Float32Array = new Float32Array(0);
  grads: Float32Array = new Float32Array(0);
  private slots = 0;
  /**
   * Open-addressing hash of the batch's ids: 2^capLog2 pairs [row + 1 (0 = empty), index in rows],
   * at least 2× the slots, cleared per batch. O(batch) memory: nothing is allocated per table row.
   */
  private hash: Int32Array = new Int32Array(0);
  private capLog2 = 0;

  /** kernels: the wasm backend's embedding kernels; the per-batch buffers then live in its memory. */
  /** ids copied into the kernels' memory (prepare runs there when they have kernels). */
  private ids: Int32Array = new Int32Array(0);

  /** In the kernels' memory (the JS heap if it is full: then prepare runs in TypeScript). */
  private readonly alloc: Allocator;

  constructor(readonly table: EmbeddingTable, readonly kernels: SparseKernels | null = null) {
    this.alloc = allocatorOf(kernels);
  }

  /** Bytes of this lookup's scratch (all O(batch × fields), none per table row). */
  bytes(): number {
    return bytesOf(this.hash, this.ids, this.inverse, this.rows, this.vectors, this.grads);
  }

  /** Map ids[batch×fields] to unique rows. */
  prepare(ids: Int32Array, slots: number): void {
    this.ensure(slots);
    this.slots = slots;
    const { hash, rows, inverse, capLog2 } = this;
    const nRows = this.table.rows;
    const k = this.kernels;
    if (k !== null && slots > 0) {
      this.ids.set(ids.subarray(0, slots));
      const q = ptrsOf(k, this.ids, hash, rows, inverse);
      if (q !== null) {
        const c = k.ex.prepareRows(q[0], slots, nRows, q[1], capLog2, q[2], q[3]);
        if (c < 0) throw new RangeError(`embedding id ${ids[-c - 1]} out of range [0, ${nRows})`);
        this.count = c;
        return;
      }
    }
    // the same hash as assembly/sparse.ts prepareRows (any de-duplication keeping first-seen order
    // gives the same rows and inverse)
    const mask = (1 << capLog2) - 1;
    const shift = 32 - capLog2;
    hash.fill(0, 0, 2 << capLog2);
    let count = 0;
    for (let i = 0; i < slots; i++) {
      const r = ids[i];
      if (!(r >= 0 && r < nRows)) throw new RangeError(`embedding id ${r} out of range [0, ${nRows})`);
      const key = r + 1;
      let h = capLog2 > 0 ? Math.imul(r, 0x9e3779b1) >>> shift : 0;
      for (;;) {
        const e = hash[2 * h];
        if (e === key) {
          inverse[i] = hash[2 * h + 1];
          break;
        }
        if (e === 0) {
          hash[2 * h] = key;
          hash[2 * h + 1] = count;
          rows[count] = r;
          inverse[i] = count++;
          break;
        }
        h = (h + 1) & mask;
      }
    }
    this.count = count;
  }

  /** Gather the unique rows from the table and expand them to x[slots×dim] (row-major by slot). */
  lookup(x: Float32Array): void {
    this.table.gather(this.rows, this.count, this.vectors);
    this.expand(this.vectors, x);
  }

  /** x[slot] = v[inverse[slot]] for any per-unique-row buffer v (lookup, or ALPT's fake-quantized rows). */
  expand(v: Float32Array, x: Float32Array): void {
    const d = this.table.dim;
    const inv = this.inverse;
    const q = this.kernels !== null && this.slots > 0 ? ptrsOf(this.kernels, v, inv, x) : null;
    if (q !== null) {
      if (x.length < this.slots * d || v.length < this.count * d) throw new RangeError('expand: buffer too small');
      this.kernels!.ex.expandRows(q[0], q[1], this.slots, d, q[2]);
      return;
    }
    for (let i = 0, o = 0; i < this.slots; i++, o += d) {
      const s = inv[i] * d;
      for (let k = 0; k < d; k++) x[o + k] = v[s + k];
    }
  }

  /** Sum slot gradients dx[slots×dim] into grads[count×dim] per unique row. */
  scatter(dx: Float32Array): Float32Array {
    const d = this.table.dim;
    const g = this.grads;
    const inv = this.inverse;
    const q = this.kernels !== null && this.slots > 0 ? ptrsOf(this.kernels, dx, inv, g) : null;
    if (q !== null) {
      if (dx.length < this.slots * d) throw new RangeError('scatter: gradient buffer too small');
      this.kernels!.ex.scatterRows(q[0], q[1], this.slots, d, q[2], this.count);
      return g;
    }
    g.fill(0, 0, this.count * d);
    for (let i = 0, o = 0; i < this.slots; i++, o += d) {
      const s = inv[i] * d;
      for (let k = 0; k < d; k++) g[s + k] += dx[o + k];
    }
    return g;
  }

  private ensure(slots: number): void {
    if (this.inverse.length >= slots) return;
    const d = this.table.dim;
    const cap = Math.min(slots, this.table.rows);
    const k = this.kernels;
    this.ids = k ? this.alloc(Int32Array, slots, 'batch ids') : this.ids;
    this.capLog2 = Math.max(1, Math.ceil(Math.log2(2 * slots)));
    this.hash = this.alloc(Int32Array, 2 << this.capLog2, 'batch id hash');
    this.inverse = this.alloc(Int32Array, slots, 'batch inverse');
    this.rows = this.alloc(Int32Array, cap, 'batch rows');
    this.vectors = this.alloc(Float32Array, cap * d, 'batch vectors');
    this.grads = this.alloc(Float32Array, cap * d, 'batch gradients');
  }
}
