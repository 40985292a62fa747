// Dynamic batching. Requests that arrive within maxWaitMs of the first waiting one (or until
// maxBatch rows are waiting) are scored by one forward pass over their concatenated ids, and the
// scores are split back. Each request is encoded on arrival against the model it pinned, so a bad
// row fails only its own request, and requests pinned to different models (around a reload) are
// never mixed in one pass. Scores do not depend on the batch: inference mode scores each row alone.
import type { ModelEntry } from './model-slot.js';

export interface BatcherOptions {
  /** Rows per forward pass at most (a single larger request is scored alone). */
  maxBatch: number;
  /** How long the first waiting request waits for others; 0: only those already queued. */
  maxWaitMs: number;
  /** Called after each forward pass. */
  onBatch?: (rows: number, requests: number, seconds: number) => void;
}

interface Pending {
  entry: ModelEntry;
  ids: Int32Array;
  rows: number;
  resolve: (scores: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(readonly opts: BatcherOptions) {
    if (!(opts.maxBatch >= 1)) throw new Error(`maxBatch must be at least 1, got ${opts.maxBatch}`);
    if (!(opts.maxWaitMs >= 0)) throw new Error(`maxWaitMs must be at least 0, got ${opts.maxWaitMs}`);
  }

  /** Rows waiting for a forward pass. */
  get waitingRows(): number {
    return this.queuedRows;
  }

  /** Scores of `rows` rows of ids (row-major, the entry's model's fields) from the next pass. */
  submit(entry: ModelEntry, ids: Int32Array, rows: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, ids, rows, resolve, reject });
      this.queuedRows += rows;
      if (this.queuedRows >= this.opts.maxBatch || this.opts.maxWaitMs === 0) this.soon();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.opts.maxWaitMs);
    });
  }

  /** Score everything waiting now. */
  flushNow(): void {
    while (this.queue.length) this.flush();
  }

  private soon(): void {
    if (!this.immediate) this.immediate = setImmediate(() => this.flush());
  }

  /** One forward pass per model over the head of the queue (up to maxBatch rows). */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    if (!this.queue.length) return;
    let take = 0, rows = 0;
    while (take < this.queue.length && (take === 0 || rows + this.queue[take].rows <= this.opts.maxBatch)) rows += this.queue[take++].rows;
    const batch = this.queue.splice(0, take);
    this.queuedRows -= rows;
    for (const group of byEntry(batch)) this.run(group);
    if (this.queue.length) {
      if (this.queuedRows >= this.opts.maxBatch || this.opts.maxWaitMs === 0) this.soon();
      else this.timer = setTimeout(() => this.flush(), this.opts.maxWaitMs);
    }
  }

  private run(group: Pending[]): void {
    const t0 = performance.now();
    const model = group[0].entry.model;
    let n = 0;
    for (const p of group) n += p.rows;
    let scores: Float32Array;
    try {
      let ids: Int32Array;
      if (group.length === 1) ids = group[0].ids;
      else {
        ids = new Int32Array(n * model.numFields);
        let at = 0;
        for (const p of group) {
          ids.set(p.ids, at);
          at += p.ids.length;
        }
      }
      scores = model.predictIds(ids);
    } catch (e) {
      for (const p of group) p.reject(e);
      return;
    }
    this.opts.onBatch?.(n, group.length, (performance.now() - t0) / 1000);
    let at = 0;
    for (const p of group) {
      p.resolve(scores.subarray(at, at + p.rows));
      at += p.rows;
    }
  }
}

/** Consecutive runs of requests pinned to the same model. */
function byEntry(batch: Pending[]): Pending[][] {
  const groups: Pending[][] = [];
  for (const p of batch) {
    const last = groups[groups.length - 1];
    if (last && last[0].entry === p.entry) last.push(p);
    else groups.push([p]);
  }
  return groups;
}
