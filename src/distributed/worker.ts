// One data-parallel worker: a full replica of the dense model, and a small *scratch table* (same
// class and options as the run's table, one slot per unique row a batch can hold). Per batch:
// de-duplicate the global ids → pull those rows' bytes from the store into slots 0..U-1 → remap the
// ids to slots → StepRunner's step → push the updated slots back under the conflict rule:
//   last-writer: an unconditional write (an update another worker made since the pull is lost, and
//     counted);
//   retry: a conditional write per row (only if the row is still at the version pulled); for each
//     refused row the worker loads the row's current bytes into its slot, re-applies the same
//     sparse gradient (and, for ALPT, the same ∂L/∂Q for Δ) with the same step, and writes again.
// Dense parameters: `model` averaging every `syncEvery` steps (with a barrier; each worker's dense
// optimizer moments stay local), or `grad`: the parameter gradients are averaged across workers at
// every step before the dense optimizer step (an all-reduce through the store), so every worker's
// dense parameters and optimizer state stay identical.

import type { Backend } from '../kernels/backend.js';
import type { TrainConfig } from '../train/config.js';
import type { CtrModel } from '../models/model.js';
import { buildModel } from '../models/registry.js';
import { createTable } from '../embedding/factory.js';
import type { EmbeddingTable } from '../embedding/table.js';
import { createDenseOptimizer } from '../train/dense.js';
import type { DenseOptimizer } from '../train/dense-optimizer.js';
import { StepRunner, type SparseRecord, type StepTables } from '../train/step.js';
import { isAdaptive } from '../embedding/table.js';
import { fieldViews, globalFloatArrays, packRow, rowLayout, unpackRow, type RowLayout } from './rows.js';
import type { ConflictRule, Store } from './store.js';
import type { EncodedSplit } from '../data/index.js';
import { CounterRng, Stream } from '../util/rng.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WorkerTiming {
  computeMs: number;
  pullMs: number;
  pushMs: number;
  syncMs: number;
  /** Time re-applying gradients to conflicting rows (retry rule). */
  retryMs: number;
  samples: number;
  steps: number;
}

/** The model of a run, built exactly as Trainer builds it (same seed → same dense init). */
export function buildRunModel(cfg: TrainConfig, backend: Backend, numFields: number): CtrModel {
  return buildModel(cfg.model, {
    backend, numFields, dim: cfg.dim, mlp: cfg.mlp, crossLayers: cfg.crossLayers,
    batchNorm: cfg.batchNorm, dropout: cfg.dropout, seed: cfg.seed,
  });
}

/** The run's tables with `rows` rows (main, and first-order when the model has one). */
export function buildRunTables(cfg: TrainConfig, backend: Backend, model: CtrModel, rows: number, seed: number, initStep?: number): StepTables {
  const sparse = { name: cfg.sparseOptimizer, lr: cfg.sparseLr ?? cfg.lr };
  const t: StepTables = {
    main: createTable({
      method: cfg.embedding, rows, dim: cfg.dim, bits: cfg.bits, seed, initStd: cfg.initStd, optimizer: sparse,
      stepLr: cfg.stepLr, stepLrScale: cfg.stepLrScale, stepOptimizer: cfg.stepOptimizer, stepDtype: cfg.stepDtype,
      lsqPerRow: cfg.lsqPerRow, initStep: initStep ?? cfg.initStep, backend,
    }),
  };
  if (model.usesFirstOrder) {
    t.first = createTable({ method: 'fp32', rows, dim: 1, bits: 32, seed: seed + 7919, initStd: cfg.initStd, optimizer: sparse, backend });
  }
  return t;
}

export const tableList = (t: StepTables): EmbeddingTable[] => (t.first ? [t.main, t.first] : [t.main]);

/** Dense parameters, buffers and mutable per-table floats: what model averaging averages. */
export function denseArrays(model: CtrModel, layout: RowLayout, tables: EmbeddingTable[]): Float32Array[] {
  return [...model.params().map((p) => p.value), ...Object.values(model.buffers()), ...globalFloatArrays(layout, tables)];
}

export function packFloats(arrays: Float32Array[]): Buffer {
  const n = arrays.reduce((s, a) => s + a.length, 0);
  const buf = Buffer.allocUnsafe(n * 4);
  let o = 0;
  for (const a of arrays) {
    buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o);
    o += a.byteLength;
  }
  return buf;
}

