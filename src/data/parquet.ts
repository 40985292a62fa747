// Parquet input (--format parquet) with the CSV schema (label, categorical, numeric columns), read
// one row group at a time through hyparquet, so memory is bounded by the largest row group, not the
// file. Rows go into the same RowBatch as the text parsers, with the key bytes the CSV parser makes
// for the same table: text cells as their UTF-8 bytes, integers in decimal, a missing value (null)
// as the empty cell, numeric columns through the same buckets/rules. So a CSV and a Parquet file of
// the same table get the same vocabulary and ids (floats in categorical columns excepted: JS prints
// 1.0 as "1" where pandas writes "1.0").
import { statSync } from 'node:fs';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { CsvSchema } from './types.js';
import { numericKey } from './formats.js';
import { BadRow, RowBatch } from './row.js';
import type { ParseProgress } from './parse-rows.js';

const enc = new TextEncoder();

/** Parquet column names (top level) of a file. */
export async function parquetColumns(path: string): Promise<string[]> {
  const file = await asyncBufferFromFile(path);
  const meta = await parquetMetadataAsync(file);
  return parquetSchema(meta).children.map((c) => c.element.name);
}

function keyBytes(v: unknown): Uint8Array | string {
  if (v === null || v === undefined) return '';
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return /^[\x00-\x7f]*$/.test(v) ? v : enc.encode(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function toNumber(v: unknown, field: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  const s = v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v);
  const n = s.trim() === '' ? NaN : Number(s);
  if (Number.isNaN(n)) throw new BadRow(`field ${field}: ${JSON.stringify(s)} is not a number`);
  return n;
}

/**
 * parseRows for a Parquet file: onBatch gets each row group's rows (`file: row N: field X: …` on a
 * bad value, or skipped and counted with skipBad).
 */
export async function parseParquetRows(
  path: string, schema: CsvSchema | undefined, skipBad: boolean, displayName: string,
  onBatch: (rows: RowBatch, p: ParseProgress) => void | Promise<void>,
): Promise<ParseProgress> {
  if (!schema) throw new Error('format parquet needs a schema (--schema: label, categorical, numeric columns)');
  const file = await asyncBufferFromFile(path);
  const meta = await parquetMetadataAsync(file);
  const columns = parquetSchema(meta).children.map((c) => c.element.name);
  const col = (c: string | number): string => {
    if (typeof c === 'number') {
      if (!Number.isInteger(c) || c < 0 || c >= columns.length) throw new Error(`${displayName}: schema column index ${c} out of range (columns: ${columns.join(', ')})`);
      return columns[c];
    }
    if (!columns.includes(c)) throw new Error(`${displayName}: schema: no column ${JSON.stringify(c)} in the Parquet file (columns: ${columns.join(', ')})`);
    return c;
  };
  const label = col(schema.label);
  const cats = schema.categorical.map(col);
  const numeric = schema.numeric ?? [];
  const nums = numeric.map((n) => col(n.column));
  const needed = [...new Set([label, ...cats, ...nums])];
  const progress: ParseProgress = {
    bytes: 0, skipped: 0, fieldNames: [...cats, ...nums],
    header: columns.join(schema.delimiter ?? ','),
  };
  const size = statSync(path).size;
  const total = Number(meta.num_rows);
  const rows = new RowBatch();
  const th = schema.labelThreshold;
  let groupStart = 0;
  for (const rg of meta.row_groups) {
    const n = Number(rg.num_rows);
    const groupEnd = groupStart + n;
    const data = new Map<string, unknown[]>(needed.map((c) => [c, new Array<unknown>(n)]));
    await parquetRead({
      file, metadata: meta, columns: needed, rowStart: groupStart, rowEnd: groupEnd, utf8: false,
      onChunk: ({ columnName, columnData, rowStart }) => {
        const out = data.get(columnName);
        if (!out) return;
        for (let i = 0; i < columnData.length; i++) {
          const r = rowStart + i;
          if (r >= groupStart && r < groupEnd) out[r - groupStart] = columnData[i];
        }
      },
    });
    const lab = data.get(label)!;
    const catData = cats.map((c) => data.get(c)!);
    const numData = nums.map((c) => data.get(c)!);
    for (let i = 0; i < n; i++) {
      try {
        const keys = catData.map((d) => keyBytes(d[i]));
        rows.begin(keys.reduce((s, k) => s + k.length + 4, 0) + 36 * nums.length + 256);
        const y = lab[i];
        if (y === null || y === undefined) throw new BadRow(`field ${label}: missing label`);
        const yv = toNumber(y, label);
        rows.label = th === undefined ? yv : yv >= th ? 1 : 0;
        for (const k of keys) {
          if (typeof k === 'string') rows.pushAscii(k);
          else rows.pushBytes(k, 0, k.length);
        }
        for (let j = 0; j < nums.length; j++) {
          const v = numData[j][i];
          if (v === null || v === undefined) rows.endField(rows.pos);
          else rows.pushAscii(numericKey(toNumber(v, nums[j]), numeric[j]));
        }
      } catch (err) {
        if (!(err instanceof BadRow)) throw err;
        rows.drop();
        if (!skipBad) throw new Error(`${displayName}: row ${groupStart + i + 1}: ${err.message}`);
        progress.skipped++;
        continue;
      }
      rows.keep();
    }
    groupStart = groupEnd;
    progress.bytes = total > 0 ? Math.max(1, Math.round((size * groupStart) / total)) : size;
    await onBatch(rows, progress);
    rows.clear();
  }
  return progress;
}
