// Finds train/valid/test files in a folder and guesses the format from extension (and CSV header).
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataFormat } from './types.js';

const EXT: Record<string, DataFormat> = { libfm: 'libfm', svm: 'libfm', txt: 'criteo', tsv: 'criteo' };

export function findSplits(dir: string): { train: string; valid?: string; test?: string; format?: DataFormat } {
  const files = readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
  const pick = (...stems: string[]): string | undefined => {
    const f = files.find((name) => stems.includes(name.slice(0, name.indexOf('.') < 0 ? name.length : name.indexOf('.'))));
    return f ? join(dir, f) : undefined;
  };
  const train = pick('train');
  if (!train) throw new Error(`no train.* file in ${dir}`);
  const valid = pick('valid', 'validation', 'val');
  const test = pick('test');
  return { train, valid, test, format: guessFormat(train) };
}

export function guessFormat(path: string): DataFormat | undefined {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'csv') {
    const header = headLine(path).split(',');
    return header.includes('click') && header.includes('hour') ? 'avazu' : 'csv';
  }
  return EXT[ext];
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
