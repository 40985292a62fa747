// loadModel: a verified model file → a predictor. The training forward pass in inference mode
// (running BatchNorm statistics, no dropout) over a frozen copy of the trained table, fed by the
// same parser and vocabulary as training, so its scores are the ones training computed.
import { readModelFile, type ModelFile, type ModelMeta } from '../artifact/model-file.js';
import { createBackend, type BackendOptions } from '../kernels/index.js';
import type { Backend } from '../kernels/backend.js';
import { buildModelFor } from '../models/registry.js';
import type { CtrModel } from '../models/model.js';
import { FrozenTable } from '../embedding/frozen-table.js';
import { EmbeddingInputs } from '../train/embedding-inputs.js';
import { restoreDense } from '../train/snapshot.js';
import { RawEncoder, RowError, type InputColumns, type RawRow } from './raw-encoder.js';
import type { VocabKeys } from '../data/types.js';

export interface ModelInfo {
  model: string;
  embedding: string;
  bits: number;
  dim: number;
  format: string | null;
  /** The model's fields (after the format's own derivations, e.g. Avazu's weekday) with their vocabulary sizes (OOV included). */
  fields: { name: string; size: number; offset: number }[];
  /** What predict() expects of a record, or null when the model has no vocabulary (predictIds only). */
  input: InputColumns | null;
  rows: number;
}

export interface LoadOptions extends BackendOptions {
  /** Reuse a backend (not disposed by the model). */
  backend?: Backend;
}

export class LoadedModel {
  readonly info: ModelInfo;
  /** Examples per forward pass: training's evaluation batch, so scores match it exactly. */
  readonly batchSize: number;
  private readonly encoder: RawEncoder | null;
  private readonly inputs: EmbeddingInputs;
  private readonly ownsBackend: boolean;

  constructor(readonly path: string, readonly meta: ModelMeta, arrays: Record<string, ArrayBufferView>, readonly backend: Backend, ownsBackend: boolean, readonly model: CtrModel) {
    const cfg = meta.config;
    const v = meta.vocab;
    const t = meta.table;
    this.ownsBackend = ownsBackend;
    const main = new FrozenTable({ rows: t.rows, dim: t.dim, bits: t.bits, stepDtype: t.stepDtype ?? undefined, kernels: backend.sparse ?? null });
    main.load({ weights: arrays['table.main.weights'], codes: arrays['table.main.codes'], steps: arrays['table.main.steps'] });
    const tables: { main: FrozenTable; first?: FrozenTable } = { main };
    if (meta.firstOrder) {
      tables.first = new FrozenTable({ rows: t.rows, dim: 1, bits: 32, kernels: backend.sparse ?? null });
      tables.first.load({ weights: arrays['table.first.weights'] });
    }
    // Dense weights and BatchNorm statistics by name; the tables are already loaded.
    restoreDense(model, arrays, path);
    this.inputs = new EmbeddingInputs(backend, model, tables, v.fieldSizes.length);
    this.batchSize = Math.max(cfg.batch, 4096);
    const keys = arrays['vocab.keys'] && arrays['vocab.ends']
      ? ({ bytes: arrays['vocab.keys'] as Uint8Array, ends: arrays['vocab.ends'] as Uint32Array } satisfies VocabKeys)
      : null;
    this.encoder = (keys || v.hash) && meta.input ? new RawEncoder(meta.input, v, keys) : null;
    this.info = {
      model: cfg.model,
      embedding: cfg.embedding,
      bits: t.bits,
      dim: t.dim,
      format: meta.input?.format ?? null,
      fields: v.fieldNames.map((name, j) => ({ name, size: v.fieldSizes[j], offset: v.fieldOffsets[j] })),
      input: this.encoder?.columns ?? null,
      rows: t.rows,
    };
  }

  get numFields(): number {
    return this.meta.vocab.fieldSizes.length;
  }

  /** Probabilities of raw rows (records, arrays in column order, or lines of the training format). */
  predict(rows: readonly RawRow[]): Float32Array {
    return sigmoid(this.logits(this.encode(rows).ids));
  }

  /** Ids [n × fields] (global: field offset + local id) of raw rows, and their labels if they had any. */
  encode(rows: readonly RawRow[]): { ids: Int32Array; labels: Float32Array } {
    if (!this.encoder) throw new Error(`${this.path}: the model has no vocabulary (made from data without raw values): use predictIds`);
    return this.encoder.encode(rows);
  }

  /** The raw-row encoder (for streaming readers), or null without a vocabulary. */
  get rawEncoder(): RawEncoder | null {
    return this.encoder;
  }

  /** Probabilities of encoded rows: ids[n × fields], global ids as in the training cache. */
  predictIds(ids: Int32Array | BigInt64Array | ArrayLike<number>): Float32Array {
    return sigmoid(this.logits(ids));
  }

  /** Logits of encoded rows (what training's AUC and logloss are computed from). */
  logits(idsIn: Int32Array | BigInt64Array | ArrayLike<number>): Float32Array {
    const F = this.numFields;
    const ids = idsIn instanceof Int32Array ? idsIn : Int32Array.from(idsIn as ArrayLike<number>, Number);
    if (ids.length % F !== 0) throw new Error(`ids: ${ids.length} values is not a multiple of the ${F} fields`);
    this.checkIds(ids);
    const n = ids.length / F;
    const out = new Float32Array(n);
    const B = this.batchSize;
    for (let i = 0; i < n; i += B) {
      const b = Math.min(B, n - i);
      out.set(this.inputs.logits(ids.subarray(i * F, (i + b) * F), b).subarray(0, b), i);
    }
    return out;
  }

  /** Every id inside its field's range: an id of another field would score silently wrong. */
  private checkIds(ids: Int32Array): void {
    const F = this.numFields;
    const { fieldOffsets: off, fieldSizes: size } = this.meta.vocab;
    for (let i = 0; i < ids.length; i++) {
      const j = i % F;
      const id = ids[i];
      if (!(id >= off[j] && id < off[j] + size[j])) {
        throw new RowError(Math.floor(i / F), this.meta.vocab.fieldNames[j], `id ${id} is outside the field's range [${off[j]}, ${off[j] + size[j]})`);
      }
    }
  }

  dispose(): void {
    if (this.ownsBackend) this.backend.dispose();
  }
}

export function sigmoid(z: Float32Array): Float32Array {
  const p = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) p[i] = 1 / (1 + Math.exp(-z[i]));
  return p;
}

/** Read, verify and load a model file. */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const file: ModelFile = readModelFile(path);
  const backend = opts.backend ?? (await createBackend({ kind: opts.kind ?? 'auto', threads: opts.threads }));
  try {
    const cfg = file.meta.config;
    const model = buildModelFor(cfg, file.meta.vocab.fieldSizes.length, backend);
    return new LoadedModel(path, file.meta, file.arrays, backend, !opts.backend, model);
  } catch (e) {
    if (!opts.backend) backend.dispose();
    throw e;
  }
}