/** Named Float32 arrays ↔ bytes (a JSON header, then the values). */
export function packNamed(rec: Record<string, Float32Array>): Buffer {
  const names = Object.keys(rec);
  const head = Buffer.from(JSON.stringify(names.map((n) => [n, rec[n].length])));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  return Buffer.concat([len, head, packFloats(names.map((n) => rec[n]))]);
}

export function unpackNamed(buf: Buffer): Record<string, Float32Array> {
  const hl = buf.readUInt32LE(0);
  const names = JSON.parse(buf.subarray(4, 4 + hl).toString()) as [string, number][];
  const out: Record<string, Float32Array> = {};
  let o = 4 + hl;
  for (const [n, len] of names) {
    const f = new Float32Array(len);
    new Uint8Array(f.buffer).set(buf.subarray(o, o + len * 4));
    out[n] = f;
    o += len * 4;
  }
  return out;
}

/** Copy bytes into Float32 arrays, in order (checks the total length). */
export function unpackFloatsInto(buf: Uint8Array, arrays: Float32Array[], what: string): void {
  const n = arrays.reduce((s, a) => s + a.byteLength, 0);
  if (buf.byteLength !== n) throw new Error(`${what}: ${buf.byteLength} bytes, expected ${n} (another configuration?)`);
  let o = 0;
  for (const a of arrays) {
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(buf.subarray(o, o + a.byteLength));
    o += a.byteLength;
  }
}

/** Worker `rank`'s part of the training split: a seeded permutation, every world-th example. */
export function shardSplit(split: EncodedSplit, rank: number, world: number, seed: number): EncodedSplit {
  if (world === 1) return split;
  const n = split.n, F = split.numFields;
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  new CounterRng(seed, Stream.shuffle, 0x3ffffff0).shuffle(perm);
  const m = Math.floor((n - rank + world - 1) / world);
  const ids = new Int32Array(m * F), labels = new Float32Array(m);
  for (let p = rank, k = 0; p < n; p += world, k++) {
    const i = perm[p];
    labels[k] = split.labels[i];
    ids.set(split.ids.subarray(i * F, i * F + F), k * F);
  }
  return { n: m, numFields: F, ids, labels, skipped: 0 };
}

export interface WorkerOptions {
  cfg: TrainConfig;
  backend: Backend;
  store: Store;
  rank: number;
  world: number;
  /** Run generation (a nonce from rank 0): control keys of this run start with it. */
  gen: string;
  numFields: number;
  totalRows: number;
  /** Δ0 of the run's table (from rank 0), so that the scratch table quantizes like the full one. */
  initStep?: number;
  /** A reason to stop (e.g. a local child process died), checked while waiting. */
  abortReason?: () => string | null;
  /** How long a barrier may wait for the others, ms. */
  barrierTimeoutMs: number;
  heartbeatTtlMs: number;
  /** Concurrent row updates: 'retry' (conditional writes, re-applied; the run's default) or 'last-writer'. */
  conflicts?: ConflictRule;
  /** Dense sync: 'model' averaging every syncEvery steps, or 'grad' averaging every step. */
  denseSync?: DenseSync;
}

export type DenseSync = 'model' | 'grad';

/** Conditional write rounds before a row is written unconditionally (and counted in rowConflicts). */
const MAX_CAS_ROUNDS = 64;

export class DistWorker {
  readonly model: CtrModel;
  readonly tables: StepTables;
  readonly dense: DenseOptimizer;
  readonly runner: StepRunner;
  readonly layout: RowLayout;
  readonly timing: WorkerTiming = { computeMs: 0, pullMs: 0, pushMs: 0, syncMs: 0, retryMs: 0, samples: 0, steps: 0 };
  private readonly stamp: Int32Array;
  private readonly slotOf: Int32Array;
  private readonly rows: Int32Array;
  private readonly local: Int32Array;
  private readonly versions: Uint32Array;
  private readonly mark: Uint8Array;
  private readonly record: SparseRecord[] = [];
  private generation = 0;
  private hbTimer: NodeJS.Timeout | null = null;
  private readonly seen: boolean[] = [];

