// The two passes: count train (keeping each row's table entries, so train is parsed only once),
// then map entries to ids; valid/test are parsed once and looked up in the train tables. Big files
// are parsed in a worker thread while this one does the table lookups.
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { EncodedSplit } from './types.js';
import { KeyTable } from './keytable.js';
import { displayName, parseRows, type ParseProgress, type ParserSpec } from './parse-rows.js';
import type { ParseWorkerData, ParseWorkerMessage } from './parse-worker.js';
import { transferList, type RowArrays } from './row.js';
import { GrowF32, GrowI32 } from './grow.js';
import { clip } from './excerpt.js';
import type { RowHasher } from './hash-rows.js';

export interface PassOptions {
  skipBad: boolean;
  phase: string;
  onProgress?: (phase: string, rows: number) => void;
}

/**
 * Files at least this big are parsed in a worker while this thread does the table lookups (a
 * worker costs some tens of ms to start). Settable, so tests can send small files through it.
 */
export const parseWorker = { minBytes: 16 << 20, chunkSize: 1 << 20 };

/** One chunk's good rows, laid out as in RowBatch (keys back to back, so only their ends are kept). */
interface Batch {
  keys32: Int32Array;
  ends: Int32Array;
  hashes: Int32Array;
  labels: Float32Array;
  rows: number;
  fields: number;
}

/**
 * Calls onBatch for every chunk's good rows, in file order, with an estimate of the file's total
 * rows (from bytes read); bad rows throw `file:line: field ...` or are counted.
 */
async function eachBatch(path: string, spec: ParserSpec, o: PassOptions, onBatch: (b: Batch, estRows: number, fieldNames: string[], header?: string) => void): Promise<number> {
  const size = statSync(path).size;
  let rows = 0;
  const take = (b: Batch, p: ParseProgress): void => {
    rows += b.rows;
    if (b.rows > 0) onBatch(b, Math.ceil((rows * size * 1.02) / p.bytes) + 64, p.fieldNames, p.header);
    o.onProgress?.(o.phase, rows);
  };
  if (size < parseWorker.minBytes) {
    const p = await parseRows(path, spec, o.skipBad, parseWorker.chunkSize, (r, p) => take(r, p));
    return p.skipped;
  }
  return inWorker(path, spec, o.skipBad, take);
}

/** parseRows in a worker thread; batches arrive in order and their arrays go back for reuse. */
function inWorker(path: string, spec: ParserSpec, skipBad: boolean, take: (b: Batch, p: ParseProgress) => void): Promise<number> {
  const data: ParseWorkerData = { path, spec, skipBad, chunkSize: parseWorker.chunkSize };
  const worker = new Worker(new URL('./parse-worker.js', import.meta.url), { workerData: data });
  return new Promise<number>((resolve, reject) => {
    const finish = (err: Error | null, skipped = 0): void => {
      worker.removeAllListeners();
      worker.on('error', () => {}); // a late error of a worker being stopped is of no interest
      void worker.terminate().then(() => (err ? reject(err) : resolve(skipped)), reject);
    };
    worker.on('message', (m: ParseWorkerMessage) => {
      try {
        if (m.type === 'batch') {
          const a: RowArrays = m.arrays;
          const keys32 = new Int32Array(a.keys.buffer, a.keys.byteOffset, a.keys.byteLength >> 2);
          take({ keys32, ends: a.ends, hashes: a.hashes, labels: a.labels, rows: m.rows, fields: m.fields }, m.progress);
          worker.postMessage(a, transferList(a));
        } else if (m.type === 'done') finish(null, m.progress.skipped);
        else finish(new Error(m.message));
      } catch (e) {
        finish(e as Error);
      }
    });
    worker.on('error', (e) => finish(e));
    worker.on('exit', (code) => finish(new Error(`parse worker for ${displayName(path)} exited (code ${code})`)));
  });
}

export interface Counted {
  tables: KeyTable[];
  fieldNames: string[];
  /** The train file's header line (avazu, csv with header). */
  header?: string;
  /** Per row and field: table entry index (row-major). */
  entries: Int32Array;
  labels: Float32Array;
  n: number;
  skipped: number;
}

