// `alpt compare`: the paper's comparison in one command — methods × bit widths × seeds on one
// dataset, trained one after another in this process (same data, same backend), then a table of
// mean ± std test AUC/logloss, table bytes and time per epoch (Markdown on stdout, CSV + JSON files).

import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { configFromCommand } from './train-options.js';
import { progressHooks } from './progress.js';
import { train, loadRunData } from '../train/run.js';
import { createBackend } from '../kernels/index.js';
import { EMBEDDING_METHODS, type EmbeddingMethod } from '../train/config.js';
import type { TrainSummary } from '../train/trainer.js';
import { writeFileAtomic } from '../util/atomic.js';
import { fp32AdamBytesPerRow, summarizeGrid, toCsv, toMarkdown } from '../train/compare-table.js';

export async function runCompare(cmd: Command): Promise<void> {
  const o = cmd.opts();
  const bitsList: number[] = Array.isArray(o.bits) ? o.bits : [8, 4, 2];
  const base = configFromCommand(cmd, {}, { bits: bitsList[0] });
  const methods = String(o.methods).split(',').map((m) => m.trim()) as EmbeddingMethod[];
  for (const m of methods) if (!EMBEDDING_METHODS.includes(m)) throw new Error(`--methods: unknown method "${m}" (expected ${EMBEDDING_METHODS.join(', ')})`);
  const seedsArg = String(o.seeds);
  const seeds = seedsArg.includes(',') ? seedsArg.split(',').map(Number) : Array.from({ length: Number(seedsArg) }, (_, i) => i + 1);
  if (seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds: expected a count or a list of integers, got "${seedsArg}"`);
  const dir = o.results as string;
  mkdirSync(dir, { recursive: true });
  const runsPath = join(dir, 'runs.jsonl');

  const data = await loadRunData(base);
  const backend = await createBackend({ kind: base.backend, threads: base.threads || undefined });
  const results: TrainSummary[] = [];
  try {
    const grid: { method: EmbeddingMethod; bits: number }[] = [];
    for (const method of methods) {
      if (method === 'fp32') grid.push({ method, bits: 32 });
      else for (const bits of bitsList) grid.push({ method, bits });
    }
    let i = 0;
    for (const g of grid) {
      for (const seed of seeds) {
        i++;
        const label = `[${i}/${grid.length * seeds.length} ${g.method}${g.method === 'fp32' ? '' : '-' + g.bits} seed ${seed}] `;
        const cfg = { ...base, embedding: g.method, bits: g.method === 'fp32' ? 8 : g.bits, seed, out: undefined };
        const hooks = progressHooks(base.progress, label);
        const s = await train(cfg, { data, backend, hooks });
        hooks.close();
        process.stderr.write(`${label}test auc ${s.test_auc?.toFixed(5)}  logloss ${s.test_logloss?.toFixed(5)}  best epoch ${s.best_epoch}\n`);
        results.push(s);
        appendFileSync(runsPath, JSON.stringify(s) + '\n');
      }
    }
  } finally {
    backend.dispose();
  }
  const rows = summarizeGrid(results, fp32AdamBytesPerRow(base.dim));
  writeFileAtomic(join(dir, 'compare.json'), [JSON.stringify({ config: base, seeds, rows, runs: results }, null, 2) + '\n']);
  writeFileAtomic(join(dir, 'compare.csv'), [toCsv(rows)]);
  const md = toMarkdown(rows, base, seeds);
  writeFileAtomic(join(dir, 'compare.md'), [md]);
  process.stdout.write(md);
}
