// One training step, top to bottom (the path in DESIGN.md):
// unique ids → gather → expand → forward → loss → backward → scatter-add → dense optimizer →
// sparse update + write-back. ALPT learns each row's step size Δ too, in one of two variants
// (both spelled out in updateMain): two passes (alpt) — a second forward/backward through the
// fake-quantized updated rows gives ∂L/∂Q for Δ; one pass (alpt-fast) — the first backward's
// gradients stand in for ∂L/∂Q.

import type { BatchLookup } from '../embedding/batch-lookup.js';
import { EmbeddingInputs } from './embedding-inputs.js';
import { learnsStepSizes, type EmbeddingTable, type LearnedStepSizeTable } from '../embedding/table.js';
import type { CtrModel, ModelInputs } from '../models/model.js';
import type { Backend } from '../kernels/backend.js';
import { sigmoidCrossEntropy } from './loss.js';
import type { DenseOptimizer } from './dense-optimizer.js';
import type { PhaseTimer } from './phase-timer.js';

export interface StepTables {
  main: EmbeddingTable;
  first?: EmbeddingTable;
}

/**
 * A copy of the sparse gradients one step applied to a table (rows are the lookup's unique rows;
 * dq is ALPT's ∂L/∂Q from the second pass, for adaptive tables). The distributed worker keeps it to
 * re-apply the same update to a row whose stored bytes changed under it (--store-conflicts retry).
 */
export interface SparseRecord {
  table: EmbeddingTable;
  rows: Int32Array;
  count: number;
  dim: number;
  grads: Float32Array;
  dq?: Float32Array;
}

/** What the first half of a step (forward, loss, backward) leaves for the second. */
export interface StepPending {
  loss: number;
  inputs: ModelInputs;
  grads: ReturnType<CtrModel['backward']>;
}

export class StepRunner {
  readonly inputs: EmbeddingInputs;
  private dlogits: Float32Array = new Float32Array(0);
  /** When set, every sparse update of a step is copied here (cleared at the start of each step). */
  record: SparseRecord[] | null = null;

  constructor(
    readonly backend: Backend,
    readonly model: CtrModel,
    readonly tables: StepTables,
    readonly dense: DenseOptimizer,
    readonly numFields: number,
    readonly timer?: PhaseTimer,
  ) {
    this.inputs = new EmbeddingInputs(backend, model, tables, numFields);
  }

  get mainLookup(): BatchLookup {
    return this.inputs.mainLookup;
  }

  get firstLookup(): BatchLookup | undefined {
    return this.inputs.firstLookup;
  }

  /** Logits for a batch in inference mode (no randomness, running BatchNorm statistics). */
  predict(ids: Int32Array, batch: number): Float32Array {
    return this.inputs.logits(ids, batch);
  }

  /** One optimisation step; returns the batch's mean loss. `step` is 1-based and global. */
  train(ids: Int32Array, labels: Float32Array, batch: number, step: number): number {
    const p = this.forwardBackward(ids, labels, batch, step);
    this.apply(p, labels, batch, step);
    return p.loss;
  }

