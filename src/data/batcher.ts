// Mini-batches over an EncodedSplit, shuffled per epoch with CounterRng(seed, Stream.shuffle, epoch)
// (so epoch e's order does not depend on earlier epochs), copied into reused buffers.
import { CounterRng, Stream } from '../util/rng.js';
import type { EncodedSplit } from './types.js';

export interface Batch {
  /** size*numFields ids, row-major. */
  ids: Int32Array;
  labels: Float32Array;
  size: number;
}

export interface BatcherOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  /** Drop a final partial batch. */
  dropLast?: boolean;
}

export class Batcher {
  readonly batchSize: number;
  readonly numBatches: number;
  private readonly order: Int32Array;
  private readonly full: Batch;
  private readonly tail: Batch | null; // the last, shorter batch: views made once
  private pos = 0;
  private count = 0;

  constructor(readonly split: EncodedSplit, readonly opts: BatcherOptions) {
    const B = opts.batchSize;
    if (!Number.isInteger(B) || B < 1) throw new Error(`batchSize must be a positive integer, got ${B}`);
    this.batchSize = B;
    const F = split.numFields;
    const rest = split.n % B;
    this.numBatches = Math.floor(split.n / B) + (rest && !opts.dropLast ? 1 : 0);
    this.order = new Int32Array(split.n);
    this.full = { ids: new Int32Array(B * F), labels: new Float32Array(B), size: B };
    this.tail = rest ? { ids: this.full.ids.subarray(0, rest * F), labels: this.full.labels.subarray(0, rest), size: rest } : null;
    this.begin(0);
  }

  /** Resets to the start of an epoch (order drawn from the seed and epoch only). */
  begin(epoch: number): void {
    const o = this.order;
    for (let i = 0; i < o.length; i++) o[i] = i;
    if (this.opts.shuffle) new CounterRng(this.opts.seed ?? 0, Stream.shuffle, epoch).shuffle(o);
    this.pos = 0;
    this.count = 0;
  }

  /** Skip n batches of the current epoch without copying them (only full batches come before the tail). */
  skip(n: number): void {
    if (!Number.isInteger(n) || n < 0 || this.count + n > this.numBatches) throw new Error(`cannot skip ${n} batches: ${this.numBatches - this.count} left in the epoch`);
    this.pos = Math.min(this.split.n, this.pos + n * this.batchSize);
    this.count += n;
  }

  /** The next batch (its buffers are overwritten by the following call), or null at epoch end. */
  next(): Batch | null {
    if (this.count >= this.numBatches) return null;
    const { ids: src, labels: ys, numFields: F } = this.split;
    const size = Math.min(this.batchSize, this.split.n - this.pos);
    const b = size === this.batchSize ? this.full : this.tail!;
    const ids = b.ids, labels = b.labels, o = this.order;
    for (let r = 0; r < size; r++) {
      const i = o[this.pos + r];
      labels[r] = ys[i];
      const s = i * F, d = r * F;
      for (let j = 0; j < F; j++) ids[d + j] = src[s + j];
    }
    this.pos += size;
    this.count++;
    return b;
  }

  /** Iterates one epoch, from its batch `from` on (a resumed mid-epoch run skips those already done). */
  *epoch(epoch: number, from = 0): Generator<Batch> {
    this.begin(epoch);
    this.skip(from);
    for (let b = this.next(); b; b = this.next()) yield b;
  }
}