  constructor(readonly o: WorkerOptions) {
    const { cfg, backend, numFields } = o;
    this.model = buildRunModel(cfg, backend, numFields);
    const cap = cfg.batch * numFields;
    // The scratch seed only sets the (discarded) scratch init and the rounding stream of this worker.
    const scratchSeed = cfg.seed + 7777 * (o.rank + 1);
    this.tables = buildRunTables(cfg, backend, this.model, cap, scratchSeed, o.initStep);
    const probe = buildRunTables(cfg, backend, this.model, 2, scratchSeed, o.initStep ?? 0.01);
    this.layout = rowLayout(tableList(this.tables), tableList(probe));
    this.dense = createDenseOptimizer(this.model.params(), cfg, backend);
    this.runner = new StepRunner(backend, this.model, this.tables, this.dense, numFields);
    this.stamp = new Int32Array(o.totalRows);
    this.slotOf = new Int32Array(o.totalRows);
    this.rows = new Int32Array(cap);
    this.local = new Int32Array(cap);
    this.versions = new Uint32Array(cap);
    this.mark = new Uint8Array(cap);
    if (o.conflicts === 'retry') this.runner.record = this.record;
  }

  get store(): Store {
    return this.o.store;
  }

  dense32(): Float32Array[] {
    return denseArrays(this.model, this.layout, tableList(this.tables));
  }

  /** Learning rates of an epoch (the Trainer's step schedule). */
  applyLr(epoch: number): void {
    const cfg = this.o.cfg;
    let lr = cfg.lr;
    for (const e of cfg.lrDecayEpochs) if (epoch > e) lr *= cfg.lrDecay;
    this.dense.lr = lr;
    const sparseLr = (cfg.sparseLr ?? cfg.lr) * (lr / cfg.lr);
    for (const t of tableList(this.tables)) t.setLearningRate?.(sparseLr);
  }

  /** One step on a batch of global ids: pull rows, train, push rows. Returns the loss. */
  async trainBatch(ids: Int32Array, labels: Float32Array, size: number, step: number): Promise<number> {
    const F = this.o.numFields, slots = size * F;
    const gen = ++this.generation;
    const { stamp, slotOf, rows, local } = this;
    const nRows = this.o.totalRows;
    let count = 0;
    for (let i = 0; i < slots; i++) {
      const r = ids[i];
      if (r < 0 || r >= nRows) throw new RangeError(`embedding id ${r} out of range [0, ${nRows})`);
      if (stamp[r] !== gen) {
        stamp[r] = gen;
        slotOf[r] = count;
        rows[count++] = r;
      }
      local[i] = slotOf[r];
    }
    let t = performance.now();
    let views = fieldViews(this.layout, tableList(this.tables));
    const versions = this.versions;
    await this.store.pullRows(rows, count, (i, v, ver) => {
      unpackRow(this.layout, views, i, v);
      versions[i] = ver;
    });
    const t1 = performance.now();
    this.timing.pullMs += t1 - t;
    let loss: number;
    if (this.o.denseSync === 'grad' && this.o.world > 1) {
      const p = this.runner.forwardBackward(local.subarray(0, slots), labels, size, step);
      this.timing.computeMs += performance.now() - t1;
      await this.averageGrads(step);
      const t2 = performance.now();
      this.runner.apply(p, labels, size, step);
      loss = p.loss;
      t = performance.now();
      this.timing.computeMs += t - t2;
    } else {
      loss = this.runner.train(local.subarray(0, slots), labels, size, step);
      t = performance.now();
      this.timing.computeMs += t - t1;
    }
    views = fieldViews(this.layout, tableList(this.tables));
    const rule = this.o.conflicts ?? 'last-writer';
    let conflicts = await this.store.pushRows(rows, count, (i) => packRow(this.layout, views, i), versions, rule);
    // retry rule: re-apply this step's gradients to the refused rows' current bytes, write again
    for (let round = 1; conflicts.length > 0; round++) {
      this.store.stats.casRounds++;
      const tr = performance.now();
      const sub = new Int32Array(conflicts.length);
      views = fieldViews(this.layout, tableList(this.tables));
      for (let k = 0; k < conflicts.length; k++) {
        const c = conflicts[k];
        unpackRow(this.layout, views, c.i, c.value);
        versions[c.i] = c.version;
        sub[k] = c.i;
      }
      this.reapply(sub, step);
      views = fieldViews(this.layout, tableList(this.tables));
      this.timing.retryMs += performance.now() - tr;
      if (round >= MAX_CAS_ROUNDS) this.store.stats.casGaveUp += sub.length;
      const subRows = new Int32Array(sub.length), subVer = new Uint32Array(sub.length);
      for (let k = 0; k < sub.length; k++) {
        subRows[k] = rows[sub[k]];
        subVer[k] = versions[sub[k]];
      }
      const again = await this.store.pushRows(subRows, sub.length, (k) => packRow(this.layout, views, sub[k]), subVer, round < MAX_CAS_ROUNDS ? 'retry' : 'last-writer');
      conflicts = again.map((c) => ({ ...c, i: sub[c.i] }));
    }
    this.timing.pushMs += performance.now() - t;
    this.timing.samples += size;
    this.timing.steps++;
    return loss;
  }

