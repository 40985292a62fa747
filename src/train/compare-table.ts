// Aggregation of a compare grid: per method and bit width, mean ± std over seeds.

import type { TrainSummary } from './trainer.js';
import type { TrainConfig } from './config.js';

export interface GridRow {
  method: string;
  bits: number;
  seeds: number;
  test_auc_mean: number;
  test_auc_std: number;
  test_logloss_mean: number;
  test_logloss_std: number;
  table_bytes: number;
  bytes_per_row: number;
  ratio_to_fp32_adam: number;
  seconds_per_epoch: number;
  epochs_mean: number;
  per_seed_auc: number[];
}

/** fp32 values + lazy Adam (m, v): 12 bytes per element. */
export const fp32AdamBytesPerRow = (dim: number) => dim * 12;

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
/** Sample standard deviation (n − 1), as reported by torch_ref's results table. */
const std = (a: number[]) => (a.length < 2 ? 0 : Math.sqrt(a.reduce((s, x) => s + (x - mean(a)) ** 2, 0) / (a.length - 1)));

export function summarizeGrid(runs: TrainSummary[], fp32AdamRow: number): GridRow[] {
  const groups = new Map<string, TrainSummary[]>();
  for (const r of runs) {
    const k = `${r.embedding}|${r.bits}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return [...groups.values()].map((g) => {
    const aucs = g.map((r) => r.test_auc ?? NaN);
    const lls = g.map((r) => r.test_logloss ?? NaN);
    return {
      method: g[0].embedding,
      bits: g[0].bits,
      seeds: g.length,
      test_auc_mean: mean(aucs),
      test_auc_std: std(aucs),
      test_logloss_mean: mean(lls),
      test_logloss_std: std(lls),
      table_bytes: g[0].table_bytes,
      bytes_per_row: g[0].table_bytes_per_row,
      ratio_to_fp32_adam: g[0].table_bytes_per_row / fp32AdamRow,
      seconds_per_epoch: mean(g.map((r) => r.seconds_per_epoch)),
      epochs_mean: mean(g.map((r) => r.epochs_run)),
      per_seed_auc: aucs,
    };
  });
}

export function toCsv(rows: GridRow[]): string {
  const cols = ['method', 'bits', 'seeds', 'test_auc_mean', 'test_auc_std', 'test_logloss_mean', 'test_logloss_std', 'table_bytes', 'bytes_per_row', 'ratio_to_fp32_adam', 'seconds_per_epoch', 'epochs_mean'] as const;
  return [cols.join(','), ...rows.map((r) => cols.map((c) => r[c]).join(','))].join('\n') + '\n';
}

export function toMarkdown(rows: GridRow[], cfg: TrainConfig, seeds: number[], fromRuns = false): string {
  const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const lines = [
    `| method | bits | test AUC (mean ± std) | test logloss | bytes/row | table bytes | vs fp32+Adam | s/epoch | epochs |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.method} | ${r.method === 'fp32' ? 32 : r.bits} | ${f(r.test_auc_mean, 4)} ± ${f(r.test_auc_std, 4)} | ${f(r.test_logloss_mean, 4)} | ${f(r.bytes_per_row, 1)} | ${r.table_bytes} | ${f(r.ratio_to_fp32_adam, 3)} | ${f(r.seconds_per_epoch, 1)} | ${f(r.epochs_mean, 1)} |`,
    ),
  ];
  const head = fromRuns
    ? `model ${cfg.model}, dim ${cfg.dim}, seeds ${seeds.join(',')} (tabulated from saved runs)`
    : `model ${cfg.model}, dim ${cfg.dim}, mlp ${cfg.mlp.join(',')}, batch ${cfg.batch}, lr ${cfg.lr}, sparse optimizer ${cfg.sparseOptimizer}, step lr ${cfg.stepLr} (${cfg.stepLrScale}), seeds ${seeds.join(',')}`;
  return `${head}\n\n${lines.join('\n')}\n`;
}
