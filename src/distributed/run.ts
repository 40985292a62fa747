// A data-parallel run on a Redis Cluster. Rank 0 (the coordinator) holds the full table for
// seeding, evaluation, checkpoints and the model file; every rank (rank 0 included) trains on its
// shard of the training split with a scratch table (see worker.ts).
//
// Protocol (keys under `a:<run>:{ctl}:`):
//   rank 0: [resume from <out>/checkpoint.alpt] → seed every row into the store → `init` (dense
//   parameters + dense optimizer state) → `meta` (generation nonce, layout, start epoch/step) →
//   spawn ranks 1..N-1 (alpt train --workers N) or let them join (alpt worker --rank R).
//   every rank, every step: pull rows → train → push rows; every `syncEvery` steps and at the end
//   of each epoch: model averaging of the dense parameters (with a barrier).
//   epoch end: after the averaging barrier no row write is in flight, so rank 0's dump of the
//   table (one pull of all rows) is a consistent snapshot: it evaluates, writes checkpoint and
//   model files, and publishes `decision:<epoch>` (go / stop) that the others wait for.
//
// Failure rule: any worker that fails stops the run. Its peers notice at their next wait (barrier,
// decision) through the `abort` key or its expired heartbeat, and exit non-zero; the last
// checkpoint (end of the last completed epoch) stays intact and `--resume` continues from it.

import { ShardedTable } from '../embedding/sharded-table.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import { createBackend } from '../kernels/index.js';
import { loadRunData } from '../train/run.js';
import { Trainer, type EpochRecord, type TrainSummary, type TrainerHooks } from '../train/trainer.js';
import { collectWeights, copyArrays, restoreWeights } from '../train/snapshot.js';
import { readTensorFile, writeTensorFile } from '../util/tensor-file.js';
import type { TrainConfig } from '../train/config.js';
import { Batcher, type LoadedData } from '../data/index.js';
import { Store, type ConflictRule, type StoreStats } from './store.js';
import { DistWorker, denseArrays, packFloats, packNamed, shardSplit, tableList, unpackFloatsInto, unpackNamed, type DenseSync, type WorkerTiming } from './worker.js';
import { fieldViews, packRow, unpackRow, type RowLayout } from './rows.js';
import type { EmbeddingTable } from '../embedding/table.js';

export interface DistributedOptions {
  /** redis://HOST:PORT[,HOST:PORT…] */
  store: string;
  rank: number;
  world: number;
  /** Key namespace; `alpt train --workers` makes a fresh one per run. */
  run: string;
  /** Rank 0 only: start ranks 1..world-1 as child processes on this machine. */
  spawnWorkers?: boolean;
  /** Rank 0 only: continue from <out>/checkpoint.alpt. */
  resume?: boolean;
  storeTimeoutMs?: number;
  /** Dense model averaging every K steps (and at every epoch end). */
  syncEvery?: number;
  buckets?: number;
  /** Concurrent writes of a row: 'retry' (default) or 'last-writer' (see store.ts). */
  conflicts?: ConflictRule;
  /** Dense parameters: 'model' averaging every syncEvery steps, or 'grad' averaging every step. */
  denseSync?: DenseSync;
  hooks?: TrainerHooks;
  log?: (msg: string) => void;
  data?: LoadedData;
}

export interface WorkerReport extends WorkerTiming {
  rank: number;
  store: StoreStats;
  /** sha256 of the worker's dense optimizer state at the end (equal on every worker under --dense-sync grad). */
  dense_state_sha: string;
}

export interface DistributedSummary extends TrainSummary {
  distributed: {
    world: number;
    sync_every: number;
    dense_sync: DenseSync;
    store_conflicts: ConflictRule;
    row_bytes: number;
    /** Row writes that found the row changed since its pull (summed over workers). */
    row_conflicts: number;
    /** row_conflicts / rows pushed. */
    row_conflict_rate: number;
    workers: WorkerReport[];
    retried_commands: number;
    lost_row_writes: number;
    node_events: number;
    wire_bytes_per_sample: number;
  };
}

const ROW_CHUNK = 4096;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function forEachChunk(total: number, f: (rows: Int32Array, n: number) => Promise<void>): Promise<void> {
  const rows = new Int32Array(ROW_CHUNK);
  for (let start = 0; start < total; start += ROW_CHUNK) {
    const n = Math.min(ROW_CHUNK, total - start);
    for (let i = 0; i < n; i++) rows[i] = start + i;
    await f(rows, n);
  }
}

