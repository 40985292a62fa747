// One training step, top to bottom (the path in DESIGN.md):
// unique ids → gather → expand → forward → loss → backward → scatter-add → dense optimizer →
// sparse update + write-back; ALPT adds a second pass through the fake-quantizer for ∂L/∂Δ.

import type { BatchLookup } from '../embedding/batch-lookup.js';
import { EmbeddingInputs } from './embedding-inputs.js';
import { isAdaptive, type EmbeddingTable } from '../embedding/table.js';
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
    if (!isAdaptive(table)) {
      table.update(lk.rows, lk.count, g, step);
      return;
    }
    // ALPT: update the rows in float, then a second forward/backward through the fake-quantized
    // updated rows gives ∂L/∂Q for the step sizes; then write back under the new Δ.
    // (alpt-fast takes ∂L/∂Q from the first backward inside table.update(), no second pass.)
    table.stageUpdate(lk.rows, lk.count, g, step);
    this.timer?.start('alpt-pass');
    table.fakeQuantizeStaged(lk.vectors);
    lk.expand(lk.vectors, inputs.x0);
    const logits = this.model.forward(inputs, batch, true);
    const dlogits = this.dlogits.subarray(0, batch);
    sigmoidCrossEntropy(logits, labels, batch, dlogits);
    this.model.setParamGrads?.(false);
    const dq = this.model.backward(dlogits, batch).dx0;
    this.model.setParamGrads?.(true);
    const dqRows = lk.scatter(dq);
    this.timer?.start('sparse');
    table.updateStepsAndWriteBack(dqRows, step);
  }
}
