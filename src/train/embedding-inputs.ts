// The model inputs of a batch: de-duplicate its ids, gather the rows, expand them per slot. Shared
// by the training step and the inference predictor, so both read tables the same way.
import { BatchLookup } from '../embedding/batch-lookup.js';
import type { EmbeddingTable } from '../embedding/table.js';
import type { CtrModel, ModelInputs } from '../models/model.js';
import type { Backend } from '../kernels/backend.js';

/** Inference batches are computed in multiples of this many rows (see logits). */
export const INFERENCE_ROW_BLOCK = 16;

export interface InputTables {
  main: EmbeddingTable;
  first?: EmbeddingTable;
}

export class EmbeddingInputs {
  readonly mainLookup: BatchLookup;
  readonly firstLookup?: BatchLookup;
  private x0: Float32Array = new Float32Array(0);
  private first: Float32Array = new Float32Array(0);
  private capacity = 0;
  private padIds = new Int32Array(0);

  constructor(
    readonly backend: Backend,
    readonly model: CtrModel,
    readonly tables: InputTables,
    readonly numFields: number,
  ) {
    const kernels = backend.sparse ?? null;
    this.mainLookup = new BatchLookup(tables.main, kernels);
    if (tables.first) this.firstLookup = new BatchLookup(tables.first, kernels);
  }

  private ensure(batch: number): void {
    if (batch <= this.capacity) return;
    this.capacity = batch;
    const slots = batch * this.numFields;
    this.x0 = this.backend.alloc(slots * this.tables.main.dim);
    this.first = this.backend.alloc(slots);
  }

  /** Look up the batch's embeddings (ids[batch×fields], global row ids); returns the model inputs. */
  lookup(ids: Int32Array, batch: number): ModelInputs {
    this.ensure(batch);
    const slots = batch * this.numFields;
    const x0 = this.x0.subarray(0, slots * this.tables.main.dim);
    const inputs: ModelInputs = { x0 };
    if (this.model.usesEmbedding) {
      this.mainLookup.prepare(ids, slots);
      this.mainLookup.lookup(x0);
    }
    if (this.firstLookup && this.model.usesFirstOrder) {
      this.firstLookup.prepare(ids, slots);
      inputs.first = this.first.subarray(0, slots);
      this.firstLookup.lookup(inputs.first);
    }
    return inputs;
  }

  /**
   * Logits for a batch in inference mode (no randomness, running BatchNorm statistics). The batch
   * is padded to a multiple of INFERENCE_ROW_BLOCK rows (copies of its last row): GEMM kernels
   * handle a few leftover rows with other code paths (matrix-vector for one row, edge tiles) whose
   * sums run in another order, so without padding a row's score would depend on how many rows
   * were scored with it. Padded, it does not: evaluation, predict and a batching server agree bit
   * for bit.
   */
  logits(ids: Int32Array, batch: number): Float32Array {
    const padded = Math.ceil(batch / INFERENCE_ROW_BLOCK) * INFERENCE_ROW_BLOCK;
    if (padded === batch || batch === 0) return this.model.forward(this.lookup(ids, batch), batch, false);
    const F = this.numFields;
    if (this.padIds.length < padded * F) this.padIds = new Int32Array(padded * F);
    const p = this.padIds;
    p.set(ids.subarray(0, batch * F));
    for (let r = batch; r < padded; r++) p.copyWithin(r * F, (batch - 1) * F, batch * F);
    return this.model.forward(this.lookup(p, padded), padded, false);
  }
}