/** Every row of the full tables → the store. */
export async function seedRows(store: Store, layout: RowLayout, tables: EmbeddingTable[], totalRows: number): Promise<void> {
  const views = fieldViews(layout, tables);
  await forEachChunk(totalRows, (rows, n) => store.pushRows(rows, n, (i) => packRow(layout, views, rows[i])).then(() => undefined));
}

/** Every row of the store → the full tables (a consistent snapshot when no worker is writing). */
export async function dumpRows(store: Store, layout: RowLayout, tables: EmbeddingTable[], totalRows: number): Promise<void> {
  const views = fieldViews(layout, tables);
  await forEachChunk(totalRows, (rows, n) => store.pullRows(rows, n, (i, v) => unpackRow(layout, views, rows[i], v)));
}

interface RunState {
  epoch: number;
  step: number;
  bestAuc: number;
  bestEpoch: number;
  badEpochs: number;
  history: EpochRecord[];
}

interface Meta {
  gen: string;
  world: number;
  rowBytes: number;
  initStep?: number;
  epoch: number;
  step: number;
  totalRows: number;
}

const binPath = () => fileURLToPath(new URL('../../../bin/alpt.js', import.meta.url));

/** Train one rank of a distributed run. Rank 0 returns the summary; the others return null. */
export async function runDistributed(cfg: TrainConfig, o: DistributedOptions): Promise<DistributedSummary | null> {
  const log = o.log ?? (() => undefined);
  const timeoutMs = o.storeTimeoutMs ?? 30_000;
  const syncEvery = o.syncEvery ?? 50;
  const conflicts: ConflictRule = o.conflicts ?? 'retry';
  const denseSync: DenseSync = o.denseSync ?? 'model';
  if (!(o.world >= 1) || !(o.rank >= 0 && o.rank < o.world)) throw new Error(`--rank ${o.rank} --world ${o.world}: need 0 <= rank < world`);
  const data = o.data ?? (await loadRunData(cfg));
  const F = data.vocab.fieldSizes.length;
  const totalRows = data.vocab.totalRows;
  const ckptPath = cfg.out ? join(cfg.out, 'checkpoint.alpt') : null;
  if (o.rank === 0 && o.resume && (!ckptPath || !existsSync(ckptPath))) throw new Error(`${ckptPath ?? '--out'}: no checkpoint to resume from`);
  const store = await Store.connect({ address: o.store, run: o.run, timeoutMs, buckets: o.buckets, log });
  const backend = await createBackend({ kind: cfg.backend, threads: cfg.threads || undefined });
  const children: ChildProcess[] = [];
  let abortReason: string | null = null;
  let finished = false;
  let worker: DistWorker | null = null;
  try {
    let trainer: Trainer | null = null;
    let meta: Meta;
    let state: RunState = { epoch: 0, step: 0, bestAuc: -Infinity, bestEpoch: 0, badEpochs: 0, history: [] };
    let best: Record<string, ArrayBufferView> | null = null;
    const common = { cfg, backend, store, rank: o.rank, world: o.world, numFields: F, totalRows, barrierTimeoutMs: Math.max(timeoutMs, 600_000), heartbeatTtlMs: Math.max(3 * timeoutMs, 15_000), abortReason: () => abortReason, conflicts, denseSync };

    if (o.rank === 0) {
      trainer = new Trainer(cfg, data, backend, o.hooks);
      for (const t of tableList(trainer.tables)) {
        if (t instanceof ShardedTable) {
          throw new Error(
            `distributed training: the ${t.rows.toLocaleString('en-US')}-row table is split into ${t.shards.length} WebAssembly memories ` +
              '(over ALPT_SHARD_BYTES), which the Redis row store does not support yet; use fewer rows (--hash-rows) or a lighter table (--memory-light)',
          );
        }
      }
      let denseState: Record<string, Float32Array> | null = null;
      if (o.resume && ckptPath) {
        const { meta: m, arrays } = readTensorFile(ckptPath, 'checkpoint');
        restoreWeights(trainer.model, trainer.tables, arrays, ckptPath);
        denseState = {};
        const b: Record<string, ArrayBufferView> = {};
        for (const [k, v] of Object.entries(arrays)) {
          if (k.startsWith('dense.')) denseState[k.slice(6)] = v as Float32Array;
          else if (k.startsWith('best.')) b[k.slice(5)] = (v as Float32Array).slice();
        }
        best = Object.keys(b).length ? b : null;
        state = { ...m.state, bestAuc: m.state.bestAuc ?? -Infinity };
        log(`resuming from ${ckptPath}: epoch ${state.epoch}, step ${state.step}`);
      }
      const s0 = trainer.tables.main.state().initStep as Float64Array | undefined;
      const gen = randomBytes(6).toString('hex');
      await store.setCtl('meta', 'starting', 60_000);
      worker = new DistWorker({ ...common, gen, initStep: s0?.[0] });
      const t0 = performance.now();
      await seedRows(store, worker.layout, tableList(trainer.tables), totalRows);
      log(`seeded ${totalRows} rows × ${worker.layout.rowBytes} bytes into the store in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const init = packNamed({
        dense: packFloatsAsF32(denseArrays(trainer.model, worker.layout, tableList(trainer.tables))),
        ...(denseState ? Object.fromEntries(Object.entries(denseState).map(([k, v]) => [`opt.${k}`, v])) : {}),
      });
      await store.setCtl(`${gen}:init`, init);
      meta = { gen, world: o.world, rowBytes: worker.layout.rowBytes, initStep: s0?.[0], epoch: state.epoch, step: state.step, totalRows };
      await store.setCtl('meta', JSON.stringify(meta));
      if (o.spawnWorkers) {
        for (let r = 1; r < o.world; r++) children.push(spawnWorker(cfg, o, store.addresses(), r, timeoutMs, syncEvery, (why) => {
          if (!finished && !abortReason) {
            abortReason = why;
            store.setCtl(`${gen}:abort`, why, 600_000).catch(() => undefined);
          }
        }));
      }
    } else {
      // wait for rank 0's meta (it may still be seeding the store)
      const t0 = performance.now();
      for (;;) {
        const m = await store.getCtl('meta');
        if (m && m !== 'starting') {
          meta = JSON.parse(m) as Meta;
          break;
        }
        if (performance.now() - t0 > Math.max(timeoutMs, 600_000)) throw new Error('rank 0 never published the run (meta key); is the coordinator running with the same --store and --run?');
        await sleep(50);
      }
      if (meta.world !== o.world) throw new Error(`--world ${o.world}, but rank 0 runs with world ${meta.world}`);
      if (meta.totalRows !== totalRows) throw new Error(`this worker's data has ${totalRows} embedding rows, rank 0's ${meta.totalRows}: same data and --min-count needed`);
      worker = new DistWorker({ ...common, gen: meta.gen, initStep: meta.initStep });
      if (worker.layout.rowBytes !== meta.rowBytes) throw new Error(`row layout of ${worker.layout.rowBytes} bytes, rank 0's ${meta.rowBytes}: same embedding options needed`);
      state.epoch = meta.epoch;
      state.step = meta.step;
    }
    const w = worker;
    // every rank starts from rank 0's dense parameters (and, resuming, its dense optimizer state)
    const initBuf = (await store.getCtlBuffers([`${meta.gen}:init`]))[0];
    if (!initBuf) throw new Error('the run\'s initial dense parameters are missing from the store');
    const init = unpackNamed(initBuf);
    unpackFloatsInto(new Uint8Array(init.dense.buffer), w.dense32(), 'initial dense parameters');
    const opt: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(init)) if (k.startsWith('opt.')) opt[k.slice(4)] = v;
    if (Object.keys(opt).length) w.dense.load(opt);
    w.startHeartbeat();
    // start together: otherwise rank 0 trains alone until the first averaging barrier while the
    // other ranks still load their data
    if (o.world > 1) await w.barrier(`start:${state.epoch}`);

    const shard = shardSplit(data.train, o.rank, o.world, cfg.seed);
    if (data.train.n < o.world) throw new Error(`${data.train.n} training rows for ${o.world} workers`);
    const batcher = new Batcher(shard, { batchSize: cfg.batch, shuffle: true, seed: cfg.seed + 1009 * o.rank });
    const perWorker = Math.floor(data.train.n / o.world);
    const stepsPerEpoch = Math.min(Math.ceil(perWorker / cfg.batch), cfg.maxSteps || Infinity);
    const logPath = cfg.out && o.rank === 0 ? join(cfg.out, 'metrics.jsonl') : null;
    if (cfg.out && o.rank === 0) mkdirSync(cfg.out, { recursive: true });
    let trainSeconds = 0, trainSamples = 0;

    while (state.epoch < cfg.epochs) {
      const epoch = state.epoch + 1;
      w.applyLr(epoch);
      const t0 = performance.now();
      let lossSum = 0, batches = 0, samples = 0;
      for (const b of batcher.epoch(epoch)) {
        if (batches >= stepsPerEpoch) break;
        state.step++;
        const loss = await w.trainBatch(b.ids, b.labels, b.size, state.step);
        lossSum += loss;
        batches++;
        samples += b.size;
        if (o.rank === 0) o.hooks?.onStep?.(epoch, batches, stepsPerEpoch, loss);
        if (abortReason) throw new Error(abortReason);
        if (o.world > 1 && denseSync === 'model' && state.step % syncEvery === 0 && batches < stepsPerEpoch) await w.averageDense(`s${state.step}`);
      }
      await w.averageDense(`e${epoch}`);
      const seconds = (performance.now() - t0) / 1000;
      if (o.rank !== 0) {
        const d = await w.waitFor(`decision:${epoch}`);
        state.epoch = epoch;
        if (d === 'stop') break;
        continue;
      }
      // rank 0: consistent snapshot → evaluate → checkpoint → decide
      const tr = trainer!;
      await w.holdHeartbeat(Math.max(600_000, 3 * timeoutMs));
      await dumpRows(store, w.layout, tableList(tr.tables), totalRows);
      copyDense(w, tr);
      trainSeconds += seconds;
      trainSamples += samples * o.world;
      o.hooks?.onEvalStart?.(epoch);
      const valid = data.valid;
      const v = valid ? tr.evaluate(valid) : { auc: NaN, logloss: NaN };
      const rec: EpochRecord = {
        epoch, step: state.step, train_loss: lossSum / Math.max(1, batches), valid_auc: v.auc, valid_logloss: v.logloss,
        seconds, samples_per_s: (samples * o.world) / seconds,
      };
      state.epoch = epoch;
      state.history.push(rec);
      o.hooks?.onEpoch?.(rec);
      if (logPath) appendFileSync(logPath, JSON.stringify(rec) + '\n');
      if (!valid || v.auc > state.bestAuc) {
        state.bestAuc = v.auc;
        state.bestEpoch = epoch;
        state.badEpochs = 0;
        best = copyArrays(collectWeights(tr.model, tr.tables));
        if (cfg.out) tr.saveModel(join(cfg.out, 'model.alpt'));
      } else {
        state.badEpochs++;
      }
      if (ckptPath) saveCheckpoint(ckptPath, tr, w, state, best, o.world);
      const stop = state.badEpochs >= cfg.patience || state.epoch >= cfg.epochs;
      if (state.badEpochs >= cfg.patience) log(`early stopping after epoch ${epoch}: no valid AUC gain for ${cfg.patience} epochs (best ${state.bestAuc.toFixed(5)} at epoch ${state.bestEpoch})`);
      await store.setCtl(`${meta.gen}:decision:${epoch}`, stop ? 'stop' : 'go');
      w.startHeartbeat();
      if (stop) break;
    }

    // reports, then the end barrier
    w.stopHeartbeat();
    w.startHeartbeat();
    const sha = createHash('sha256');
    for (const [k, v] of Object.entries(w.dense.state()).sort(([a], [b]) => (a < b ? -1 : 1))) sha.update(k).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    const report: WorkerReport = { rank: o.rank, ...w.timing, store: { ...store.stats }, dense_state_sha: sha.digest('hex') };
    await store.setCtl(`${meta.gen}:report:${o.rank}`, JSON.stringify(report));
    await w.barrier('end');
    if (o.rank !== 0) return null;

    finished = true;
    const tr = trainer!;
    const reports: WorkerReport[] = [];
    for (let r = 0; r < o.world; r++) {
      const s = await store.getCtl(`${meta.gen}:report:${r}`);
      if (s) reports.push(JSON.parse(s) as WorkerReport);
    }
    if (best) restoreWeights(tr.model, tr.tables, best, 'best weights');
    const samplesAll = reports.reduce((s, r) => s + r.samples, 0);
    const curve = state.history.map((h) => ({ epoch: h.epoch, step: h.step, train_loss: h.train_loss, valid_auc: h.valid_auc, valid_logloss: h.valid_logloss }));
    const summary: DistributedSummary = {
      ...tr.summarize(state, data.test, trainSeconds, trainSamples, curve),
      distributed: {
        world: o.world,
        sync_every: syncEvery,
        dense_sync: denseSync,
        store_conflicts: conflicts,
        row_bytes: w.layout.rowBytes,
        row_conflicts: reports.reduce((s, r) => s + r.store.rowConflicts, 0),
        row_conflict_rate: reports.reduce((s, r) => s + r.store.rowConflicts, 0) / Math.max(1, reports.reduce((s, r) => s + r.store.rowsPushed, 0) - totalRows), // seeding excluded
        workers: reports,
        retried_commands: reports.reduce((s, r) => s + r.store.retries, 0),
        lost_row_writes: reports.reduce((s, r) => s + r.store.lostRowWrites, 0),
        node_events: reports.reduce((s, r) => s + r.store.nodeEvents, 0),
        wire_bytes_per_sample: samplesAll ? reports.reduce((s, r) => s + r.store.bytesIn + r.store.bytesOut, 0) / samplesAll : 0,
      },
    };
    if (cfg.out) tr.saveModel(join(cfg.out, 'model.alpt'), summary);
    await Promise.all(children.map((c) => waitExit(c, 30_000)));
    return summary;
  } catch (e) {
    const why = `rank ${o.rank}: ${(e as Error).message}`;
    if (worker) await Promise.race([store.setCtl(`${worker.o.gen}:abort`, why, 600_000).catch(() => undefined), sleep(1000)]);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    throw e;
  } finally {
    worker?.stopHeartbeat();
    await store.close();
    backend.dispose();
  }
}