  /** The recorded sparse updates of this step, again, on the scratch slots `slots` only. */
  private reapply(slots: Int32Array, step: number): void {
    const mark = this.mark;
    for (const s of slots) mark[s] = 1;
    for (const r of this.record) {
      const sel: number[] = [];
      for (let k = 0; k < r.count; k++) if (mark[r.rows[k]]) sel.push(k);
      if (sel.length === 0) continue;
      const n = sel.length, d = r.dim;
      const rows = new Int32Array(n), g = new Float32Array(n * d), dq = r.dq ? new Float32Array(n * d) : null;
      for (let j = 0; j < n; j++) {
        const k = sel[j];
        rows[j] = r.rows[k];
        g.set(r.grads.subarray(k * d, k * d + d), j * d);
        if (dq) dq.set(r.dq!.subarray(k * d, k * d + d), j * d);
      }
      const table = r.table;
      if (dq && isAdaptive(table)) {
        table.stageUpdate(rows, n, g, step);
        table.updateStepSizesAndWriteBack(dq, step);
      } else {
        table.update(rows, n, g, step);
      }
    }
    for (const s of slots) mark[s] = 0;
  }

  /** Gradient averaging: every worker's dense parameter gradients → their mean, before the dense step. */
  async averageGrads(step: number): Promise<void> {
    const { world, rank, gen } = this.o;
    const t0 = performance.now();
    const grads = this.model.params().map((p) => p.grad);
    await this.store.setCtl(`${gen}:grad:${step}:${rank}`, packFloats(grads), 120_000);
    await this.barrier(`g${step}`);
    const names: string[] = [];
    for (let r = 0; r < world; r++) names.push(`${gen}:grad:${step}:${r}`);
    const vals = await this.store.getCtlBuffers(names);
    const tmp = grads.map((a) => new Float32Array(a.length));
    const sums = grads.map((a) => new Float64Array(a.length));
    for (let r = 0; r < world; r++) {
      const v = vals[r];
      if (!v) throw new Error(`gradients of worker ${r} for step ${step} are missing`);
      unpackFloatsInto(v, tmp, `gradients of worker ${r}`);
      for (let k = 0; k < grads.length; k++) {
        const s = sums[k], x = tmp[k];
        for (let i = 0; i < x.length; i++) s[i] += x[i];
      }
    }
    for (let k = 0; k < grads.length; k++) {
      const a = grads[k], s = sums[k];
      for (let i = 0; i < a.length; i++) a[i] = s[i] / world;
    }
    // nobody reads step-1's gradients once every worker passed this step's barrier
    if (step > 1) this.store.delCtl([`${gen}:grad:${step - 1}:${rank}`, `${gen}:bar:g${step - 1}`]).catch(() => undefined);
    this.timing.syncMs += performance.now() - t0;
  }

  // ---- control: heartbeats, barriers, averaging -------------------------------------------

  startHeartbeat(): void {
    const beat = () => {
      this.store.setCtl(`${this.o.gen}:alive:${this.o.rank}`, '1', this.o.heartbeatTtlMs).catch(() => undefined);
    };
    this.stopHeartbeat();
    beat();
    this.hbTimer = setInterval(beat, Math.max(200, this.o.heartbeatTtlMs / 4));
    this.hbTimer.unref();
  }

