// Epochs, evaluation, early stopping on valid AUC, the step LR schedule, best-weights restore,
// checkpoints and logs. It talks to a model, tables and a dataset — never to kernels directly.

import { existsSync, mkdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../kernels/backend.js';
import type { EncodedSplit, LoadedData } from '../data/index.js';
import { Batcher } from '../data/index.js';
import type { CtrModel } from '../models/model.js';
import { buildModel } from '../models/registry.js';
import { createTable } from '../embedding/factory.js';
import type { MemoryReport } from '../embedding/table.js';
import { createDenseOptimizer } from './dense.js';
import { StepRunner, type StepTables } from './step.js';
import { auc, logloss } from './metrics.js';
import { collectWeights, copyArrays, restoreWeights } from './snapshot.js';
import { readTensorFile, writeTensorFile } from '../util/tensor-file.js';
import { writeModelFile } from '../artifact/model-file.js';
import type { TrainConfig } from './config.js';
import type { DenseOptimizer } from './dense-optimizer.js';
import { PhaseTimer } from './phase-timer.js';
import { checkRunMemory } from './preflight-run.js';

export interface EvalResult {
  auc: number;
  logloss: number;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  train_loss: number;
  valid_auc: number;
  valid_logloss: number;
  seconds: number;
  samples_per_s: number;
}

export interface TrainSummary {
  model: string;
  embedding: string;
  bits: number;
  dim: number;
  seed: number;
  epochs_run: number;
  best_epoch: number;
  valid_auc: number;
  valid_logloss: number;
  test_auc: number | null;
  test_logloss: number | null;
  train_samples_per_s: number;
  seconds_per_epoch: number;
  table_bytes: number;
  table_bytes_per_row: number;
  memory: MemoryReport;
  first_order_bytes: number;
  params: number;
  rows: number;
  fields: number;
  train_rows: number;
  skipped_rows: number;
}

export interface TrainerHooks {
  /** Called every step with progress within the epoch. */
  onStep?(epoch: number, done: number, total: number, loss: number): void;
  onEpoch?(record: EpochRecord): void;
  onEvalStart?(epoch: number): void;
  log?(message: string): void;
}

interface TrainerState {
  epoch: number;
  step: number;
  bestAuc: number;
  bestEpoch: number;
  badEpochs: number;
  history: EpochRecord[];
}

export class Trainer {
  readonly model: CtrModel;
  readonly tables: StepTables;
  readonly dense: DenseOptimizer;
  readonly runner: StepRunner;
  readonly timer = new PhaseTimer();
  private state: TrainerState = { epoch: 0, step: 0, bestAuc: -Infinity, bestEpoch: 0, badEpochs: 0, history: [] };
  private best: Record<string, ArrayBufferView> | null = null;

  constructor(
    readonly cfg: TrainConfig,
    readonly data: LoadedData,
    readonly backend: Backend,
    readonly hooks: TrainerHooks = {},
  ) {
    const { vocab } = data;
    const numFields = vocab.fieldSizes.length;
    this.model = buildModel(cfg.model, {
      backend,
      numFields,
      dim: cfg.dim,
      mlp: cfg.mlp,
      crossLayers: cfg.crossLayers,
      batchNorm: cfg.batchNorm,
      dropout: cfg.dropout,
      seed: cfg.seed,
    });
    checkRunMemory(cfg, vocab.totalRows, backend, this.model.usesFirstOrder); // refuses runs that cannot fit
    const sparse = { name: cfg.sparseOptimizer, lr: cfg.sparseLr ?? cfg.lr };
    this.tables = {
      main: createTable({
        method: cfg.embedding,
        rows: vocab.totalRows,
        dim: cfg.dim,
        bits: cfg.bits,
        seed: cfg.seed,
        initStd: cfg.initStd,
        optimizer: sparse,
        stepLr: cfg.stepLr,
        stepLrScale: cfg.stepLrScale,
        stepOptimizer: cfg.stepOptimizer,
        stepDtype: cfg.stepDtype,
        lsqPerRow: cfg.lsqPerRow,
        initStep: cfg.initStep,
        backend,
      }),
    };
    if (this.model.usesFirstOrder) {
      // The first-order weights are one float per feature value: kept fp32 (a per-row step for a
      // single code would cost more than it saves), and counted in the memory report.
      this.tables.first = createTable({ method: 'fp32', rows: vocab.totalRows, dim: 1, bits: 32, seed: cfg.seed + 7919, initStd: cfg.initStd, optimizer: sparse, backend });
    }
    this.dense = createDenseOptimizer(this.model.params(), cfg, backend);
    this.runner = new StepRunner(backend, this.model, this.tables, this.dense, numFields, this.timer);
  }

  get epoch(): number {
    return this.state.epoch;
  }

  /** Dense parameter count (tables excluded). */
  paramCount(): number {
    return this.model.params().reduce((s, p) => s + p.value.length, 0);
  }

  evaluate(split: EncodedSplit, batch = Math.max(this.cfg.batch, 4096)): EvalResult {
    const n = split.n;
    const F = split.numFields;
    const logits = new Float32Array(n);
    for (let i = 0; i < n; i += batch) {
      const b = Math.min(batch, n - i);
      const out = this.runner.predict(split.ids.subarray(i * F, (i + b) * F), b);
      logits.set(out.subarray(0, b), i);
    }
    return { auc: auc(split.labels, logits, n), logloss: logloss(split.labels, logits, n) };
  }

  /** Learning rate for an epoch under the step schedule (÷10 after each listed epoch). */
  lrForEpoch(epoch: number): number {
    let lr = this.cfg.lr;
    for (const e of this.cfg.lrDecayEpochs) if (epoch > e) lr *= this.cfg.lrDecay;
    return lr;
  }

  private applyLr(epoch: number): void {
    const lr = this.lrForEpoch(epoch);
    this.dense.lr = lr;
    const scale = lr / this.cfg.lr;
    const sparseLr = (this.cfg.sparseLr ?? this.cfg.lr) * scale;
    this.tables.main.setLearningRate?.(sparseLr);
    this.tables.first?.setLearningRate?.(sparseLr);
  }

  /** Train until early stopping or the epoch limit; restores the best weights; evaluates test. */
  fit(): TrainSummary {
    const cfg = this.cfg;
    const { train, valid, test } = this.data;
    if (train.n === 0) throw new Error('the training split is empty');
    const out = cfg.out;
    if (out) mkdirSync(out, { recursive: true });
    const logPath = out ? join(out, 'metrics.jsonl') : null;
    const batcher = new Batcher(train, { batchSize: cfg.batch, shuffle: true, seed: cfg.seed });
    const stepsPerEpoch = Math.ceil(train.n / cfg.batch);
    const evalEvery = cfg.evalEvery > 0 ? cfg.evalEvery : 0;
    let trainSeconds = 0;
    let trainSamples = 0;
    const st = this.state;

    while (st.epoch < cfg.epochs) {
      const epoch = st.epoch + 1;
      this.applyLr(epoch);
      const t0 = performance.now();
      let lossSum = 0;
      let batches = 0;
      for (const b of batcher.epoch(epoch)) {
        st.step++;
        const loss = this.runner.train(b.ids, b.labels, b.size, st.step);
        lossSum += loss;
        batches++;
        this.hooks.onStep?.(epoch, batches, stepsPerEpoch, loss);
        if (cfg.maxSteps && batches >= cfg.maxSteps) break;
        if (evalEvery && st.step % evalEvery === 0 && valid && logPath) {
          const v = this.evaluate(valid);
          appendFileSync(logPath, JSON.stringify({ epoch, step: st.step, valid_auc: v.auc, valid_logloss: v.logloss }) + '\n');
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      trainSamples += Math.min(train.n, batches * cfg.batch);
      this.hooks.onEvalStart?.(epoch);
      const v = valid ? this.evaluate(valid) : { auc: NaN, logloss: NaN };
      const rec: EpochRecord = {
        epoch,
        step: st.step,
        train_loss: lossSum / Math.max(1, batches),
        valid_auc: v.auc,
        valid_logloss: v.logloss,
        seconds,
        samples_per_s: Math.min(train.n, batches * cfg.batch) / seconds,
      };
      st.epoch = epoch;
      st.history.push(rec);
      this.hooks.onEpoch?.(rec);
      if (logPath) appendFileSync(logPath, JSON.stringify(rec) + '\n');
      // Without a validation split every epoch counts as the best (the last one wins).
      if (!valid || v.auc > st.bestAuc) {
        st.bestAuc = v.auc;
        st.bestEpoch = epoch;
        st.badEpochs = 0;
        this.best = copyArrays(collectWeights(this.model, this.tables));
        if (out) this.saveModel(join(out, 'model.alpt'));
      } else {
        st.badEpochs++;
      }
      if (out) this.saveCheckpoint(join(out, 'checkpoint.alpt'));
      if (st.badEpochs >= cfg.patience) {
        this.hooks.log?.(`early stopping after epoch ${epoch}: no valid AUC gain for ${cfg.patience} epochs (best ${st.bestAuc.toFixed(5)} at epoch ${st.bestEpoch})`);
        break;
      }
    }
    if (this.best) restoreWeights(this.model, this.tables, this.best, 'best weights');
    const bestRec = st.history.find((h) => h.epoch === st.bestEpoch);
    const te = test ? this.evaluate(test) : null;
    const mem = this.tables.main.memory();
    const firstMem = this.tables.first?.memory().total ?? 0;
    const summary: TrainSummary = {
      model: cfg.model,
      embedding: cfg.embedding,
      bits: cfg.embedding === 'fp32' ? 32 : cfg.bits,
      dim: cfg.dim,
      seed: cfg.seed,
      epochs_run: st.epoch,
      best_epoch: st.bestEpoch,
      valid_auc: bestRec?.valid_auc ?? NaN,
      valid_logloss: bestRec?.valid_logloss ?? NaN,
      test_auc: te ? te.auc : null,
      test_logloss: te ? te.logloss : null,
      train_samples_per_s: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
      seconds_per_epoch: st.history.length ? st.history.reduce((s, h) => s + h.seconds, 0) / st.history.length : 0,
      table_bytes: mem.total,
      table_bytes_per_row: mem.bytesPerRow,
      memory: mem,
      first_order_bytes: firstMem,
      params: this.paramCount(),
      rows: this.data.vocab.totalRows,
      fields: this.data.vocab.fieldSizes.length,
      train_rows: train.n,
      skipped_rows: this.data.skippedRows,
    };
    // The final model file: the best weights (restored above) and the summary of the run.
    if (out) this.saveModel(join(out, 'model.alpt'), summary);
    return summary;
  }

  /** The model file for scoring and serving: current weights, vocabulary, input rules (no optimizer state). */
  saveModel(path: string, summary?: TrainSummary): void {
    writeModelFile(path, {
      config: this.cfg,
      vocab: this.data.vocab,
      input: this.data.input,
      keys: this.data.vocabKeys,
      weights: collectWeights(this.model, this.tables),
      summary: summary ? { ...summary } : null,
    });
  }

  /** Everything needed to resume bit-exactly: weights, optimizer states, trainer state, best weights. */
  saveCheckpoint(path: string): void {
    const arrays: Record<string, ArrayBufferView> = { ...collectWeights(this.model, this.tables) };
    for (const [k, v] of Object.entries(this.dense.state())) arrays[`dense.${k}`] = v;
    if (this.best) for (const [k, v] of Object.entries(this.best)) arrays[`best.${k}`] = v;
    // The vocabulary too, so `alpt export --checkpoint` can make a model file from it alone.
    if (this.data.vocabKeys) {
      arrays['vocab.keys'] = this.data.vocabKeys.bytes;
      arrays['vocab.ends'] = this.data.vocabKeys.ends;
    }
    writeTensorFile(path, { kind: 'checkpoint', config: this.cfg, state: this.state, vocab: this.data.vocab, input: this.data.input ?? null }, arrays);
  }

  /** Resume from a checkpoint written by saveCheckpoint with the same configuration and data. */
  resume(path: string): void {
    if (!existsSync(path)) throw new Error(`${path}: no checkpoint to resume from`);
    const { meta, arrays } = readTensorFile(path, 'checkpoint');
    restoreWeights(this.model, this.tables, arrays, path);
    const dense: Record<string, ArrayBufferView> = {};
    const best: Record<string, ArrayBufferView> = {};
    for (const [k, v] of Object.entries(arrays)) {
      if (k.startsWith('dense.')) dense[k.slice(6)] = v;
      else if (k.startsWith('vocab.')) continue;
      else if (k.startsWith('best.')) best[k.slice(5)] = (v as Float32Array).slice();
    }
    this.dense.load(dense);
    this.best = Object.keys(best).length ? best : null;
    this.state = { ...meta.state, bestAuc: meta.state.bestAuc ?? -Infinity };
  }
}
