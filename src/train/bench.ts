// Timed training steps on synthetic batches (uniform ids per field, like torch_ref --bench-steps):
// median step time after warm-up, samples/s and a per-phase breakdown. Not a test: numbers only
// mean something next to another run measured on the same machine at the same time.

import { ShardedTable } from '../embedding/sharded-table.js';
import type { Backend } from '../kernels/backend.js';
import type { KernelProfile } from '../kernels/profile.js';
import { Batcher, type LoadedData, type Vocab } from '../data/index.js';
import { CounterRng, Stream } from '../util/rng.js';
import { Trainer } from './trainer.js';
import type { MemoryReport } from '../embedding/table.js';
import { DEFAULTS, validateConfig, type TrainConfig } from './config.js';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchOptions {
  fields: number;
  rowsPerField: number;
  steps: number;
  warmup?: number;
  /** Kernel profile of the backend (profileBackend); reported per step as ops_ms. */
  profile?: KernelProfile;
  /**
   * uniform (default): 4 batches of uniform ids, reused (as torch_ref --bench-steps).
   * zipf: a fresh batch per step, ids from a Zipf law over each field's rows (exponent
   * zipfExponent), ranks scattered over the field so hot rows are spread across the whole table.
   */
  ids?: 'uniform' | 'zipf';
  zipfExponent?: number;
  /** Write a checkpoint here after the steps, read it back, report the times (file deleted). */
  checkpointDir?: string;
}

export interface BenchResult {
  model: string;
  embedding: string;
  bits: number;
  backend: string;
  threads: number;
  batch: number;
  fields: number;
  rows: number;
  dim: number;
  mlp: string;
  steps: number;
  step_ms: number;
  step_ms_min: number;
  samples_per_s: number;
  phases_ms: Record<string, number>;
  ops_ms?: Record<string, number>;
  /** Seconds to build the model and tables (initialisation of every row). */
  init_s: number;
  /** Embedding table bytes per row, from its memory report; the report itself. */
  table_bytes_per_row: number;
  table_memories: number;
  table: MemoryReport;
  /** Bytes of the batch lookups' scratch (O(batch), none per row). */
  lookup_bytes: number;
  /** Peak resident set of the process (MiB). */
  peak_rss_mib: number;
  ids: string;
  /** Distinct table rows the timed and warm-up batches touched. */
  rows_touched?: number;
  checkpoint?: { bytes: number; write_s: number; read_s: number; write_gb_per_s: number; read_gb_per_s: number };
}

/**
 * Row of rank k (0 = hottest) of a field: a bijection of [0, rows) (multiplication by a prime that
 * does not divide rows), so the hot rows are scattered over the field instead of packed at its start.
 */
const SCATTER = 1000003;
function scatterRank(k: number, rows: number): number {
  return rows % SCATTER === 0 ? k : (k * SCATTER) % rows; // k·SCATTER < 2^53 for rows < 9·10^9
}

/** Zipf(s) rank in [0, n): inverse CDF of the continuous law x^-s on [1, n+1), floored. */
function zipfRank(u: number, n: number, s: number): number {
  const x = Math.abs(s - 1) < 1e-9
    ? Math.pow(n + 1, u)
    : Math.pow(1 + u * (Math.pow(n + 1, 1 - s) - 1), 1 / (1 - s));
  return Math.min(n - 1, Math.max(0, Math.floor(x) - 1));
}

function syntheticData(fields: number, rowsPerField: number, n: number, seed: number, zipf?: number): LoadedData {
  const vocab: Vocab = {
    fieldNames: Array.from({ length: fields }, (_, j) => `f${j}`),
    fieldSizes: new Array(fields).fill(rowsPerField),
    fieldOffsets: Array.from({ length: fields }, (_, j) => j * rowsPerField),
    totalRows: fields * rowsPerField,
  };
  const rng = new CounterRng(seed, Stream.bench);
  const ids = new Int32Array(n * fields);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < fields; j++) {
      ids[i * fields + j] = j * rowsPerField + (zipf === undefined ? rng.int(rowsPerField) : scatterRank(zipfRank(rng.next(), rowsPerField, zipf), rowsPerField));
    }
    labels[i] = rng.next() < 0.25 ? 1 : 0;
  }
  const train = { n, numFields: fields, ids, labels, skipped: 0 };
  return { vocab, train, fromCache: false, skippedRows: 0 };
}

