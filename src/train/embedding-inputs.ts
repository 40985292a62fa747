// The model inputs of a batch: de-duplicate its ids, gather the rows, expand them per slot. Shared
// by the training step and the inference predictor, so both read tables the same way.
import { BatchLookup } from '../embedding/batch-lookup.js';
import type { EmbeddingTable } from '../embedding/table.js';
import type { CtrModel, ModelInputs } from '../models/model.js';
import type { Backend } from '../kernels/backend.js';

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

  /** Logits for a batch in inference mode (no randomness, running BatchNorm statistics). */
  logits(ids: Int32Array, batch: number): Float32Array {
    return this.model.forward(this.lookup(ids, batch), batch, false);
  }
}
