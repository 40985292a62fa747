// What models and the trainer see of an embedding table. Codes, step sizes and optimizer state stay
// inside: fp32, packed low-precision (LPT/ALPT) and fake-quantized (LSQ) tables all drop in here.

export interface MemoryReport {
  rows: number;
  dim: number;
  /** Bytes of the stored weights: fp32 values, or packed integer codes. */
  codes: number;
  /** Bytes of per-row (or per-table) step sizes Δ (report key kept as `steps`). */
  steps: number;
  /** Bytes of the sparse optimizer's state for the weights. */
  optimizerState: number;
  /** Bytes of the step-size optimizer's state (ALPT, LSQ). */
  stepOptimizerState: number;
  /** Bytes of any fp32 master copy (LSQ keeps one; LPT/ALPT must not). */
  master: number;
  /** codes + steps + optimizerState + stepOptimizerState + master: every array that grows with rows. */
  total: number;
  bytesPerRow: number;
  /** Bytes of the table's own per-batch buffers (O(batch × dim), not per row; not in total). */
  scratch: number;
  /**
   * Arrays that did not fit in the WebAssembly memory and live on the JS heap instead (the table
   * then runs its TypeScript kernels). Empty normally.
   */
  fallbacks: string[];
}

export type SparseOptimizerName = 'adam' | 'adagrad' | 'rowwise-adagrad' | 'sgd';

export interface SparseOptimizerConfig {
  name: SparseOptimizerName;
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adagrad's initial accumulator value. */
  initialAccumulator?: number;
}

/** What every table is built from: its shape, its initialisation stream and its sparse optimizer. */
export interface TableInitOptions {
  rows: number;
  dim: number;
  seed: number;
  /** Distinguishes tables under one seed (init and rounding streams). Default 0. */
  tableId?: number;
  /** Initial weights N(0, initStd²); default 0.01. */
  initStd?: number;
  optimizer: SparseOptimizerConfig;
  /**
   * A shard of a larger table (src/embedding/sharded-table.ts): this table holds rows
   * [firstRow, firstRow + rows) of a table of tableRows rows. Row ids passed in stay global, and
   * init and rounding draws use them, so a sharded table trains bit for bit like a whole one.
   * Default 0 and rows.
   */
  firstRow?: number;
  tableRows?: number;
  /**
   * false: leave the arrays zero (and Δ0 unset) because load() is about to overwrite them all — a
   * resumed run does not spend minutes drawing a multi-GB init it then discards. Default true.
   */
  init?: boolean;
}

/** Options of tables with step sizes Δ (LPT, ALPT, LSQ); the keys are the config keys. */
export interface StepSizeLearningOptions {
  /** Δ0 for every row (the initial step size; config key initStep). Default 2·mean|w|/sqrt(Q_P) over the N(0, initStd²) init. */
  initStep?: number;
  /** Step-size learning rate. Default 0.01, relative to Δ0. */
  stepLr?: number;
  stepLrScale?: 'relative' | 'absolute';
  /** adam (default): 8 bytes a row; adagrad: 4 bytes a row; sgd: none. */
  stepOptimizer?: 'adam' | 'adagrad' | 'sgd';
}

export interface EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  /** Write the (de-quantized) vectors of rows[0..count) into out[count×dim]. */
  gather(rows: Int32Array, count: number, out: Float32Array): void;
  /**
   * rows[0..count) are unique; grads[count×dim] are their summed gradients. Runs the fused sparse
   * optimizer on those rows only, then (for packed tables) writes them back as integer codes.
   * `step` is the global training step (1-based), used for bias correction and rounding draws.
   */
  update(rows: Int32Array, count: number, grads: Float32Array, step: number): void;
  /** Bytes held, computed from the actual allocations. */
  memory(): MemoryReport;
  /** Named typed arrays that fully describe the table (for checkpoints); load() restores them. */
  state(): Record<string, ArrayBufferView>;
  load(state: Record<string, ArrayBufferView>): void;
  /**
   * One array of state() over all rows, where state() does not hold it whole (a sharded table
   * joins its shards' parts: a copy). Use tableArray(t, name).
   */
  array?(name: string): ArrayBufferView | undefined;
  /** Change the sparse optimizer's learning rate (step LR schedule). */
  setLearningRate?(lr: number): void;
}

/**
 * A table learning one step size Δ per row with ALPT, in one of two variants the trainer runs
 * explicitly (src/train/step.ts):
 * - passes 2 (alpt): update the rows in float (staged, not yet written back) → fake-quantize the
 *   staged rows under the current Δ → a second forward/backward gives ∂L/∂Q → update Δ → write
 *   the rows back under the new Δ;
 * - passes 1 (alpt-fast): the first backward's gradients stand in for ∂L/∂Q: updateOnePass.
 */
export interface LearnedStepSizeTable extends EmbeddingTable {
  readonly learnsStepSizes: true;
  readonly passes: 1 | 2;
  /** One pass: sparse optimizer, Δ from the same gradients, write-back, fused per row. */
  updateOnePass(rows: Int32Array, count: number, grads: Float32Array, step: number): void;
  /** Sparse optimizer on the rows; keeps the updated float rows staged, no write-back yet. */
  stageUpdate(rows: Int32Array, count: number, grads: Float32Array, step: number): void;
  /** LSQ fake-quantized staged rows, Q(w) = Δ·clip(round(w/Δ)), into out[count×dim]. */
  fakeQuantizeStaged(out: Float32Array): void;
  /** From ∂L/∂Q[count×dim] of the staged rows: LSQ gradient of each row's Δ, then a Δ update. */
  updateStepSizesStaged(dq: Float32Array, step: number): void;
  /** Write the staged rows back as codes (stochastic rounding under the current Δ). */
  writeBackStaged(step: number): void;
  /** updateStepSizesStaged(dq) then writeBackStaged(), in one pass over the rows. */
  updateStepSizesAndWriteBack(dq: Float32Array, step: number): void;
}

/** ALPT's two-pass variant (alpt): the trainer runs the second forward/backward. */
export interface AdaptiveStepTable extends LearnedStepSizeTable {
  readonly passes: 2;
}

export function learnsStepSizes(t: EmbeddingTable): t is LearnedStepSizeTable {
  return (t as Partial<LearnedStepSizeTable>).learnsStepSizes === true;
}

/** True for ALPT's two-pass variant only (alpt-fast runs in one pass). */
export function isAdaptive(t: EmbeddingTable): t is AdaptiveStepTable {
  return learnsStepSizes(t) && t.passes === 2;
}

/** Array `name` of a table's state over all its rows (codes, steps, weights …), or undefined. */
export function tableArray(t: EmbeddingTable, name: string): ArrayBufferView | undefined {
  return t.array ? t.array(name) : t.state()[name];
}
