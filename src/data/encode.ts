// The two passes: count train (keeping each row's table entries, so train is parsed only once),
// then map entries to ids; valid/test are parsed once and looked up in the train tables.
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { EncodedSplit } from './types.js';
import type { RowParser } from './formats.js';
import { KeyTable } from './keytable.js';
import { forEachLine } from './lines.js';
import { BadRow, Row } from './row.js';
import { GrowF32, GrowI32 } from './grow.js';

export interface PassOptions {
  skipBad: boolean;
  phase: string;
  onProgress?: (phase: string, rows: number) => void;
}

/** Short name for messages: `criteo10k/train.txt`. */
export function displayName(path: string): string {
  return join(basename(dirname(path)), basename(path));
}

/**
 * Calls onRow for every good data row with an estimate of the file's total rows (from bytes read);
 * bad rows throw `file:line: field ...` or are counted.
 */
async function eachRow(path: string, parser: RowParser, onRow: (row: Row, estRows: number) => void, o: PassOptions): Promise<number> {
  const row = new Row();
  const size = statSync(path).size;
  let skipped = 0;
  let header = parser.hasHeader;
  let rows = 0;
  let bytes = 0;
  await forEachLine(path, (buf, s, e, lineNo) => {
    bytes += e - s + 1;
    try {
      if (header) {
        header = false;
        parser.setHeader(buf.toString('utf8', s, e));
        return;
      }
      parser.parse(buf, s, e, row);
    } catch (err) {
      if (!(err instanceof BadRow)) throw err;
      if (!o.skipBad || lineNo === 1 && parser.hasHeader) throw new Error(`${displayName(path)}:${lineNo}: ${err.message}`);
      skipped++;
      return;
    }
    rows++;
    onRow(row, Math.ceil((rows * size * 1.02) / bytes) + 64);
  }, { onChunk: () => o.onProgress?.(o.phase, rows) });
  return skipped;
}

export interface Counted {
  tables: KeyTable[];
  fieldNames: string[];
  /** Per row and field: table entry index (row-major). */
  entries: Int32Array;
  labels: Float32Array;
  n: number;
  skipped: number;
}

export async function countTrain(path: string, parser: RowParser, o: PassOptions): Promise<Counted> {
  let tables: KeyTable[] = [];
  const entries = new GrowI32(1 << 20);
  const labels = new GrowF32(1 << 16);
  const skipped = await eachRow(path, parser, (row, est) => {
    const F = row.nf;
    if (tables.length === 0) tables = Array.from({ length: F }, () => new KeyTable());
    const at = entries.reserve(F, est * F);
    const out = entries.data;
    const keys = row.keys32, st = row.starts, en = row.ends, h = row.hashes;
    for (let j = 0; j < F; j++) out[at + j] = tables[j].add(keys, st[j], en[j], h[j]);
    entries.len += F;
    labels.push(row.label, est);
  }, o);
  if (labels.len === 0) throw new Error(`${displayName(path)}: no data rows`);
  return { tables, fieldNames: parser.fieldNames.slice(), entries: entries.trim(), labels: labels.trim(), n: labels.len, skipped };
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
  path: string, parser: RowParser, c: Counted, remaps: Int32Array[], oov: number[], o: PassOptions,
): Promise<EncodedSplit> {
  const F = c.tables.length;
  const ids = new GrowI32(1 << 18);
  const labels = new GrowF32(1 << 14);
  let checked = false;
  const skipped = await eachRow(path, parser, (row, est) => {
    if (!checked) {
      checked = true;
      if (parser.fieldNames.join('\u0000') !== c.fieldNames.join('\u0000')) {
        throw new Error(`${displayName(path)}: fields [${parser.fieldNames}] differ from train's [${c.fieldNames}]`);
      }
    }
    const at = ids.reserve(F, est * F);
    const out = ids.data;
    const keys = row.keys32, st = row.starts, en = row.ends, h = row.hashes, tables = c.tables;
    for (let j = 0; j < F; j++) {
      const e = tables[j].find(keys, st[j], en[j], h[j]);
      out[at + j] = e < 0 ? oov[j] : remaps[j][e];
    }
    ids.len += F;
    labels.push(row.label, est);
  }, o);
  return { n: labels.len, numFields: F, ids: ids.trim(), labels: labels.trim(), skipped };
}
