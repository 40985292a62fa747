// Epochs, evaluation, early stopping on valid AUC, the step LR schedule, best-weights restore,
// checkpoints and logs. It talks to a model, tables and a dataset — never to kernels directly.

import { existsSync, mkdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../kernels/backend.js';
import type { EncodedSplit, LoadedData } from '../data/index.js';
import { Batcher } from '../data/index.js';
import type { CtrModel } from '../models/model.js';
import { buildModelFor } from '../models/registry.js';
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
import { checkResumeConfig } from './resume-check.js';
import { truncateMetricsLog } from './metrics-log.js';
import { DivergenceError, DivergenceMonitor, firstNonFinite } from './divergence.js';
import { removeStaleTempFiles } from '../util/atomic.js';
import { codeHistogram, stepSizeHistogram, type CodeHistogram, type StepSizeHistogram } from './table-stats.js';
import { describeBackend, type BackendInfo } from '../kernels/describe.js';
import { checkRunMemory } from './preflight-run.js';

export interface EvalResult {
  auc: number;
  logloss: number;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  train_loss: number;
  /** null without a validation split. */
  valid_auc: number | null;
  valid_logloss: number | null;
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
  /** null without a validation split (then best_epoch is the last epoch). */
  valid_auc: number | null;
  valid_logloss: number | null;
  test_auc: number | null;
  test_logloss: number | null;
  train_samples_per_s: number;
  seconds_per_epoch: number;
  table_bytes: number;
  table_bytes_per_row: number;
  memory: MemoryReport;
  first_order_bytes: number;
  /**
   * Bytes of the vocabulary's raw keys held for the model file (grows with the rows; 0 with
   * --hash-rows, which stores no keys), and of the batch lookups' scratch (O(batch), none per row).
   */
  vocab_bytes: number;
  lookup_bytes: number;
  params: number;
  rows: number;
  fields: number;
  train_rows: number;
  skipped_rows: number;
  /** The backend and kernels actually used (not the `auto` asked for). */
  backend?: BackendInfo;
  /** Learned/fixed per-row step sizes Δ per field at the end of training (low-precision tables). */
  step_size_histogram?: StepSizeHistogram;
  /** Integer code usage at the end of training, and how often codes sit at the clip limits. */
  code_histogram?: CodeHistogram;
  /** Per epoch and per --eval-every evaluation (this process's part of the run): the training curve. */
  curve?: CurvePoint[];
}

/** One point of a training curve: an epoch's end (train_loss set) or an --eval-every evaluation. */
export interface CurvePoint {
  epoch: number;
  step: number;
  train_loss?: number;
  valid_auc: number | null;
  valid_logloss: number | null;
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
  /** Batches done in the unfinished epoch st.epoch + 1 (a mid-epoch checkpoint), and their loss sum. */
  epochBatches?: number;
  epochLossSum?: number;
}

/** Where the newest checkpoint stands, for the divergence message. */
interface CheckpointMark {
  epoch: number;
  step: number;
}

export class Trainer {
  readonly model: CtrModel;
  readonly tables: StepTables;
  readonly dense: DenseOptimizer;
  readonly runner: StepRunner;
  readonly timer = new PhaseTimer();
  private state: TrainerState = { epoch: 0, step: 0, bestAuc: -Infinity, bestEpoch: 0, badEpochs: 0, history: [] };
  private best: Record<string, ArrayBufferView> | null = null;
  private readonly divergence = new DivergenceMonitor();
  private lastCheckpoint: CheckpointMark | null = null;
  private skippingCheckpoints = false;

  constructor(
    readonly cfg: TrainConfig,
    readonly data: LoadedData,
    readonly backend: Backend,
    readonly hooks: TrainerHooks = {},
    /** resuming: resume() follows at once, so the tables skip drawing an init it would overwrite. */
    opts: { resuming?: boolean } = {},
  ) {
    const { vocab } = data;
    const numFields = vocab.fieldSizes.length;
    this.model = buildModelFor(cfg, numFields, backend);
    checkRunMemory(cfg, vocab.totalRows, backend, this.model.usesFirstOrder, numFields); // refuses runs that cannot fit
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
        init: !opts.resuming,
        backend,
      }),
    };
    if (this.model.usesFirstOrder) {
      // The first-order weights are one float per feature value: kept fp32 (a per-row step for a
      // single code would cost more than it saves), and counted in the memory report.
      this.tables.first = createTable({ method: 'fp32', rows: vocab.totalRows, dim: 1, bits: 32, seed: cfg.seed + 7919, initStd: cfg.initStd, optimizer: sparse, backend, init: !opts.resuming });
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
    const { train, test } = this.data;
    if (train.n === 0) throw new Error('the training split is empty');
    const out = cfg.out;
    if (out) {
      mkdirSync(out, { recursive: true });
      removeStaleTempFiles(out); // checkpoint writes interrupted by kill -9
    }
    // An empty validation split is no validation split: its AUC would be NaN and stop the run.
    const valid = this.data.valid && this.data.valid.n > 0 ? this.data.valid : undefined;
    this.announceMissingSplits(valid, test);
    if (valid) refuseSingleClass(valid);
    const logPath = out ? join(out, 'metrics.jsonl') : null;
    const batcher = new Batcher(train, { batchSize: cfg.batch, shuffle: true, seed: cfg.seed });
    const stepsPerEpoch = Math.ceil(train.n / cfg.batch);
    const evalEvery = cfg.evalEvery > 0 ? cfg.evalEvery : 0;
    const epochSteps = cfg.maxSteps ? Math.min(stepsPerEpoch, cfg.maxSteps) : stepsPerEpoch;
    let trainSeconds = 0;
    let trainSamples = 0;
    const st = this.state;
    const curve: CurvePoint[] = st.history.map((h) => ({ epoch: h.epoch, step: h.step, train_loss: h.train_loss, valid_auc: h.valid_auc, valid_logloss: h.valid_logloss }));

    while (st.epoch < cfg.epochs) {
      const epoch = st.epoch + 1;
      this.applyLr(epoch);
      const t0 = performance.now();
      // A mid-epoch checkpoint resumes after the batches it had done (same seeded order).
      let lossSum = st.epochLossSum ?? 0;
      let batches = st.epochBatches ?? 0;
      const resumedAt = batches;
      const where = () => `epoch ${epoch}, step ${st.step}`;
      for (const b of batcher.epoch(epoch, batches)) {
        st.step++;
        const loss = this.runner.train(b.ids, b.labels, b.size, st.step);
        lossSum += loss;
        batches++;
        this.watchLoss(loss, st.step, where);
        this.hooks.onStep?.(epoch, batches, stepsPerEpoch, loss);
        if (cfg.maxSteps && batches >= cfg.maxSteps) break;
        if (evalEvery && st.step % evalEvery === 0 && valid && logPath) {
          const v = this.evaluate(valid);
          curve.push({ epoch, step: st.step, valid_auc: v.auc, valid_logloss: v.logloss });
          appendFileSync(logPath, JSON.stringify({ epoch, step: st.step, valid_auc: v.auc, valid_logloss: v.logloss }) + '\n');
        }
        // The epoch's last batch is followed by the epoch-end checkpoint instead.
        if (cfg.checkpointEvery && st.step % cfg.checkpointEvery === 0 && out && batches < epochSteps) {
          st.epochBatches = batches;
          st.epochLossSum = lossSum;
          this.checkpointIfHealthy(join(out, 'checkpoint.alpt'), where);
        }
      }
      st.epochBatches = 0;
      st.epochLossSum = 0;
      this.closeLossWindow(where);
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      trainSamples += Math.min(train.n, batches * cfg.batch) - resumedAt * cfg.batch;
      this.hooks.onEvalStart?.(epoch);
      const v = valid ? this.evaluate(valid) : { auc: null, logloss: null };
      const rec: EpochRecord = {
        epoch,
        step: st.step,
        train_loss: lossSum / Math.max(1, batches),
        valid_auc: v.auc,
        valid_logloss: v.logloss,
        seconds,
        samples_per_s: (Math.min(train.n, batches * cfg.batch) - resumedAt * cfg.batch) / seconds,
      };
      st.epoch = epoch;
      st.history.push(rec);
      curve.push({ epoch, step: st.step, train_loss: rec.train_loss, valid_auc: v.auc, valid_logloss: v.logloss });
      this.hooks.onEpoch?.(rec);
      if (logPath) appendFileSync(logPath, JSON.stringify(rec) + '\n');
      // Without a validation split every epoch counts as the best (the last one wins).
      if (v.auc === null || v.auc > st.bestAuc) {
        if (v.auc !== null) st.bestAuc = v.auc;
        st.bestEpoch = epoch;
        st.badEpochs = 0;
        this.best = copyArrays(collectWeights(this.model, this.tables));
        if (out && this.divergence.healthy) this.saveModel(join(out, 'model.alpt'));
      } else {
        st.badEpochs++;
      }
      if (out) this.checkpointIfHealthy(join(out, 'checkpoint.alpt'), where);
      if (st.badEpochs >= cfg.patience) {
        this.hooks.log?.(`early stopping after epoch ${epoch}: no valid AUC gain for ${cfg.patience} epochs (best ${st.bestAuc.toFixed(5)} at epoch ${st.bestEpoch})`);
        break;
      }
    }
    if (this.best) restoreWeights(this.model, this.tables, this.best, 'best weights');
    const summary = this.summarize(st, test, trainSeconds, trainSamples, curve);
    // The final model file: the best weights (restored above) and the summary of the run.
    if (out) this.saveModel(join(out, 'model.alpt'), summary);
    return summary;
  }

  /**
   * The run's summary from the current (best, restored) weights: test metrics, speed, memory, and
   * the table statistics the report draws. Also used by the distributed coordinator.
   */
  summarize(
    st: { epoch: number; bestEpoch: number; history: EpochRecord[] }, test: EncodedSplit | undefined,
    trainSeconds: number, trainSamples: number, curve: CurvePoint[],
  ): TrainSummary {
    const cfg = this.cfg;
    const train = this.data.train;
    const bestRec = st.history.find((h) => h.epoch === st.bestEpoch);
    const te = test ? this.evaluate(test) : null;
    const mem = this.tables.main.memory();
    const firstMem = this.tables.first?.memory().total ?? 0;
    return {
      model: cfg.model,
      embedding: cfg.embedding,
      bits: cfg.embedding === 'fp32' ? 32 : cfg.bits,
      dim: cfg.dim,
      seed: cfg.seed,
      epochs_run: st.epoch,
      best_epoch: st.bestEpoch,
      valid_auc: bestRec?.valid_auc ?? null,
      valid_logloss: bestRec?.valid_logloss ?? null,
      test_auc: te ? te.auc : null,
      test_logloss: te ? te.logloss : null,
      train_samples_per_s: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
      seconds_per_epoch: st.history.length ? st.history.reduce((s, h) => s + h.seconds, 0) / st.history.length : 0,
      table_bytes: mem.total,
      table_bytes_per_row: mem.bytesPerRow,
      memory: mem,
      first_order_bytes: firstMem,
      vocab_bytes: (this.data.vocabKeys?.bytes.byteLength ?? 0) + (this.data.vocabKeys?.ends.byteLength ?? 0),
      lookup_bytes: this.runner.inputs.mainLookup.bytes() + (this.runner.inputs.firstLookup?.bytes() ?? 0),
      params: this.paramCount(),
      rows: this.data.vocab.totalRows,
      fields: this.data.vocab.fieldSizes.length,
      train_rows: train.n,
      skipped_rows: this.data.skippedRows,
      backend: describeBackend(this.backend),
      step_size_histogram: stepSizeHistogram(this.tables.main, this.data.vocab),
      code_histogram: codeHistogram(this.tables.main, this.data.vocab, cfg.dim, cfg.bits),
      curve,
    };
  }

  /** Say once, up front, what a missing split turns off (instead of NaN in every progress line). */
  private announceMissingSplits(valid: EncodedSplit | undefined, test: EncodedSplit | undefined): void {
    if (!valid) {
      this.hooks.log?.(
        'no validation split (give --valid FILE or --valid-fraction F): early stopping and best-epoch selection are off; the last epoch\'s weights are used',
      );
    }
    if (!test || test.n === 0) this.hooks.log?.('no test split (give --test FILE): test metrics will be null');
  }

  /** Feed the divergence monitor; a non-finite or runaway loss ends the run naming the last good checkpoint. */
  private watchLoss(loss: number, step: number, where: () => string): void {
    try {
      this.divergence.add(loss, step, where);
    } catch (e) {
      throw this.withCheckpointNote(e);
    }
  }

  private closeLossWindow(where: () => string): void {
    try {
      this.divergence.close(where);
    } catch (e) {
      throw this.withCheckpointNote(e);
    }
  }

  private withCheckpointNote(e: unknown): unknown {
    if (!(e instanceof DivergenceError)) return e;
    const c = this.lastCheckpoint;
    const note = !this.cfg.out
      ? ''
      : c
        ? `; the newest checkpoint (step ${c.step}, ${c.epoch} epochs complete) holds the last good weights`
        : '; no checkpoint was written from diverged weights';
    return new DivergenceError(`${e.message}${note}; lower --lr (now ${this.cfg.lr})`);
  }

  /** Checkpoint unless the latest loss window was bad; never write non-finite weights. */
  private checkpointIfHealthy(path: string, where: () => string): void {
    if (!this.divergence.healthy) {
      if (!this.skippingCheckpoints) this.hooks.log?.(`not checkpointing at ${where()}: the train loss is above the divergence bound (until it recovers)`);
      this.skippingCheckpoints = true;
      return;
    }
    this.skippingCheckpoints = false;
    const bad = firstNonFinite(collectWeights(this.model, this.tables));
    if (bad) throw this.withCheckpointNote(new DivergenceError(`training diverged at ${where()}: non-finite weight ${bad}`));
    this.saveCheckpoint(path);
    this.lastCheckpoint = { epoch: this.state.epoch, step: this.state.step };
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
    // Before any array: a settings mismatch is named, not reported as a size error.
    checkResumeConfig(path, readTensorFile(path, 'checkpoint', { headerOnly: true }).meta.config, this.cfg);
    // The tables and dense weights are streamed from the file straight into their own arrays.
    const { meta, arrays } = readTensorFile(path, 'checkpoint', { into: collectWeights(this.model, this.tables) });
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
    this.lastCheckpoint = { epoch: this.state.epoch, step: this.state.step };
    // Records of the interrupted part are written again by the resumed run.
    if (this.cfg.out) truncateMetricsLog(join(this.cfg.out, 'metrics.jsonl'), this.state.step);
  }
}

/** AUC of one class is undefined (NaN): early stopping on it would stop after `patience` epochs for nothing. */
function refuseSingleClass(valid: EncodedSplit): void {
  let pos = 0;
  for (let i = 0; i < valid.n; i++) if (valid.labels[i] > 0.5) pos++;
  if (pos === 0 || pos === valid.n) {
    throw new Error(`the validation split's ${valid.n} rows are all ${pos ? 'positive' : 'negative'}: its AUC is undefined; give another --valid file or use --valid-fraction`);
  }
}
