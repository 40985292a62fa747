// Data layer: CTR text formats → vocabulary + encoded id columns (cached), and mini-batches.
export type { DataFormat, CsvSchema, NumericColumn, DataOptions, Vocab, EncodedSplit, LoadedData } from './types.js';
export { loadData } from './load.js';
export { findSplits, guessFormat } from './splits.js';
export { writeSynthetic, teacherLogits, type SynthOptions } from './synth.js';
export { Batcher, type Batch, type BatcherOptions } from './batcher.js';
export { benchIngest } from './bench-ingest.js';
