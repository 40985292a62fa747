// The model file (`model.alpt`): everything needed to score raw rows and nothing more — the
// training config, the input rules (format, schema, header), the vocabulary (raw value → id), the
// table exactly as trained (packed codes + step sizes, or fp32 weights), the dense weights and
// BatchNorm statistics, and the training summary. No optimizer state. A safetensors container
// (see util/safetensors.ts), so a Python user can read codes and steps with `safetensors`.
import { savedTableArray } from '../embedding/sharded-table.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InputSpec, Vocab, VocabKeys } from '../data/types.js';
import type { TrainConfig } from '../train/config.js';
import { quantizeRow, rowBytes } from '../quant/pack.js';
import { readTensorFile, writeTensorFile } from '../util/tensor-file.js';
import type { TensorIn } from '../util/safetensors.js';
import { HASH_VERSION } from '../data/hash-rows.js';

export const MODEL_KIND = 'model';

/** How the table is stored in the file. */
export interface TableLayout {
  /** The training method (fp32, lpt-dr, lpt-sr, alpt, alpt-fast, lsq). */
  method: string;
  rows: number;
  dim: number;
  /** 1..8 (packed codes) or 32 (fp32 weights). */
  bits: number;
  /** Bytes of one packed row (bits ≤ 8) or 4·dim. */
  rowBytes: number;
  stepDtype: 'f32' | 'f16' | null;
}

export interface ModelMeta {
  kind: typeof MODEL_KIND;
  config: TrainConfig;
  vocab: Vocab;
  input: InputSpec | null;
  table: TableLayout;
  /** The model has a first-order term (an fp32 weight per row). */
  firstOrder: boolean;
  /** The run's summary (test AUC, …) when the model comes from a finished run. */
  summary: Record<string, unknown> | null;
}

export interface ModelFile {
  meta: ModelMeta;
  /** table.main.codes|weights, table.main.steps, table.first.weights, param.*, buffer.*, vocab.keys, vocab.ends */
  arrays: Record<string, ArrayBufferView>;
}

/** What a run knows when it writes a model: its config, vocabulary and current weights. */
export interface ModelSource {
  config: TrainConfig;
  vocab: Vocab;
  input?: InputSpec | null;
  keys?: VocabKeys | null;
  /** collectWeights() names: table.main.*, table.first.*, param.*, buffer.* */
  weights: Record<string, ArrayBufferView>;
  summary?: Record<string, unknown> | null;
}

/** Table arrays for inference from a training table's state (any method), without optimizer state. */
export function frozenTableArrays(cfg: TrainConfig, rows: number, state: (name: string) => ArrayBufferView | undefined): { layout: TableLayout; arrays: Record<string, TensorIn> } {
  const dim = cfg.dim;
  const need = (name: string): ArrayBufferView => {
    const a = state(name);
    if (!a) throw new Error(`the ${cfg.embedding} table's '${name}' array is missing`);
    return a;
  };
  if (cfg.embedding === 'fp32') {
    return {
      layout: { method: 'fp32', rows, dim, bits: 32, rowBytes: 4 * dim, stepDtype: null },
      arrays: { 'table.main.weights': { data: need('weights'), shape: [rows, dim] } },
    };
  }
  const bits = cfg.bits;
  const rb = rowBytes(dim, bits);
  if (cfg.embedding === 'lsq' && state('master')) {
    // LSQ trains fp32 master weights through a fake quantizer: at inference the table is the
    // quantized master, Δ·clip(round(w/Δ)), so it is stored packed like LPT's.
    const master = need('master') as Float32Array;
    const t = need('steps') as Float32Array;
    const codes = new Uint8Array(rows * rb);
    const steps = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const delta = Math.abs(t[t.length === 1 ? 0 : r]) + 1e-10; // as LsqTable's Δ = |t| + 1e-10
      steps[r] = delta;
      quantizeRow(master, r * dim, dim, bits, delta, false, 0, codes, r * rb);
    }
    return {
      layout: { method: 'lsq', rows, dim, bits, rowBytes: rb, stepDtype: 'f32' },
      arrays: { 'table.main.codes': { data: codes, shape: [rows, rb] }, 'table.main.steps': { data: steps, shape: [rows] } },
    };
  }
  const steps = need('steps');
  const f16 = steps instanceof Uint16Array;
  return {
    layout: { method: cfg.embedding, rows, dim, bits, rowBytes: rb, stepDtype: f16 ? 'f16' : 'f32' },
    arrays: {
      'table.main.codes': { data: need('codes'), shape: [rows, rb] },
      'table.main.steps': { data: steps, dtype: f16 ? 'F16' : 'F32', shape: [rows] },
    },
  };
}