function packFloatsAsF32(arrays: Float32Array[]): Float32Array {
  const b = packFloats(arrays);
  const f = new Float32Array(b.byteLength / 4);
  new Uint8Array(f.buffer).set(b);
  return f;
}

function copyDense(w: DistWorker, tr: Trainer): void {
  const src = w.dense32();
  const dst = denseArrays(tr.model, w.layout, tableList(tr.tables));
  for (let k = 0; k < dst.length; k++) dst[k].set(src[k]);
}

/** The Trainer's checkpoint layout (so `alpt export --checkpoint` and a single-process --resume read it). */
function saveCheckpoint(path: string, tr: Trainer, w: DistWorker, state: RunState, best: Record<string, ArrayBufferView> | null, world: number): void {
  const arrays: Record<string, ArrayBufferView> = { ...collectWeights(tr.model, tr.tables) };
  for (const [k, v] of Object.entries(w.dense.state())) arrays[`dense.${k}`] = v;
  if (best) for (const [k, v] of Object.entries(best)) arrays[`best.${k}`] = v;
  if (tr.data.vocabKeys) {
    arrays['vocab.keys'] = tr.data.vocabKeys.bytes;
    arrays['vocab.ends'] = tr.data.vocabKeys.ends;
  }
  writeTensorFile(path, { kind: 'checkpoint', config: tr.cfg, state, vocab: tr.data.vocab, input: tr.data.input ?? null, distributed: { world } }, arrays);
}

