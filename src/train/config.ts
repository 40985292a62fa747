// One typed configuration for a training run. The CLI (flags + YAML) and the programmatic API both
// produce this; defaults (declared in ./config-schema.ts) match ../shared/peers/torch_ref.py.

import type { DataFormat, CsvSchema } from '../data/index.js';
import type { SparseOptimizerName } from '../embedding/table.js';
import type { z } from 'zod';
import { CONFIG_FIELDS, CONFIG_KEYS, TRAIN_CONFIG_SCHEMA, kebab, type EMBEDDING_METHODS } from './config-schema.js';
import { CSV_SCHEMA } from '../data/csv-schema.js';
import { explainIssues } from '../util/explain-issues.js';

export { EMBEDDING_METHODS, SPARSE_OPTIMIZERS, MAX_THREADS } from './config-schema.js';
export type EmbeddingMethod = (typeof EMBEDDING_METHODS)[number];

export interface TrainConfig {
  // data
  data?: string;
  train?: string;
  valid?: string;
  test?: string;
  format?: DataFormat;
  schema?: CsvSchema;
  /** Hold out this fraction of train (seeded) as validation when there is no valid split. */
  validFraction?: number;
  minCount: number;
  skipBad: boolean;
  cacheDir?: string;
  /** Hashed ids: rows per field (one value for all fields, or one per field). */
  hashRows?: number[];
  /** Hashed ids: rows in total, split evenly over the fields. */
  hashRowsTotal?: number;
  hashSeed: number;
  // model
  model: string;
  embedding: EmbeddingMethod;
  bits: number;
  dim: number;
  mlp: number[];
  crossLayers: number;
  batchNorm: boolean;
  dropout: number;
  initStd: number;
  // optimisation
  batch: number;
  lr: number;
  optimizer: 'adam' | 'sgd';
  weightDecay: number;
  sparseOptimizer: SparseOptimizerName;
  sparseLr?: number;
  stepLr: number;
  stepLrScale: 'relative' | 'absolute';
  stepOptimizer: 'adam' | 'adagrad' | 'sgd';
  stepDtype: 'f32' | 'f16';
  lsqPerRow: boolean;
  /** Constant initial step Δ0 (default: 2·mean|w|/sqrt(Q_P) of the initial table, LSQ's rule). */
  initStep?: number;
  epochs: number;
  patience: number;
  lrDecayEpochs: number[];
  lrDecay: number;
  evalEvery: number;
  /** Also checkpoint every N steps (0: at epoch ends only); resuming mid-epoch stays bit-exact. */
  checkpointEvery: number;
  // run
  seed: number;
  threads: number;
  backend: 'auto' | 'blas' | 'wasm' | 'js';
  out?: string;
  progress: 'auto' | 'bar' | 'lines' | 'none';
  maxSteps?: number;
  /** Memory-light ALPT defaults (src/train/memory-light.ts) under the explicit settings. */
  memoryLight: boolean;
}

/** The defaults, as declared in the schema (./config-schema.ts). */
export const DEFAULTS: TrainConfig = TRAIN_CONFIG_SCHEMA.parse({});

// Compile-time check that the schema produces exactly the documented TrainConfig.
const _schemaMatchesInterface: TrainConfig = {} as z.output<typeof TRAIN_CONFIG_SCHEMA>;
void _schemaMatchesInterface;

/** How a key is named in messages: its config name and its flag. */
export const keyName = (path: PropertyKey[]): string => {
  const [head, ...rest] = path.map(String);
  if (head === undefined) return '(config)';
  const tail = rest.length ? '.' + rest.join('.') : '';
  return head in CONFIG_FIELDS ? `${head}${tail} (--${kebab(head)})` : head + tail;
};

/** Check every key against the schema; the message names each bad key, its value and what is allowed. */
export function validateConfig(c: TrainConfig): TrainConfig {
  const r = TRAIN_CONFIG_SCHEMA.safeParse(c);
  if (r.success) {
    const cfg = r.data as TrainConfig;
    if (cfg.hashRows && cfg.hashRowsTotal !== undefined) throw new Error('config: give hashRows (--hash-rows) or hashRowsTotal (--hash-rows-total), not both');
    if (usesHashing(cfg) && cfg.minCount > 1) {
      throw new Error(`config: minCount (--min-count) ${cfg.minCount} needs a vocabulary; hashed ids (--hash-rows) keep none: give one or the other`);
    }
    return cfg;
  }
  const lines = explainIssues(r.error.issues, c, {
    name: keyName,
    keysAt: (p) => (p.length === 0 ? CONFIG_KEYS : p[0] === 'schema' ? Object.keys(CSV_SCHEMA.shape) : []),
  });
  throw new Error(lines.map((l) => `config: ${l}`).join('\n'));
}

/** The run maps values to rows by hashing (--hash-rows / --hash-rows-total). */
export function usesHashing(cfg: Pick<TrainConfig, 'hashRows' | 'hashRowsTotal'>): boolean {
  return cfg.hashRows !== undefined || cfg.hashRowsTotal !== undefined;
}