  /** First half of train(): lookup, forward, loss, backward (parameter gradients in Param.grad). */
  forwardBackward(ids: Int32Array, labels: Float32Array, batch: number, step: number): StepPending {
    const t = this.timer;
    t?.start('lookup');
    const inputs = this.inputs.lookup(ids, batch);
    if (this.dlogits.length < batch) this.dlogits = new Float32Array(batch);
    t?.start('forward');
    this.model.setStep?.(step);
    const logits = this.model.forward(inputs, batch, true);
    const dlogits = this.dlogits.subarray(0, batch);
    const loss = sigmoidCrossEntropy(logits, labels, batch, dlogits);
    if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at step ${step}`);
    t?.start('backward');
    const grads = this.model.backward(dlogits, batch);
    return { loss, inputs, grads };
  }

  /** Second half of train(): dense optimizer step, sparse updates (and ALPT's second pass). */
  apply(p: StepPending, labels: Float32Array, batch: number, step: number): void {
    const t = this.timer;
    const { inputs, grads } = p;
    if (this.record) this.record.length = 0;
    t?.start('optimizer');
    this.dense.step();
    t?.start('sparse');
    if (this.firstLookup && grads.dfirst) {
      const g = this.firstLookup.scatter(grads.dfirst);
      this.keep(this.tables.first!, this.firstLookup.rows, this.firstLookup.count, 1, g);
      this.tables.first!.update(this.firstLookup.rows, this.firstLookup.count, g, step);
    }
    if (this.model.usesEmbedding) this.updateMain(grads.dx0, inputs, labels, batch, step);
    t?.stop();
  }

  private keep(table: EmbeddingTable, rows: Int32Array, count: number, dim: number, grads: Float32Array, dq?: Float32Array): SparseRecord | undefined {
    if (!this.record) return undefined;
    const r: SparseRecord = { table, rows: rows.slice(0, count), count, dim, grads: grads.slice(0, count * dim), dq: dq?.slice(0, count * dim) };
    this.record.push(r);
    return r;
  }

  private updateMain(dx0: Float32Array, inputs: ModelInputs, labels: Float32Array, batch: number, step: number): void {
    const lk = this.mainLookup;
    const table = this.tables.main;
    const g = lk.scatter(dx0);
    const rec = this.keep(table, lk.rows, lk.count, table.dim, g);
    if (!learnsStepSizes(table)) {
      // fp32, LPT (fixed Δ) and LSQ (fp32 master, its Δ learned inside update): one call
      table.update(lk.rows, lk.count, g, step);
      return;
    }
    if (table.passes === 1) this.alptOnePass(table, g, step);
    else this.alptTwoPass(table, g, inputs, labels, batch, step, rec);
  }

  /**
   * ALPT one pass (alpt-fast): sparse optimizer on the rows, then Δ from the first backward's
   * gradients taken as ∂L/∂Q of the updated rows, then write-back under the new Δ — no second
   * forward; the table runs the three phases fused per row.
   */
  private alptOnePass(table: LearnedStepSizeTable, g: Float32Array, step: number): void {
    const lk = this.mainLookup;
    table.updateOnePass(lk.rows, lk.count, g, step);
  }

  /**
   * ALPT two passes (alpt): stage → fake-quantize the staged rows under the current Δ → second
   * forward/backward for ∂L/∂Q → Δ update → write-back under the new Δ (the last two fused).
   */
  private alptTwoPass(
    table: LearnedStepSizeTable, g: Float32Array, inputs: ModelInputs, labels: Float32Array, batch: number, step: number,
    rec?: SparseRecord,
  ): void {
    const lk = this.mainLookup;
    // 1. stage: sparse optimizer on the rows in float, not yet written back
    table.stageUpdate(lk.rows, lk.count, g, step);
    // 2. fake-quantize the staged rows, Q(w) = Δ·clip(round(w/Δ)), into the model's input
    this.timer?.start('alpt-pass');
    table.fakeQuantizeStaged(lk.vectors);
    lk.expand(lk.vectors, inputs.x0);
    // 3. second forward/backward (no parameter gradients) for ∂L/∂Q of the staged rows
    const logits = this.model.forward(inputs, batch, true);
    const dlogits = this.dlogits.subarray(0, batch);
    sigmoidCrossEntropy(logits, labels, batch, dlogits);
    this.model.setParamGrads?.(false);
    const dq = this.model.backward(dlogits, batch).dx0;
    this.model.setParamGrads?.(true);
    const dqRows = lk.scatter(dq);
    if (rec) rec.dq = dqRows.slice(0, lk.count * table.dim); // kept for a cluster worker's re-apply on a write conflict
    // 4. Δ update from ∂L/∂Q, then 5. write-back under the new Δ (one pass over the rows)
    this.timer?.start('sparse');
    table.updateStepSizesAndWriteBack(dqRows, step);
  }
}