export async function countTrain(path: string, spec: ParserSpec, o: PassOptions): Promise<Counted> {
  let tables: KeyTable[] = [];
  let fieldNames: string[] = [];
  let header: string | undefined;
  const entries = new GrowI32(1 << 20);
  const labels = new GrowF32(1 << 16);
  const skipped = await eachBatch(path, spec, o, (b, est, names, head) => {
    const F = b.fields;
    if (tables.length === 0) {
      tables = Array.from({ length: F }, () => new KeyTable());
      fieldNames = names.slice();
      header = head;
    }
    const at = entries.reserve(b.rows * F, est * F);
    const out = entries.data;
    const keys = b.keys32, ends = b.ends, h = b.hashes;
    let s = 0;
    for (let i = 0; i < b.rows * F; i += F) {
      for (let j = 0; j < F; j++) {
        const e = ends[i + j];
        out[at + i + j] = tables[j].add(keys, s, e, h[i + j]);
        s = (e + 3) & ~3;
      }
    }
    entries.len += b.rows * F;
    labels.append(b.labels, b.rows, est);
  });
  if (labels.len === 0) throw new Error(`${displayName(path)}: no data rows`);
  return { tables, fieldNames, header, entries: entries.trim(), labels: labels.trim(), n: labels.len, skipped };
}

/** Train ids from the counted entries (in place). */
export function remapTrain(c: Counted, remaps: Int32Array[]): EncodedSplit {
  const F = c.tables.length;
  const ids = c.entries;
  for (let i = 0; i < ids.length; i += F) {
    for (let j = 0; j < F; j++) ids[i + j] = remaps[j][ids[i + j]];
  }
  return { n: c.n, numFields: F, ids, labels: c.labels, skipped: c.skipped };
}

export async function encodeSplit(
  path: string, spec: ParserSpec, c: Counted, remaps: Int32Array[], oov: number[], o: PassOptions,
): Promise<EncodedSplit> {
  const F = c.tables.length;
  const ids = new GrowI32(1 << 18);
  const labels = new GrowF32(1 << 14);
  let checked = false;
  const skipped = await eachBatch(path, spec, o, (b, est, names) => {
    if (!checked) {
      checked = true;
      if (names.join('\u0000') !== c.fieldNames.join('\u0000')) {
        throw new Error(`${displayName(path)}: fields [${clip(names.join(','))}] differ from train's [${clip(c.fieldNames.join(','))}]`);
      }
    }
    const at = ids.reserve(b.rows * F, est * F);
    const out = ids.data;
    const keys = b.keys32, ends = b.ends, h = b.hashes, tables = c.tables;
    let s = 0;
    for (let i = 0; i < b.rows * F; i += F) {
      for (let j = 0; j < F; j++) {
        const e = ends[i + j];
        const entry = tables[j].find(keys, s, e, h[i + j]);
        out[at + i + j] = entry < 0 ? oov[j] : remaps[j][entry];
        s = (e + 3) & ~3;
      }
    }
    ids.len += b.rows * F;
    labels.append(b.labels, b.rows, est);
  });
  return { n: labels.len, numFields: F, ids: ids.trim(), labels: labels.trim(), skipped };
}

/** A split encoded by hashing (no tables); fieldNames and header as the parser read them. */
export interface HashedSplit {
  split: EncodedSplit;
  fieldNames: string[];
  header?: string;
  hasher: RowHasher;
}

/**
 * One streaming pass with hashed ids: each chunk's keys become ids right away, so nothing but the
 * id and label columns grows with the file. `hasher` is made from the first chunk's field count
 * (train) or given (valid/test, whose fields must then be train's).
 */
export async function hashSplit(
  path: string, spec: ParserSpec, hasher: RowHasher | ((fields: number, names: string[]) => RowHasher), o: PassOptions, trainNames?: string[],
): Promise<HashedSplit> {
  let h: RowHasher | null = typeof hasher === 'function' ? null : hasher;
  let fieldNames: string[] = trainNames ?? [];
  let header: string | undefined;
  let checked = false;
  const ids = new GrowI32(1 << 18);
  const labels = new GrowF32(1 << 14);
  const skipped = await eachBatch(path, spec, o, (b, est, names, head) => {
    if (!checked) {
      checked = true;
      if (trainNames && names.join('\u0000') !== trainNames.join('\u0000')) {
        throw new Error(`${displayName(path)}: fields [${clip(names.join(','))}] differ from train's [${clip(trainNames.join(','))}]`);
      }
      fieldNames = names.slice();
      header = head;
      if (!h) h = (hasher as (f: number, n: string[]) => RowHasher)(b.fields, fieldNames);
      if (h.numFields !== b.fields) throw new Error(`${displayName(path)}: rows have ${b.fields} fields, the hash spec ${h.numFields}`);
    }
    const F = b.fields;
    const at = ids.reserve(b.rows * F, est * F);
    h!.encodeRows(b.keys32, b.ends, b.rows, ids.data, at);
    ids.len += b.rows * F;
    labels.append(b.labels, b.rows, est);
  });
  if (!h) {
    if (typeof hasher === 'function') throw new Error(`${displayName(path)}: no data rows`);
    h = hasher;
  }
  const F = h.numFields;
  return { split: { n: labels.len, numFields: F, ids: ids.trim(), labels: labels.trim(), skipped }, fieldNames, header, hasher: h };
}
