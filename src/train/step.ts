// One training step, top to bottom (the path in DESIGN.md):
// unique ids → gather → expand → forward → loss → backward → scatter-add → dense optimizer →
// sparse update + write-back; ALPT adds a second pass through the fake-quantizer for ∂L/∂Δ.

import { BatchLookup } from '../embedding/batch-lookup.js';
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
  readonly mainLookup: BatchLookup;
  readonly firstLookup?: BatchLookup;
  private x0: Float32Array = new Float32Array(0);
  private first: Float32Array = new Float32Array(0);
  private dlogits: Float32Array = new Float32Array(0);
  private capacity = 0;

  constructor(
    readonly backend: Backend,
    readonly model: CtrModel,
    readonly tables: StepTables,
    readonly dense: DenseOptimizer,
    readonly numFields: number,
    readonly timer?: PhaseTimer,
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
    this.dlogits = new Float32Array(batch);
  }

  /** Look up the batch's embeddings; returns the model inputs. */
  private lookup(ids: Int32Array, batch: number): ModelInputs {
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
  predict(ids: Int32Array, batch: number): Float32Array {
    return this.model.forward(this.lookup(ids, batch), batch, false);
  }

  /** One optimisation step; returns the batch's mean loss. `step` is 1-based and global. */
  train(ids: Int32Array, labels: Float32Array, batch: number, step: number): number {
    const t = this.timer;
    t?.start('lookup');
    const inputs = this.lookup(ids, batch);
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
