// The library's front door for a training run: config in, summary out. Resolves the data files,
// loads (or encodes and caches) the dataset, creates the backend, trains and evaluates.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { createBackend } from '../kernels/index.js';
import type { Backend } from '../kernels/backend.js';
import { findSplits, loadData, type LoadedData, type DataFormat } from '../data/index.js';
import { Trainer, type TrainerHooks, type TrainSummary } from './trainer.js';
import { DEFAULTS, usesHashing, validateConfig, type TrainConfig } from './config.js';
import { holdOutValid } from '../data/hold-out.js';

export function defaultCacheDir(): string {
  return process.env.ALPT_CACHE_DIR ?? join(homedir(), '.cache', 'alpt');
}

/** Resolve --data DIR or --train/--valid/--test into files and a format. */
export function resolveData(cfg: TrainConfig): { train: string; valid?: string; test?: string; format: DataFormat } {
  let { train, valid, test, format } = cfg;
  if (cfg.data) {
    if (!existsSync(cfg.data)) throw new Error(`--data ${cfg.data}: no such directory`);
    const found = findSplits(cfg.data);
    train ??= found.train;
    valid ??= found.valid;
    test ??= found.test;
    if (!format && found.format) {
      format = found.format;
      if (cfg.progress !== 'none') process.stderr.write(`alpt: guessed --format ${format} for ${train} (${found.formatWhy}); give --format to override\n`);
    }
  }
  if (!train) throw new Error('no training data: give --data DIR (with train.*, valid.*, test.*) or --train FILE');
  if (!format) throw new Error(`cannot tell the format of ${train}: give --format libfm|criteo|avazu|csv|parquet`);
  return { train, valid, test, format };
}

export async function loadRunData(cfg: TrainConfig, onProgress?: (phase: string, rows: number) => void): Promise<LoadedData> {
  const files = resolveData(cfg);
  const data = await loadData({
    ...files,
    minCount: cfg.minCount,
    schema: cfg.schema,
    cacheDir: cfg.cacheDir ?? defaultCacheDir(),
    skipBad: cfg.skipBad,
    ...(usesHashing(cfg) ? { hash: { seed: cfg.hashSeed, rows: cfg.hashRows, total: cfg.hashRowsTotal } } : {}),
    onProgress,
  });
  return withValidFraction(data, cfg);
}

/** Apply --valid-fraction once (data loaded elsewhere gets it here too); refuse it next to a valid split. */
export function withValidFraction(data: LoadedData, cfg: TrainConfig): LoadedData {
  const f = cfg.validFraction;
  if (!f || data.heldOutFraction === f) return data;
  if (data.heldOutFraction !== undefined) throw new Error(`--valid-fraction ${f}: this data already holds out ${data.heldOutFraction} of train`);
  if (data.valid && data.valid.n > 0) throw new Error(`--valid-fraction ${f}: the data already has a validation split (${data.valid.n} rows); give one or the other`);
  return holdOutValid(data, f, cfg.seed);
}

export interface RunOptions {
  hooks?: TrainerHooks;
  /** Reuse a backend across runs (compare); otherwise one is created and disposed. */
  backend?: Backend;
  data?: LoadedData;
  resume?: string;
}

/** Train one model from a (partial) config; fills in defaults, validates, returns the summary. */
export async function train(partial: Partial<TrainConfig>, opts: RunOptions = {}): Promise<TrainSummary> {
  const cfg = validateConfig({ ...DEFAULTS, ...partial });
  const data = opts.data ? withValidFraction(opts.data, cfg) : await loadRunData(cfg);
  const backend = opts.backend ?? (await createBackend({ kind: cfg.backend, threads: cfg.threads || undefined }));
  try {
    const trainer = new Trainer(cfg, data, backend, opts.hooks, { resuming: opts.resume !== undefined });
    if (opts.resume) trainer.resume(opts.resume);
    return trainer.fit();
  } finally {
    if (!opts.backend) backend.dispose();
  }
}
