// Public types of the data layer.

export type DataFormat = 'libfm' | 'criteo' | 'avazu' | 'csv';

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
  onProgress?: (phase: string, rows: number) => void;
}

export interface Vocab {
  fieldNames: string[];
  /** Per field: kept values + 1 OOV id. */
  fieldSizes: number[];
  fieldOffsets: number[];
  /** Sum of fieldSizes: the number of embedding rows. */
  totalRows: number;
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
  /** Set when valid was held out of train (--valid-fraction), so it is not held out twice. */
  heldOutFraction?: number;
}