  /** A heartbeat that outlives a long synchronous phase (evaluation). */
  async holdHeartbeat(ms: number): Promise<void> {
    await this.store.setCtl(`${this.o.gen}:alive:${this.o.rank}`, '1', ms);
  }

  stopHeartbeat(): void {
    if (this.hbTimer) clearInterval(this.hbTimer);
    this.hbTimer = null;
  }

  /** Throws if the run was aborted or a peer's heartbeat expired. */
  async checkPeers(): Promise<void> {
    const local = this.o.abortReason?.();
    if (local) throw new Error(local);
    const { world, gen } = this.o;
    const names = [`${gen}:abort`];
    for (let r = 0; r < world; r++) names.push(`${gen}:alive:${r}`);
    const vals = await this.store.getCtlBuffers(names);
    if (vals[0]) throw new Error(`the run was stopped: ${vals[0].toString()}`);
    // a rank counts as stopped once it was seen alive and its heartbeat then expired (a rank
    // still starting up has no heartbeat yet: the barrier timeout covers one that never comes)
    for (let r = 0; r < world; r++) {
      if (vals[r + 1]) this.seen[r] = true;
      else if (this.seen[r]) throw new Error(`worker ${r} stopped (no heartbeat for ${(this.o.heartbeatTtlMs / 1000).toFixed(0)} s)`);
    }
  }

  /** Wait until every worker joined `name`. */
  async barrier(name: string): Promise<void> {
    const { world, rank, gen } = this.o;
    const t0 = performance.now();
    let size = await this.store.joinSet(`${gen}:bar:${name}`, String(rank));
    let lastCheck = performance.now(), pause = 1;
    while (size < world) {
      const now = performance.now();
      if (now - t0 > this.o.barrierTimeoutMs) throw new Error(`barrier "${name}": only ${size} of ${world} workers arrived within ${(this.o.barrierTimeoutMs / 1000).toFixed(0)} s`);
      if (now - lastCheck > 500) {
        await this.checkPeers();
        lastCheck = now;
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 20);
      size = await this.store.setSize(`${gen}:bar:${name}`);
    }
    this.timing.syncMs += performance.now() - t0;
  }

  /** Wait for a control value set by another worker. */
  async waitFor(name: string): Promise<string> {
    const t0 = performance.now();
    let lastCheck = t0, pause = 1;
    for (;;) {
      const v = await this.store.getCtl(`${this.o.gen}:${name}`);
      if (v !== null) {
        this.timing.syncMs += performance.now() - t0;
        return v;
      }
      const now = performance.now();
      if (now - t0 > this.o.barrierTimeoutMs) throw new Error(`waited ${(this.o.barrierTimeoutMs / 1000).toFixed(0)} s for "${name}"`);
      if (now - lastCheck > 500) {
        await this.checkPeers();
        lastCheck = now;
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 20);
    }
  }

  /** Model averaging: every worker's dense arrays → their mean, everywhere. Includes a barrier. */
  async averageDense(round: string): Promise<void> {
    const { world, rank, gen } = this.o;
    if (world === 1) return;
    const t0 = performance.now();
    const arrays = this.dense32();
    await this.store.setCtl(`${gen}:dense:${round}:${rank}`, packFloats(arrays), 600_000);
    this.timing.syncMs += performance.now() - t0;
    await this.barrier(`avg:${round}`);
    const t1 = performance.now();
    const names: string[] = [];
    for (let r = 0; r < world; r++) names.push(`${gen}:dense:${round}:${r}`);
    const vals = await this.store.getCtlBuffers(names);
    const sums = arrays.map((a) => new Float64Array(a.length));
    for (let r = 0; r < world; r++) {
      const v = vals[r];
      if (!v) throw new Error(`dense parameters of worker ${r} for round ${round} are missing`);
      const tmp = arrays.map((a) => new Float32Array(a.length));
      unpackFloatsInto(v, tmp, `dense parameters of worker ${r}`);
      for (let k = 0; k < arrays.length; k++) {
        const s = sums[k], x = tmp[k];
        for (let i = 0; i < x.length; i++) s[i] += x[i];
      }
    }
    for (let k = 0; k < arrays.length; k++) {
      const a = arrays[k], s = sums[k];
      for (let i = 0; i < a.length; i++) a[i] = s[i] / world;
    }
    this.timing.syncMs += performance.now() - t1;
  }
}