export function benchTraining(partial: Partial<TrainConfig>, o: BenchOptions, backend: Backend): BenchResult {
  const cfg = validateConfig({ ...DEFAULTS, ...partial, progress: 'none' });
  const B = cfg.batch;
  const warmup = o.warmup ?? 2;
  const zipf = o.ids === 'zipf';
  const data = zipf
    ? syntheticData(o.fields, o.rowsPerField, (warmup + o.steps) * B, cfg.seed, o.zipfExponent ?? 1.05)
    : syntheticData(o.fields, o.rowsPerField, 4 * B, cfg.seed);
  const tInit = performance.now();
  const trainer = new Trainer(cfg, data, backend);
  const initS = (performance.now() - tInit) / 1000;
  const batcher = new Batcher(data.train, { batchSize: B, shuffle: !zipf, seed: cfg.seed });
  const times: number[] = [];
  let step = 0;
  let epoch = 0;
  batcher.begin(epoch);
  for (let s = 0; s < warmup + o.steps; s++) {
    if (s === warmup) {
      trainer.timer.reset();
      o.profile?.reset();
    }
    const t0 = performance.now();
    trainer.timer.start('data');
    let b = batcher.next();
    if (!b) {
      batcher.begin(++epoch);
      b = batcher.next()!;
    }
    trainer.runner.train(b.ids, b.labels, b.size, ++step);
    if (s >= warmup) times.push(performance.now() - t0);
  }
  let checkpoint: BenchResult['checkpoint'];
  if (o.checkpointDir) {
    mkdirSync(o.checkpointDir, { recursive: true });
    const path = join(o.checkpointDir, `bench-${process.pid}.ckpt`);
    try {
      const t0 = performance.now();
      trainer.saveCheckpoint(path);
      const t1 = performance.now();
      trainer.resume(path);
      const t2 = performance.now();
      const bytes = statSync(path).size;
      const w = (t1 - t0) / 1000, r = (t2 - t1) / 1000;
      checkpoint = { bytes, write_s: +w.toFixed(2), read_s: +r.toFixed(2), write_gb_per_s: +(bytes / 1e9 / w).toFixed(2), read_gb_per_s: +(bytes / 1e9 / r).toFixed(2) };
    } finally {
      rmSync(path, { force: true });
    }
  }
  let rowsTouched: number | undefined;
  if (zipf) {
    const seen = new Uint8Array(Math.ceil(data.vocab.totalRows / 8));
    let count = 0;
    for (const id of data.train.ids) {
      if (!(seen[id >>> 3] & (1 << (id & 7)))) {
        seen[id >>> 3] |= 1 << (id & 7);
        count++;
      }
    }
    rowsTouched = count;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)];
  const phases: Record<string, number> = {};
  for (const [k, v] of Object.entries(trainer.timer.snapshot())) phases[k] = +(v / o.steps).toFixed(2);
  return {
    model: cfg.model,
    embedding: cfg.embedding,
    bits: cfg.embedding === 'fp32' ? 32 : cfg.bits,
    backend: backend.name,
    threads: backend.threads,
    batch: B,
    fields: o.fields,
    rows: o.fields * o.rowsPerField,
    dim: cfg.dim,
    mlp: cfg.mlp.join(','),
    steps: o.steps,
    step_ms: +med.toFixed(2),
    step_ms_min: +sorted[0].toFixed(2),
    samples_per_s: +(B / (med / 1000)).toFixed(1),
    phases_ms: phases,
    init_s: +initS.toFixed(2),
    table_bytes_per_row: trainer.tables.main.memory().bytesPerRow,
    table: trainer.tables.main.memory(),
    // WebAssembly memories the table lives in (1: the main memory; more: row shards of their own)
    table_memories: trainer.tables.main instanceof ShardedTable ? trainer.tables.main.shards.length : 1,
    lookup_bytes: trainer.runner.inputs.mainLookup.bytes() + (trainer.runner.inputs.firstLookup?.bytes() ?? 0),
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    ids: zipf ? `zipf(${o.zipfExponent ?? 1.05})` : 'uniform',
    ...(rowsTouched !== undefined ? { rows_touched: rowsTouched } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    ...(o.profile ? { ops_ms: Object.fromEntries(Object.entries(o.profile.snapshot()).map(([k, v]) => [k, +(v.ms / o.steps).toFixed(2)])) } : {}),
  };
}