/** The file's arrays and metadata from a run's weights. */
export function buildModelFile(src: ModelSource): { meta: ModelMeta; arrays: Record<string, TensorIn | ArrayBufferView> } {
  const w = src.weights;
  const rows = src.vocab.totalRows;
  const { layout, arrays } = frozenTableArrays(src.config, rows, (n) => savedTableArray(w, 'table.main.', n));
  const out: Record<string, TensorIn | ArrayBufferView> = { ...arrays };
  const first = w['table.first.weights'];
  if (first) out['table.first.weights'] = { data: first, shape: [rows] };
  for (const [k, v] of Object.entries(w)) if (k.startsWith('param.') || k.startsWith('buffer.')) out[k] = v;
  if (src.keys) {
    out['vocab.keys'] = src.keys.bytes;
    out['vocab.ends'] = src.keys.ends;
  }
  const meta: ModelMeta = {
    kind: MODEL_KIND,
    config: src.config,
    vocab: src.vocab,
    input: src.input ?? null,
    table: layout,
    firstOrder: first !== undefined,
    summary: src.summary ?? null,
  };
  return { meta, arrays: out };
}

/** The model file's content in memory (what readModelFile would return after writing it). */
export function modelFileFrom(src: ModelSource): ModelFile {
  const { meta, arrays } = buildModelFile(src);
  const plain: Record<string, ArrayBufferView> = {};
  for (const [k, v] of Object.entries(arrays)) plain[k] = ArrayBuffer.isView(v) ? v : v.data;
  return { meta, arrays: plain };
}

/** A model file's arrays and metadata as a ModelSource (to write it again, e.g. elsewhere). */
export function sourceOf(file: ModelFile): ModelSource {
  const a = file.arrays;
  const keys = a['vocab.keys'] && a['vocab.ends'] ? { bytes: a['vocab.keys'] as Uint8Array, ends: a['vocab.ends'] as Uint32Array } : null;
  return { config: file.meta.config, vocab: file.meta.vocab, input: file.meta.input, keys, weights: a, summary: file.meta.summary };
}

export function writeModelFile(path: string, src: ModelSource): void {
  const { meta, arrays } = buildModelFile(src);
  writeTensorFile(path, meta as unknown as { kind: string }, arrays);
}

/** Reads and verifies a model file: refused with a message naming what is wrong. */
export function readModelFile(path: string): ModelFile {
  if (!existsSync(path)) throw new Error(`${path}: no such model file`);
  const { meta, arrays } = readTensorFile(path, MODEL_KIND);
  const m = meta as ModelMeta;
  const bad = (why: string): never => {
    throw new Error(`${path}: not a usable model: ${why}`);
  };
  if (!m.config || !m.vocab || !m.table) bad('its metadata lacks config, vocab or table');
  const t = m.table;
  if (t.rows !== m.vocab.totalRows) bad(`table has ${t.rows} rows, vocabulary ${m.vocab.totalRows}`);
  const expect = (name: string, bytes: number): void => {
    const a = arrays[name];
    if (!a) bad(`array '${name}' is missing`);
    if (a.byteLength !== bytes) bad(`array '${name}' has ${a.byteLength} bytes, the table layout says ${bytes}`);
  };
  if (t.bits === 32) expect('table.main.weights', t.rows * t.dim * 4);
  else {
    expect('table.main.codes', t.rows * t.rowBytes);
    expect('table.main.steps', t.rows * (t.stepDtype === 'f16' ? 2 : 4));
  }
  if (m.firstOrder) expect('table.first.weights', t.rows * 4);
  const h = m.vocab.hash;
  if (h) {
    if (h.version !== HASH_VERSION) bad(`its ids are hashed with version ${h.version}; this alpt hashes with version ${HASH_VERSION}`);
    if (!Array.isArray(h.rows) || h.rows.length !== m.vocab.fieldSizes.length || h.rows.some((n, j) => n !== m.vocab.fieldSizes[j])) {
      bad('its hash spec\'s rows per field do not match the field sizes');
    }
    if (arrays['vocab.keys']) bad('it has both a hash spec and vocabulary keys');
  }
  return { meta: m, arrays };
}

/**
 * A model file's content from a checkpoint (the best epoch's weights when it has them), with the
 * run's summary.json beside it when there is one.
 */
export function modelFromCheckpoint(path: string): ModelSource {
  const { meta, arrays } = readTensorFile(path, 'checkpoint');
  const hasBest = Object.keys(arrays).some((k) => k.startsWith('best.'));
  const weights: Record<string, ArrayBufferView> = {};
  for (const [k, v] of Object.entries(arrays)) {
    if (hasBest ? k.startsWith('best.') : !k.startsWith('dense.') && !k.startsWith('vocab.')) weights[hasBest ? k.slice(5) : k] = v;
  }
  const keys = arrays['vocab.keys'] && arrays['vocab.ends']
    ? { bytes: arrays['vocab.keys'] as Uint8Array, ends: arrays['vocab.ends'] as Uint32Array }
    : null;
  const summaryPath = join(path, '..', 'summary.json');
  const summary = existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, 'utf8')) : null;
  return { config: meta.config, vocab: meta.vocab, input: meta.input ?? null, keys, weights, summary };
}
