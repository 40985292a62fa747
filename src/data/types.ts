// Public types of the data layer.
import type { HashOptions } from './hash-rows.js';

export type DataFormat = 'libfm' | 'criteo' | 'avazu' | 'csv' | 'parquet';

export interface NumericColumn {
  column: string | number;
  /** Sorted boundaries: bucket b holds values in [buckets[b-1], buckets[b]). */
  buckets?: number[];
  rule?: 'log2' | 'criteo' | 'identity';
}

export interface CsvSchema {
  delimiter?: string;
  header?: boolean;
  label: string | number;
  categorical: (string | number)[];
  numeric?: NumericColumn[];
  /** label >= threshold → 1, else 0; without it the label is used as read. */
  labelThreshold?: number;
}

export interface DataOptions {
  format: DataFormat;
  train: string;
  valid?: string;
  test?: string;
  /** Values seen fewer times than this in train map to the field's OOV id. Default 1. */
  minCount?: number;
  schema?: CsvSchema;
  /** Default: <dir of train>/.alpt-cache, or <tmpdir>/alpt-cache when that dir is read-only. */
  cacheDir?: string;
  skipBad?: boolean;
  noCache?: boolean;
  /** Hashed ids instead of a vocabulary (--hash-rows): no keys kept, bounded-memory ingest. */
  hash?: HashOptions;
  onProgress?: (phase: string, rows: number) => void;
}

export interface Vocab {
  fieldNames: string[];
  /** Per field: kept values + 1 OOV id. */
  fieldSizes: number[];
  fieldOffsets: number[];
  /** Sum of fieldSizes: the number of embedding rows. */
  totalRows: number;
  /**
   * Set for hashed ids (--hash-rows): values map to rows by this seeded hash, no keys are stored
   * and a field has no OOV id (fieldSizes[j] = hash.rows[j]). See src/data/hash-rows.ts.
   */
  hash?: HashSpec;
}

/** How raw values map to rows under --hash-rows (stored with the vocabulary: cache, checkpoint, model file). */
export interface HashSpec {
  /** HASH_VERSION of the mapping. */
  version: number;
  seed: number;
  /** Rows per field (field j's ids are fieldOffsets[j] + [0, rows[j])). */
  rows: number[];
}

/**
 * The raw values behind the ids: per field, the kept values' key bytes in id order (the OOV id,
 * the field's last, has none). `ends[i]` is the end of the i-th kept key in `bytes` (all fields
 * back to back, field 0 first), so field j's keys are entries fieldOffsets[j] - j … + fieldSizes[j] - 1.
 */
export interface VocabKeys {
  bytes: Uint8Array;
  ends: Uint32Array;
}

/** How raw input becomes the parser's keys: what a model file needs to parse new rows as training did. */
export interface InputSpec {
  format: DataFormat;
  schema?: CsvSchema;
  /** The header line of the training file (avazu, csv with header). */
  header?: string;
  /** Field count (libfm fixes it from the first row). */
  numFields: number;
}

export interface EncodedSplit {
  n: number;
  numFields: number;
  /** Row-major n*numFields global ids (fieldOffset + local id). */
  ids: Int32Array;
  labels: Float32Array;
  skipped: number;
}

export interface LoadedData {
  vocab: Vocab;
  train: EncodedSplit;
  valid?: EncodedSplit;
  test?: EncodedSplit;
  fromCache: boolean;
  skippedRows: number;
  /** Raw values of the vocabulary (absent only for data built by hand). */
  vocabKeys?: VocabKeys;
  input?: InputSpec;
  /** Set when valid was held out of train (--valid-fraction), so it is not held out twice. */
  heldOutFraction?: number;
}
