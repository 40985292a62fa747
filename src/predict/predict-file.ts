// Score a file of the training format in bounded memory: read a chunk of lines, parse them with
// the training parser, look up ids, run the forward pass, write one CSV line per input row in input
// order. Labels in the input give AUC and logloss (computed from logits, as training does).
import { createWriteStream, renameSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { forEachLine } from '../data/lines.js';
import { BadRow, RowBatch } from '../data/row.js';
import { auc, logloss } from '../train/metrics.js';
import type { LoadedModel } from './loaded-model.js';
import { GrowF32 } from '../data/grow.js';

export interface PredictFileOptions {
  /** Output CSV path, or '-' for stdout. */
  out: string;
  /** Write this input column (avazu/csv header name), or `line` (the input line number), before the score. */
  idColumn?: string;
  /** Malformed lines get an empty score and are counted, instead of stopping. */
  skipBad?: boolean;
  chunkBytes?: number;
  onProgress?: (bytes: number, total: number, rows: number) => void;
}

export interface PredictSummary {
  input: string;
  out: string;
  rows: number;
  bad_rows: number;
  seconds: number;
  rows_per_s: number;
  auc: number | null;
  logloss: number | null;
}

export async function predictFile(m: LoadedModel, input: string, o: PredictFileOptions): Promise<PredictSummary> {
  const enc = m.rawEncoder;
  if (!enc) throw new Error(`${m.path}: the model has no vocabulary, so it cannot read raw files (use predictIds)`);
  const total = statSync(input).size;
  const parser = enc.freshParser();
  const F = enc.numFields;
  const sep = enc.columns.separator;
  let idIndex = -1;
  if (o.idColumn !== undefined && o.idColumn !== 'line') {
    idIndex = enc.columns.line.indexOf(o.idColumn);
    if (idIndex < 0) throw new Error(`--id-column ${o.idColumn}: no such column (columns: ${enc.columns.line.join(', ')}; or 'line' for the line number)`);
  }
  const t0 = performance.now();
  const tmp = o.out === '-' ? null : `${o.out}.${process.pid}.${Date.now()}.tmp`;
  const sink: WriteStream | NodeJS.WriteStream = tmp ? createWriteStream(tmp) : process.stdout;
  const write = async (s: string): Promise<void> => {
    if (!sink.write(s)) await new Promise<void>((r) => sink.once('drain', () => r()));
  };
  // Parsed rows wait as ids until a whole forward batch (m.batchSize rows) is there, so the file is
  // scored in the same blocks as training's evaluation of it; `order` keeps the input order of
  // pending rows (a pending-row index, or -1 for a bad line) with their id-column values.
  const batch = new RowBatch();
  const B = m.batchSize;
  let pendingIds = new Int32Array(B * F * 2);
  let pendingLabels = new Float32Array(B * 2);
  let pending = 0;
  let order: number[] = [];
  let ids: string[] = [];
  // 8 bytes per scored row, kept for AUC (which needs every score); nothing else grows with the input.
  const labels = new GrowF32(1 << 16);
  const logits = new GrowF32(1 << 16);
  let rows = 0;
  let bad = 0;
  let bytes = 0;
  let headerPending = parser.hasHeader;
  /** Moves the parsed chunk's rows into the pending ids. */
  const take = (): void => {
    const n = batch.rows;
    if (pendingIds.length < (pending + n) * F) {
      const grown = new Int32Array(Math.max(pendingIds.length * 2, (pending + n) * F));
      grown.set(pendingIds.subarray(0, pending * F));
      pendingIds = grown;
      const gl = new Float32Array(grown.length / F);
      gl.set(pendingLabels.subarray(0, pending));
      pendingLabels = gl;
    }
    enc.lookup(batch, pendingIds, pending * F);
    pendingLabels.set(batch.labels.subarray(0, n), pending);
    pending += n;
    batch.clear();
  };
  /** Scores whole batches of pending rows (all of them when `all`) and writes their lines in order. */
  const flush = async (all: boolean): Promise<void> => {
    take();
    const n = all ? pending : Math.floor(pending / B) * B;
    const z = n > 0 ? m.logits(pendingIds.subarray(0, n * F)) : new Float32Array(0);
    let text = '';
    let k = 0;
    for (; k < order.length; k++) {
      const i = order[k];
      if (i >= n) break;
      const id = o.idColumn !== undefined ? `${csvCell(ids[k])},` : '';
      if (i < 0) text += `${id}\n`;
      else {
        const p = 1 / (1 + Math.exp(-z[i]));
        text += `${id}${Math.fround(p)}\n`;
        labels.push(pendingLabels[i]);
        logits.push(z[i]);
      }
    }
    rows += k;
    await write(text);
    order = order.slice(k).map((i) => (i < 0 ? i : i - n));
    ids = ids.slice(k);
    pendingIds.copyWithin(0, n * F, pending * F);
    pendingLabels.copyWithin(0, n, pending);
    pending -= n;
    o.onProgress?.(bytes, total, rows);
  };
  try {
    await write(o.idColumn !== undefined ? `${o.idColumn},score\n` : 'score\n');
    await forEachLine(input, (buf, s, e, lineNo) => {
      bytes += e - s + 1;
      if (headerPending) {
        headerPending = false;
        const header = buf.toString('utf8', s, e).replace(/^\uFEFF/, '');
        if (header !== enc.input.header?.replace(/^\uFEFF/, '')) {
          throw new Error(`${input}:${lineNo}: header differs from the training file's:\n  got      ${excerpt(header)}\n  expected ${excerpt(enc.input.header ?? '')}`);
        }
        return;
      }
      try {
        parser.parse(buf, s, e, batch);
        batch.keep();
        order.push(pending + batch.rows - 1);
      } catch (err) {
        if (!(err instanceof BadRow)) throw err;
        batch.drop();
        if (!o.skipBad) throw new Error(`${input}:${lineNo}: ${err.message}`);
        bad++;
        order.push(-1);
      }
      if (o.idColumn !== undefined) ids.push(idIndex < 0 ? String(lineNo) : cellAt(buf, s, e, sep, idIndex));
    }, { chunkSize: o.chunkBytes ?? 1 << 22, onChunk: () => flush(false) });
    await flush(true);
    if (tmp) {
      sink.end();
      await finished(sink as WriteStream);
      renameSync(tmp, o.out);
    }
  } catch (e) {
    if (tmp) {
      (sink as WriteStream).destroy();
      try { unlinkSync(tmp); } catch { /* never written */ }
    }
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  const n = labels.len;
  const y = labels.data.subarray(0, n);
  const z = logits.data.subarray(0, n);
  const both = n > 0 && y.some((v) => v > 0) && y.some((v) => v === 0);
  return {
    input, out: o.out, rows, bad_rows: bad, seconds, rows_per_s: rows / seconds,
    auc: both ? auc(y, z, n) : null,
    logloss: n > 0 ? logloss(y, z, n) : null,
  };
}

/** The idx-th separated cell of a line (for --id-column). */
function cellAt(buf: Buffer, s: number, e: number, sep: string, idx: number): string {
  const c = sep.charCodeAt(0);
  let p = s;
  for (let k = 0; k < idx; k++) {
    while (p < e && buf[p] !== c) p++;
    p++;
  }
  let q = p;
  while (q < e && buf[q] !== c) q++;
  return p <= e ? buf.toString('utf8', p, q) : '';
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function excerpt(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}… (${s.length} chars)` : s;
}
