// One batch's view of a table: de-duplicate the batch's ids once, then reuse the mapping for the
// lookup (gather + expand), the sparse backward (scatter-add of repeated ids) and the update.

import type { EmbeddingTable } from './table.js';

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
  // slotOf[row] is valid only when stamp[row] === generation: no clearing between batches.
  private readonly slotOf: Int32Array;
  private readonly stamp: Uint32Array;
  private generation = 0;

  constructor(readonly table: EmbeddingTable) {
    this.slotOf = new Int32Array(table.rows);
    this.stamp = new Uint32Array(table.rows);
  }

  /** Map ids[batch×fields] to unique rows. */
  prepare(ids: Int32Array, slots: number): void {
    this.ensure(slots);
    this.slots = slots;
    const gen = ++this.generation;
    const { slotOf, stamp, rows, inverse } = this;
    const nRows = this.table.rows;
    let count = 0;
    for (let i = 0; i < slots; i++) {
      const r = ids[i];
      if (r < 0 || r >= nRows) throw new RangeError(`embedding id ${r} out of range [0, ${nRows})`);
      if (stamp[r] !== gen) {
        stamp[r] = gen;
        slotOf[r] = count;
        rows[count++] = r;
      }
      inverse[i] = slotOf[r];
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
    for (let i = 0, o = 0; i < this.slots; i++, o += d) {
      const s = inv[i] * d;
      for (let k = 0; k < d; k++) x[o + k] = v[s + k];
    }
  }

  /** Sum slot gradients dx[slots×dim] into grads[count×dim] per unique row. */
  scatter(dx: Float32Array): Float32Array {
    const d = this.table.dim;
    const g = this.grads;
    g.fill(0, 0, this.count * d);
    const inv = this.inverse;
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
    this.inverse = new Int32Array(slots);
    this.rows = new Int32Array(cap);
    this.vectors = new Float32Array(cap * d);
    this.grads = new Float32Array(cap * d);
  }
}
