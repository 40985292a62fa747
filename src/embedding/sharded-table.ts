// A table larger than one WebAssembly memory (4 GiB): its rows split into ranges, each range a
// whole table (packed or fp32) in a memory of its own with its own kernel instances on all
// threads (Backend.newSparseShard). The shards keep global row ids (PackedTableArrays.firstRow):
// init draws, rounding draws and Δ0 are the whole table's, so a sharded table trains bit for bit
// like an unsharded one. A call's rows, gradients and outputs live in the caller's memory; each
// is routed to its shard by runs of consecutive rows of one shard and copied block-wise into
// per-shard buffers (O(batch), in the shard's memory), where the shard's kernels run.
import type { EmbeddingTable, LearnedStepSizeTable, MemoryReport } from './table.js';
import { bytesOf, memoryReport } from './memory.js';
import type { SparseKernels } from '../kernels/sparse.js';

/** What a shard's table must offer (QuantizedTable, AlptTable and Fp32Table do). */
export type ShardTable = EmbeddingTable & Partial<Omit<LearnedStepSizeTable, keyof EmbeddingTable>> & {
  readonly firstRow: number;
  readonly initStepSize?: number;
  stagedView?(): { rows: Int32Array; weights: Float32Array };
};

export interface ShardedTableOptions {
  rows: number;
  dim: number;
  /** Rows per shard; the last shard holds the rest. */
  shardRows: number;
  /** Kernels over a new memory, one per shard. */
  newKernels(): SparseKernels;
  /**
   * Shard s's table: rows [firstRow, firstRow + rows) of the table, in kernels' memory. initStep:
   * Δ0 as the first shard computed it (undefined for the first: it computes the table's Δ0).
   */
  makeShard(kernels: SparseKernels, firstRow: number, rows: number, initStep: number | undefined): ShardTable;
}

interface Shard {
  readonly table: ShardTable;
  readonly k: SparseKernels;
  /** This call's rows of the shard (global ids) and their vectors [n × dim], in the shard's memory. */
  ids: Int32Array;
  vals: Float32Array;
  n: number;
}

/** Runs of consecutive positions in one shard: [start, length, shard, offset in the shard's buffers] × runs. */
type Runs = number[];

