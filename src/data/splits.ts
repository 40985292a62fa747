// Finds train/valid/test files in a folder and guesses the format from the train file's first line
// (the extension only when the content says nothing).
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataFormat } from './types.js';

const EXT: Record<string, DataFormat> = { libfm: 'libfm', svm: 'libfm', txt: 'criteo', tsv: 'criteo' };

export function findSplits(dir: string): { train: string; valid?: string; test?: string; format?: DataFormat; formatWhy?: string } {
  const files = readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
  const pick = (...stems: string[]): string | undefined => {
    const f = files.find((name) => stems.includes(name.slice(0, name.indexOf('.') < 0 ? name.length : name.indexOf('.'))));
    return f ? join(dir, f) : undefined;
  };
  const train = pick('train');
  if (!train) throw new Error(`no train.* file in ${dir}`);
  const valid = pick('valid', 'validation', 'val');
  const test = pick('test');
  const g = guessFormatWhy(train);
  return { train, valid, test, format: g?.format, formatWhy: g?.why };
}

export function guessFormat(path: string): DataFormat | undefined {
  return guessFormatWhy(path)?.format;
}

const LIBFM_LINE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(\s+[^\s:]+:[^\s:]+)+\s*$/;

/**
 * The format of a data file from its first line, the extension only as a last resort: a libFM line
 * (`label id:val …`), Criteo's 40 tab-separated columns, Avazu's header (click and hour), a CSV header.
 * `why` says what decided it (printed, so a wrong guess is visible).
 */
export function guessFormatWhy(path: string): { format: DataFormat; why: string } | undefined {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'parquet') return { format: 'parquet', why: 'extension .parquet' };
  let line = '';
  try {
    line = headLine(path).replace(/^\uFEFF/, '');
  } catch {
    /* unreadable here: the loader will say so */
  }
  if (line) {
    if (LIBFM_LINE.test(line)) return { format: 'libfm', why: 'line 1 is `label id:value …`' };
    const tabs = line.split('\t').length;
    if (tabs === 40) return { format: 'criteo', why: 'line 1 has 40 tab-separated columns' };
    const header = line.split(',').map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
    if (header.includes('click') && header.includes('hour')) return { format: 'avazu', why: 'line 1 is a CSV header with click and hour' };
    if (ext === 'csv') return { format: 'csv', why: 'extension .csv (give --schema)' };
    if (tabs > 1 && EXT[ext] === 'criteo') return undefined; // tab-separated but not Criteo's 40 columns
  }
  const f = EXT[ext];
  return f ? { format: f, why: `extension .${ext}` } : undefined;
}

function headLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 14);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const s = buf.toString('utf8', 0, n);
    const nl = s.indexOf('\n');
    return (nl < 0 ? s : s.slice(0, nl)).replace(/^\uFEFF/, '').replace(/\r$/, '');
  } finally {
    closeSync(fd);
  }
}
