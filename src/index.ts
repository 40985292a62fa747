// alpt's public API.
export { train, loadRunData, resolveData } from './train/run.js';
export type { RunOptions } from './train/run.js';
export { Trainer } from './train/trainer.js';
export type { TrainSummary, EpochRecord, TrainerHooks, EvalResult } from './train/trainer.js';
export { DEFAULTS, validateConfig, EMBEDDING_METHODS } from './train/config.js';
export type { TrainConfig, EmbeddingMethod } from './train/config.js';
export { auc, logloss } from './train/metrics.js';
export { loadData, findSplits, writeSynthetic, Batcher } from './data/index.js';
export type { DataOptions, DataFormat, CsvSchema, LoadedData, EncodedSplit, Vocab } from './data/index.js';
export { createBackend } from './kernels/index.js';
export type { Backend } from './kernels/backend.js';
export { createTable } from './embedding/factory.js';
export type { EmbeddingTable, AdaptiveStepTable, MemoryReport } from './embedding/table.js';
export { memoryGrid } from './embedding/memory-report.js';
export { buildModel, MODELS } from './models/registry.js';
export type { CtrModel, ModelContext } from './models/model.js';
