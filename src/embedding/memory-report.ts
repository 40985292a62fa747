// Memory per method, bit width and sparse optimizer, measured by allocating real tables.
import { createTable } from './factory.js';
import type { MemoryReport, SparseOptimizerName } from './table.js';
import type { EmbeddingMethod } from '../train/config.js';

export interface MemoryRow extends MemoryReport {
  method: EmbeddingMethod;
  bits: number;
  optimizer: SparseOptimizerName;
  ratioToFp32Adam: number;
}

export function memoryGrid(o: {
  rows: number;
  dim: number;
  bits: number[];
  methods: EmbeddingMethod[];
  optimizers: SparseOptimizerName[];
  stepDtype?: 'f32' | 'f16';
  stepOptimizer?: 'adam' | 'adagrad' | 'sgd';
}): MemoryRow[] {
  const out: MemoryRow[] = [];
  const fp32Adam = createTable({ method: 'fp32', rows: o.rows, dim: o.dim, bits: 32, seed: 1, optimizer: { name: 'adam', lr: 1e-3 } }).memory().bytesPerRow;
  for (const optimizer of o.optimizers) {
    for (const method of o.methods) {
      for (const bits of method === 'fp32' ? [32] : o.bits) {
        const t = createTable({ method, rows: o.rows, dim: o.dim, bits: method === 'fp32' ? 32 : bits, seed: 1, optimizer: { name: optimizer, lr: 1e-3 }, stepDtype: o.stepDtype, stepOptimizer: o.stepOptimizer });
        const m = t.memory();
        out.push({ method, bits, optimizer, ...m, ratioToFp32Adam: m.bytesPerRow / fp32Adam });
      }
    }
  }
  return out;
}

export function memoryMarkdown(rows: MemoryRow[]): string {
  const per = (x: number, n: number) => (x / n).toFixed(2).replace(/\.00$/, '');
  const lines = [
    '| method | bits | sparse optimizer | codes | steps | optimizer state | step optimizer | fp32 master | bytes/row | vs fp32+Adam |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${r.bits} | ${r.optimizer} | ${per(r.codes, r.rows)} | ${per(r.steps, r.rows)} | ${per(r.optimizerState, r.rows)} | ${per(r.stepOptimizerState, r.rows)} | ${per(r.master, r.rows)} | ${per(r.total, r.rows)} | ${r.ratioToFp32Adam.toFixed(3)} |`,
    ),
  ];
  return `bytes per row (d = ${rows[0]?.dim}, ${rows[0]?.rows} rows allocated)\n\n${lines.join('\n')}\n`;
}
