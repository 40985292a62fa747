// One batch's view of a table: de-duplicate the batch's ids once, then reuse the mapping for the
// lookup (gather + expand), the sparse backward (scatter-add of repeated ids) and the update.

import type { EmbeddingTable } from './table.js';
import type { SparseKernels } from '../kernels/sparse.js';
import { jsTableKernels } from '../kernels/table-kernels-js.js';
import { tableKernelsFor, type TableKernels } from '../kernels/table-kernels.js';
import { allocatorOf, bytesOf, type Allocator } from './memory.js';

export class BatchLookup {
  /** Unique row ids of the current batch, in first-seen order (grouped by shard for a sharded table): rows[0..count). */
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

  /** groupByShard's scratch (O(batch), JS heap): new index of each unique row, and the rows before reordering. */
  private order: Int32Array = new Int32Array(0);
  private rowsCopy: Int32Array = new Int32Array(0);

  /** The batch's ids, copied into the kernels' memory (or the JS heap) before prepare. */
  private ids: Int32Array = new Int32Array(0);

  /** In the kernels' memory (the JS heap if it is full). */
  private readonly alloc: Allocator;
  /** The table kernels for the buffers as last allocated (TypeScript if any landed on the JS heap). */
  private kernelsInUse: TableKernels = jsTableKernels;

  /** kernels: the wasm backend's embedding kernels; the per-batch buffers then live in its memory. */
  constructor(readonly table: EmbeddingTable, readonly kernels: SparseKernels | null = null) {
    this.alloc = allocatorOf(kernels);
  }

  /** Bytes of this lookup's scratch (all O(batch × fields), none per table row). */
  bytes(): number {
    return bytesOf(this.hash, this.ids, this.inverse, this.rows, this.vectors, this.grads, this.order, this.rowsCopy);
  }

  /** Map ids[batch×fields] to unique rows. */
  prepare(ids: Int32Array, slots: number): void {
    this.ensure(slots);
    this.slots = slots;
    const nRows = this.table.rows;
    if (slots > 0) this.ids.set(ids.subarray(0, slots));
    const c = this.kernelsInUse.prepareRows({
      ids: this.ids, slots, nRows, hash: this.hash, capLog2: this.capLog2, rows: this.rows, inverse: this.inverse,
    });
    if (c < 0) throw new RangeError(`embedding id ${ids[-c - 1]} out of range [0, ${nRows})`);
    this.count = c;
    const shardRows = (this.table as { shardRows?: number }).shardRows;
    if (shardRows !== undefined && nRows > shardRows) this.groupByShard(shardRows);
  }

  /**
   * A table in row shards (ShardedTable) copies rows to and from its shards' memories in runs of
   * consecutive rows of one shard: reorder the unique rows so each shard's are contiguous (a stable
   * counting sort; inverse remapped), one run per shard. Every per-row result is unchanged: rows
   * are updated independently, and a row's slot gradients are still summed in slot order.
   */
  private groupByShard(shardRows: number): void {
    const n = this.count, rows = this.rows;
    const shards = Math.ceil(this.table.rows / shardRows);
    const start = new Int32Array(shards + 1);
    for (let i = 0; i < n; i++) start[Math.floor(rows[i] / shardRows) + 1]++;
    let used = 0;
    for (let s = 1; s <= shards; s++) if (start[s] > 0) used++;
    if (used <= 1) return;
    for (let s = 0; s < shards; s++) start[s + 1] += start[s];
    if (this.order.length < n) {
      this.order = new Int32Array(Math.max(n, this.inverse.length));
      this.rowsCopy = new Int32Array(this.order.length);
    }
    const order = this.order, copy = this.rowsCopy;
    copy.set(rows.subarray(0, n));
    for (let i = 0; i < n; i++) {
      const r = copy[i];
      const j = start[Math.floor(r / shardRows)]++;
      order[i] = j;
      rows[j] = r;
    }
    const inv = this.inverse;
    for (let i = 0; i < this.slots; i++) inv[i] = order[inv[i]];
  }

  /** Gather the unique rows from the table and expand them to x[slots×dim] (row-major by slot). */
  lookup(x: Float32Array): void {
    this.table.gather(this.rows, this.count, this.vectors);
    this.expand(this.vectors, x);
  }

  /** x[slot] = v[inverse[slot]] for any per-unique-row buffer v (lookup, or ALPT's fake-quantized rows). */
  expand(v: Float32Array, x: Float32Array): void {
    this.kernelsInUse.expandRows({ v, inverse: this.inverse, slots: this.slots, dim: this.table.dim, x });
  }

  /** Sum slot gradients dx[slots×dim] into grads[count×dim] per unique row. */
  scatter(dx: Float32Array): Float32Array {
    this.kernelsInUse.scatterRows({ dx, inverse: this.inverse, slots: this.slots, dim: this.table.dim, g: this.grads, count: this.count });
    return this.grads;
  }

  private ensure(slots: number): void {
    if (this.inverse.length >= slots) return;
    const d = this.table.dim;
    const cap = Math.min(slots, this.table.rows);
    this.ids = this.alloc(Int32Array, slots, 'batch ids');
    this.capLog2 = Math.max(1, Math.ceil(Math.log2(2 * slots)));
    this.hash = this.alloc(Int32Array, 2 << this.capLog2, 'batch id hash');
    this.inverse = this.alloc(Int32Array, slots, 'batch inverse');
    this.rows = this.alloc(Int32Array, cap, 'batch rows');
    this.vectors = this.alloc(Float32Array, cap * d, 'batch vectors');
    this.grads = this.alloc(Float32Array, cap * d, 'batch gradients');
    this.kernelsInUse = tableKernelsFor(this.kernels, [this.ids, this.hash, this.inverse, this.rows, this.vectors, this.grads]);
  }
}
