// Parses a text file into batches of rows, one batch per read chunk, in file order. The same code
// runs in this thread or in a parse worker (see parse-worker.ts), so both give the same rows.
import { basename, dirname, join } from 'node:path';
import type { CsvSchema, DataFormat } from './types.js';
import { makeParser } from './formats.js';
import { forEachLine } from './lines.js';
import { BadFile, BadRow, RowBatch } from './row.js';
import { parseParquetRows } from './parquet.js';

/** What makeParser needs (plain data, so a worker can build the same parser). */
export interface ParserSpec {
  format: DataFormat;
  schema?: CsvSchema;
  numFields?: number;
}

/** Progress of a parse, sent along with each batch. */
export interface ParseProgress {
  /** Bytes of the lines read so far (for estimating the file's total rows). */
  bytes: number;
  /** Bad rows skipped so far. */
  skipped: number;
  fieldNames: string[];
  /** The header line, for formats that have one. */
  header?: string;
}

/** Short name for messages: `criteo10k/train.txt`. */
export function displayName(path: string): string {
  return join(basename(dirname(path)), basename(path));
}

/**
 * Calls onBatch with the rows of each chunk (it must take what it needs before returning or
 * resolving; the batch is then refilled). Bad rows throw `file:line: field ...` or are skipped.
 */
export async function parseRows(
  path: string, spec: ParserSpec, skipBad: boolean, chunkSize: number,
  onBatch: (rows: RowBatch, p: ParseProgress) => void | Promise<void>,
): Promise<ParseProgress> {
  if (spec.format === 'parquet') return parseParquetRows(path, spec.schema, skipBad, displayName(path), onBatch);
  const parser = makeParser(spec.format, spec.schema, spec.numFields);
  const rows = new RowBatch();
  const progress: ParseProgress = { bytes: 0, skipped: 0, fieldNames: parser.fieldNames };
  let header = parser.hasHeader;
  await forEachLine(path, (buf, s, e, lineNo) => {
    progress.bytes += e - s + 1;
    try {
      if (header) {
        header = false;
        progress.header = buf.toString('utf8', s, e);
        parser.setHeader(progress.header);
        return;
      }
      parser.parse(buf, s, e, rows);
    } catch (err) {
      if (!(err instanceof BadRow || err instanceof BadFile)) throw err;
      rows.drop();
      if (!skipBad || err instanceof BadFile) throw new Error(`${displayName(path)}:${lineNo}: ${err.message}`);
      progress.skipped++;
      return;
    }
    rows.keep();
  }, {
    chunkSize,
    onChunk: async () => {
      progress.fieldNames = parser.fieldNames;
      await onBatch(rows, progress);
      rows.clear();
    },
  });
  progress.fieldNames = parser.fieldNames;
  return progress;
}