function spawnWorker(cfg: TrainConfig, o: DistributedOptions, storeAddr: string, rank: number, timeoutMs: number, syncEvery: number, onFail: (why: string) => void): ChildProcess {
  const args = [binPath(), 'worker', '--store', storeAddr, '--rank', String(rank), '--world', String(o.world), '--run', o.run,
    '--store-timeout', String(timeoutMs / 1000), '--sync-every', String(syncEvery),
    '--store-conflicts', o.conflicts ?? 'retry', '--dense-sync', o.denseSync ?? 'model'];
  if (o.buckets) args.push('--buckets', String(o.buckets));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ALPT_WORKER_CONFIG: JSON.stringify({ ...cfg, out: undefined, progress: 'none' }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const relay = (s: NodeJS.ReadableStream) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        process.stderr.write(`[worker ${rank}] ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
  };
  relay(child.stdout!);
  relay(child.stderr!);
  child.on('exit', (code, signal) => {
    if (code !== 0) onFail(`worker ${rank} exited with ${signal ?? `code ${code}`}`);
  });
  child.on('error', (e) => onFail(`worker ${rank}: ${e.message}`));
  return child;
}

function waitExit(c: ChildProcess, ms: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => {
      c.kill('SIGTERM');
      res();
    }, ms);
    c.on('exit', () => {
      clearTimeout(t);
      res();
    });
  });
}
