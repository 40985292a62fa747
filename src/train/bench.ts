// Timed training steps on synthetic batches (uniform ids per field, like torch_ref --bench-steps):
// median step time after warm-up, samples/s and a per-phase breakdown. Not a test: numbers only
// mean something next to another run measured on the same machine at the same time.

import type { Backend } from '../kernels/backend.js';
import type { KernelProfile } from '../kernels/profile.js';
import { Batcher, type LoadedData, type Vocab } from '../data/index.js';
import { CounterRng, Stream } from '../util/rng.js';
import { Trainer } from './trainer.js';
import type { MemoryReport } from '../embedding/table.js';
import { DEFAULTS, validateConfig, type TrainConfig } from './config.js';

export interface BenchOptions {
  fields: number;
  rowsPerField: number;
  steps: number;
  warmup?: number;
  /** Kernel profile of the backend (profileBackend); reported per step as ops_ms. */
  profile?: KernelProfile;
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
  table: MemoryReport;
  /** Bytes of the batch lookups' scratch (O(batch), none per row). */
  lookup_bytes: number;
  /** Peak resident set of the process (MiB). */
  peak_rss_mib: number;
}

function syntheticData(fields: number, rowsPerField: number, n: number, seed: number): LoadedData {
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
    for (let j = 0; j < fields; j++) ids[i * fields + j] = j * rowsPerField + rng.int(rowsPerField);
    labels[i] = rng.next() < 0.25 ? 1 : 0;
  }
  const train = { n, numFields: fields, ids, labels, skipped: 0 };
  return { vocab, train, fromCache: false, skippedRows: 0 };
}

export function benchTraining(partial: Partial<TrainConfig>, o: BenchOptions, backend: Backend): BenchResult {
  const cfg = validateConfig({ ...DEFAULTS, ...partial, progress: 'none' });
  const B = cfg.batch;
  const data = syntheticData(o.fields, o.rowsPerField, 4 * B, cfg.seed);
  const tInit = performance.now();
  const trainer = new Trainer(cfg, data, backend);
  const initS = (performance.now() - tInit) / 1000;
  const batcher = new Batcher(data.train, { batchSize: B, shuffle: true, seed: cfg.seed });
  const warmup = o.warmup ?? 2;
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
    lookup_bytes: trainer.runner.inputs.mainLookup.bytes() + (trainer.runner.inputs.firstLookup?.bytes() ?? 0),
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(o.profile ? { ops_ms: Object.fromEntries(Object.entries(o.profile.snapshot()).map(([k, v]) => [k, +(v.ms / o.steps).toFixed(2)])) } : {}),
  };
}