export class ShardedTable implements EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly shardRows: number;
  readonly shards: readonly Shard[];
  readonly learnsStepSizes: boolean;
  readonly passes: 1 | 2 | undefined;
  private readonly runs: Runs = [];
  private stagedRuns: Runs = [];
  private stagedCount = 0;
  /** Bytes of every per-shard batch buffer allocated (outgrown ones stay in the bump-allocated memories). */
  private bufferBytes = 0;

  constructor(o: ShardedTableOptions) {
    if (!(o.shardRows >= 1) || !Number.isSafeInteger(o.shardRows)) throw new RangeError(`shardRows must be a positive integer, got ${o.shardRows}`);
    this.rows = o.rows;
    this.dim = o.dim;
    this.shardRows = o.shardRows;
    const shards: Shard[] = [];
    let initStep: number | undefined;
    for (let first = 0; first < o.rows || (first === 0 && o.rows === 0); first += o.shardRows) {
      const n = Math.min(o.shardRows, o.rows - first);
      const k = o.newKernels();
      const table = o.makeShard(k, first, n, initStep);
      initStep ??= table.initStepSize;
      shards.push({ table, k, ids: new Int32Array(0), vals: new Float32Array(0), n: 0 });
      if (o.rows === 0) break;
    }
    this.shards = shards;
    const t0 = shards[0].table;
    this.learnsStepSizes = t0.learnsStepSizes === true;
    this.passes = t0.passes;
  }

  /** Δ0 of the table (packed tables). */
  get initStepSize(): number | undefined {
    return this.shards[0].table.initStepSize;
  }

  gather(rows: Int32Array, count: number, out: Float32Array): void {
    this.route(rows, count, this.runs);
    for (const sh of this.shards) if (sh.n > 0) sh.table.gather(sh.ids, sh.n, sh.vals);
    this.copyOut(this.runs, out);
  }

  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    this.route(rows, count, this.runs);
    this.copyIn(this.runs, grads);
    for (const sh of this.shards) if (sh.n > 0) sh.table.update(sh.ids, sh.n, sh.vals, step);
    this.stagedCount = 0;
  }

  updateOnePass(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    this.route(rows, count, this.runs);
    this.copyIn(this.runs, grads);
    for (const sh of this.shards) if (sh.n > 0) this.learned(sh, 'updateOnePass').updateOnePass!(sh.ids, sh.n, sh.vals, step);
    this.stagedCount = 0;
  }

  stageUpdate(rows: Int32Array, count: number, grads: Float32Array, step: number): void {
    this.route(rows, count, this.runs);
    this.copyIn(this.runs, grads);
    // every shard stages (an empty stage clears what it staged before)
    for (const sh of this.shards) this.learned(sh, 'stageUpdate').stageUpdate!(sh.ids, sh.n, sh.vals, step);
    this.stagedRuns = this.runs.slice();
    this.stagedCount = count;
  }

  fakeQuantizeStaged(out: Float32Array): void {
    for (const sh of this.shards) if (this.stagedIn(sh)) this.learned(sh, 'fakeQuantizeStaged').fakeQuantizeStaged!(sh.vals);
    this.copyOut(this.stagedRuns, out);
  }

  updateStepSizesStaged(dq: Float32Array, step: number): void {
    this.copyIn(this.stagedRuns, dq);
    for (const sh of this.shards) if (this.stagedIn(sh)) this.learned(sh, 'updateStepSizesStaged').updateStepSizesStaged!(sh.vals, step);
  }

  updateStepSizesAndWriteBack(dq: Float32Array, step: number): void {
    this.copyIn(this.stagedRuns, dq);
    for (const sh of this.shards) {
      if (this.stagedIn(sh)) this.learned(sh, 'updateStepSizesAndWriteBack').updateStepSizesAndWriteBack!(sh.vals, step);
    }
  }

  writeBackStaged(step: number): void {
    for (const sh of this.shards) if (this.stagedIn(sh)) this.learned(sh, 'writeBackStaged').writeBackStaged!(step);
  }

  /** Number of rows currently staged. */
  get staged(): number {
    return this.stagedCount;
  }

  /** The staged rows and their float values in the order they were staged (as QuantizedTable.stagedView). */
  stagedView(): { rows: Int32Array; weights: Float32Array } {
    const d = this.dim, n = this.stagedCount;
    const rows = new Int32Array(n), weights = new Float32Array(n * d);
    const r = this.stagedRuns;
    for (let i = 0; i < r.length; i += 4) {
      const v = this.shards[r[i + 2]].table.stagedView!();
      rows.set(v.rows.subarray(r[i + 3], r[i + 3] + r[i + 1]), r[i]);
      weights.set(v.weights.subarray(r[i + 3] * d, (r[i + 3] + r[i + 1]) * d), r[i] * d);
    }
    return { rows, weights };
  }

  setLearningRate(lr: number): void {
    for (const sh of this.shards) sh.table.setLearningRate?.(lr);
  }

  memory(): MemoryReport {
    const parts = this.shards.map((sh) => sh.table.memory());
    const sum = (k: 'codes' | 'steps' | 'optimizerState' | 'stepOptimizerState' | 'master' | 'scratch'): number =>
      parts.reduce((s, p) => s + p[k], 0);
    const own = this.bufferBytes;
    return memoryReport(this.rows, this.dim, {
      codes: sum('codes'), steps: sum('steps'), optimizerState: sum('optimizerState'),
      stepOptimizerState: sum('stepOptimizerState'), master: sum('master'), scratch: sum('scratch') + own,
      fallbacks: parts.flatMap((p, s) => p.fallbacks.map((f) => `shard ${s}: ${f}`)),
    });
  }

  /** Each shard's arrays under `shard<s>.` (checkpoints of sharded tables keep every tensor under 4 GiB). */
  state(): Record<string, ArrayBufferView> {
    const out: Record<string, ArrayBufferView> = {};
    this.shards.forEach((sh, s) => {
      for (const [k, v] of Object.entries(sh.table.state())) out[`shard${s}.${k}`] = v;
    });
    return out;
  }

  load(state: Record<string, ArrayBufferView>): void {
    this.shards.forEach((sh, s) => {
      const prefix = `shard${s}.`;
      const sub: Record<string, ArrayBufferView> = {};
      for (const [k, v] of Object.entries(state)) if (k.startsWith(prefix)) sub[k.slice(prefix.length)] = v;
      if (Object.keys(sub).length === 0) {
        throw new Error(`checkpoint has no arrays of table shard ${s} ('${prefix}*'): written by a run with another shard layout or none`);
      }
      sh.table.load(sub);
    });
    this.stagedCount = 0;
  }

  /**
   * One array of the state over all rows, the shards' parts concatenated (a copy): what a whole
   * table's state()[name] would be — for statistics and model files. Per-table arrays (Δ0) come
   * from the first shard. Undefined if the shards have no such array.
   */
  array(name: string): ArrayBufferView | undefined {
    const parts = this.shards.map((sh) => sh.table.state()[name]);
    return parts.some((p) => !p) ? undefined : joinShardParts(parts as ArrayBufferView[]);
  }

  // ---------------------------------------------------------------- routing

  private learned(sh: Shard, what: string): ShardTable {
    if (typeof sh.table[what as keyof ShardTable] !== 'function') throw new Error(`${what}: this table does not learn step sizes`);
    return sh.table;
  }

  private stagedIn(sh: Shard): boolean {
    return (sh.table as { staged?: number }).staged !== 0;
  }

  /** Splits rows[0..count) into runs per shard and copies each shard's ids into its buffer. */
  private route(rows: Int32Array, count: number, runs: Runs): void {
    const sr = this.shardRows, shards = this.shards;
    for (const sh of shards) sh.n = 0;
    runs.length = 0;
    for (let i = 0; i < count;) {
      const r = rows[i];
      if (!(r >= 0 && r < this.rows)) throw new RangeError(`embedding row ${r} out of range [0, ${this.rows})`);
      const s = Math.floor(r / sr);
      let j = i + 1;
      while (j < count && rows[j] >= s * sr && rows[j] < (s + 1) * sr) j++;
      runs.push(i, j - i, s, shards[s].n);
      shards[s].n += j - i;
      i = j;
    }
    for (const sh of shards) this.ensure(sh, sh.n);
    for (let q = 0; q < runs.length; q += 4) shards[runs[q + 2]].ids.set(rows.subarray(runs[q], runs[q] + runs[q + 1]), runs[q + 3]);
  }

  /** Row vectors src[count × dim] (caller's order) into the shards' buffers. */
  private copyIn(runs: Runs, src: Float32Array): void {
    const d = this.dim;
    for (let q = 0; q < runs.length; q += 4) {
      const [start, len, s, off] = [runs[q], runs[q + 1], runs[q + 2], runs[q + 3]];
      this.shards[s].vals.set(src.subarray(start * d, (start + len) * d), off * d);
    }
  }

  /** The shards' buffers back into out[count × dim] in the caller's order. */
  private copyOut(runs: Runs, out: Float32Array): void {
    const d = this.dim;
    for (let q = 0; q < runs.length; q += 4) {
      const [start, len, s, off] = [runs[q], runs[q + 1], runs[q + 2], runs[q + 3]];
      out.set(this.shards[s].vals.subarray(off * d, (off + len) * d), start * d);
    }
  }

  /** Per-shard buffers for n rows (grown by 1.5×; the shard memory's bump allocator never frees). */
  private ensure(sh: Shard, n: number): void {
    if (sh.ids.length >= n) return;
    const cap = Math.max(n, Math.ceil(sh.ids.length * 1.5), 256);
    sh.ids = sh.k.alloc(Int32Array, cap, 'shard batch rows');
    sh.vals = sh.k.alloc(Float32Array, cap * this.dim, 'shard batch vectors');
    this.bufferBytes += bytesOf(sh.ids, sh.vals);
  }
}

/** The shards' parts of one array joined (a copy), or the per-table value (a 1-element f64: Δ0) of the first. */
function joinShardParts(parts: ArrayBufferView[]): ArrayBufferView | undefined {
  const first = parts[0];
  if (!first) return undefined;
  if (first instanceof Float64Array && first.length === 1) return first;
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const bpe = (first as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const out = new (first.constructor as new (n: number) => ArrayBufferView)(total / bpe);
  const bytes = new Uint8Array(out.buffer);
  let off = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
    off += p.byteLength;
  }
  return out;
}

/**
 * Array `name` of a table from saved arrays: `${prefix}${name}` of a whole table, or the join of
 * `${prefix}shard<s>.${name}` of a sharded one (checkpoints and snapshots of ShardedTable.state()).
 */
export function savedTableArray(saved: Record<string, ArrayBufferView>, prefix: string, name: string): ArrayBufferView | undefined {
  const whole = saved[`${prefix}${name}`];
  if (whole) return whole;
  const parts: ArrayBufferView[] = [];
  for (let s = 0; saved[`${prefix}shard${s}.${name}`]; s++) parts.push(saved[`${prefix}shard${s}.${name}`]);
  return parts.length > 0 ? joinShardParts(parts) : undefined;
}
