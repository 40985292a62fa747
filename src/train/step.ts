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

export class StepRunner {
  readonly inputs: EmbeddingInputs;
  private dlogits: Float32Array = new Float32Array(0);

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
    t?.start('optimizer');
    this.dense.step();
    t?.start('sparse');
    if (this.firstLookup && grads.dfirst) {
      const g = this.firstLookup.scatter(grads.dfirst);
      this.tables.first!.update(this.firstLookup.rows, this.firstLookup.count, g, step);
    }
    if (this.model.usesEmbedding) this.updateMain(grads.dx0, inputs, labels, batch, step);
    t?.stop();
    return loss;
  }

  private updateMain(dx0: Float32Array, inputs: ModelInputs, labels: Float32Array, batch: number, step: number): void {
    const lk = this.mainLookup;
    const table = this.tables.main;
    const g = lk.scatter(dx0);
    if (!learnsStepSizes(table)) {
      // fp32, LPT (fixed Δ) and LSQ (fp32 master, its Δ learned inside update): one call
      table.update(lk.rows, lk.count, g, step);
      return;
    }
    if (table.passes === 1) this.alptOnePass(table, g, step);
    else this.alptTwoPass(table, g, inputs, labels, batch, step);
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
    // 4. Δ update from ∂L/∂Q, then 5. write-back under the new Δ (one pass over the rows)
    this.timer?.start('sparse');
    table.updateStepSizesAndWriteBack(dqRows, step);
  }
}
