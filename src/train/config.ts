// One typed configuration for a training run. The CLI (flags + YAML) and the programmatic API both
// produce this; defaults match ../shared/peers/torch_ref.py so results compare.

import type { DataFormat, CsvSchema } from '../data/index.js';
import type { SparseOptimizerName } from '../embedding/table.js';

export const EMBEDDING_METHODS = ['fp32', 'lpt-dr', 'lpt-sr', 'alpt', 'alpt-fast', 'lsq'] as const;
export type EmbeddingMethod = (typeof EMBEDDING_METHODS)[number];
export const SPARSE_OPTIMIZERS: readonly SparseOptimizerName[] = ['adam', 'adagrad', 'rowwise-adagrad', 'sgd'];

export interface TrainConfig {
  // data
  data?: string;
  train?: string;
  valid?: string;
  test?: string;
  format?: DataFormat;
  schema?: CsvSchema;
  minCount: number;
  skipBad: boolean;
  cacheDir?: string;
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

export const DEFAULTS: TrainConfig = {
  minCount: 1,
  skipBad: false,
  model: 'dcn',
  embedding: 'fp32',
  bits: 8,
  dim: 16,
  mlp: [400, 400, 400],
  crossLayers: 3,
  batchNorm: true,
  dropout: 0,
  initStd: 0.01,
  batch: 1024,
  lr: 1e-3,
  optimizer: 'adam',
  weightDecay: 0,
  sparseOptimizer: 'adam',
  stepLr: 0.01,
  stepLrScale: 'relative',
  stepOptimizer: 'adam',
  stepDtype: 'f32',
  lsqPerRow: false,
  epochs: 15,
  patience: 2,
  lrDecayEpochs: [],
  lrDecay: 0.1,
  evalEvery: 0,
  seed: 2024,
  threads: 0,
  backend: 'auto',
  progress: 'auto',
  memoryLight: false,
};

/** Check ranges and names; every message names the offending field. */
export function validateConfig(c: TrainConfig): TrainConfig {
  const fail = (field: string, msg: string): never => {
    throw new Error(`config: ${field}: ${msg}`);
  };
  if (!EMBEDDING_METHODS.includes(c.embedding)) fail('embedding', `unknown method "${c.embedding}" (expected ${EMBEDDING_METHODS.join(', ')})`);
  if (!Number.isInteger(c.bits) || c.bits < 1 || c.bits > 8) fail('bits', `must be an integer in 1..8, got ${c.bits}`);
  if (!Number.isInteger(c.dim) || c.dim < 1) fail('dim', `must be a positive integer, got ${c.dim}`);
  if (!Number.isInteger(c.batch) || c.batch < 1) fail('batch', `must be a positive integer, got ${c.batch}`);
  if (!(c.lr > 0)) fail('lr', `must be > 0, got ${c.lr}`);
  if (!(c.stepLr > 0)) fail('stepLr', `must be > 0, got ${c.stepLr}`);
  if (c.initStep !== undefined && !(c.initStep > 0)) fail('initStep', `must be > 0, got ${c.initStep}`);
  if (!SPARSE_OPTIMIZERS.includes(c.sparseOptimizer)) fail('sparseOptimizer', `unknown "${c.sparseOptimizer}" (expected ${SPARSE_OPTIMIZERS.join(', ')})`);
  if (c.optimizer !== 'adam' && c.optimizer !== 'sgd') fail('optimizer', `unknown "${c.optimizer}" (expected adam, sgd)`);
  if (!Number.isInteger(c.epochs) || c.epochs < 1) fail('epochs', `must be a positive integer, got ${c.epochs}`);
  if (!Number.isInteger(c.patience) || c.patience < 1) fail('patience', `must be a positive integer, got ${c.patience}`);
  if (!Number.isInteger(c.minCount) || c.minCount < 1) fail('minCount', `must be a positive integer, got ${c.minCount}`);
  if (c.mlp.some((h) => !Number.isInteger(h) || h < 1)) fail('mlp', `hidden sizes must be positive integers, got ${c.mlp.join(',')}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) fail('dropout', `must be in [0, 1), got ${c.dropout}`);
  if (!Number.isInteger(c.threads) || c.threads < 0) fail('threads', `must be a non-negative integer (0 = all cores), got ${c.threads}`);
  if (!['auto', 'blas', 'wasm', 'js'].includes(c.backend)) fail('backend', `unknown "${c.backend}" (expected auto, blas, wasm, js)`);
  return c;
}
