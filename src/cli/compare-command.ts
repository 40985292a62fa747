// `alpt compare`: the paper's comparison in one command — methods × bit widths × seeds on one
// dataset, trained one after another in this process (same data, same backend), then a table of
// mean ± std test AUC/logloss, table bytes and time per epoch (Markdown on stdout, CSV + JSON files).

import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { configFromCommand } from './train-options.js';
import { progressHooks } from './progress.js';
import { train, loadRunData } from '../train/run.js';
import { DEFAULTS, EMBEDDING_METHODS, type EmbeddingMethod, type TrainConfig } from '../train/config.js';
import type { TrainSummary } from '../train/trainer.js';
import { writeFileAtomic } from '../util/atomic.js';
import { fp32AdamBytesPerRow, summarizeGrid, toCsv, toMarkdown } from '../train/compare-table.js';
import { writeCompareHtml } from '../report/compare-html.js';

/** Tabulate runs already made (runs.jsonl files of earlier compare runs, e.g. a grid split across processes). */
function tableFromRuns(files: string[], dir: string): Promise<void> {
  const runs: TrainSummary[] = files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l) as TrainSummary;
        } catch {
          throw new Error(`${f}:${i + 1}: not a JSON summary line`);
        }
      }),
  );
  if (runs.length === 0) throw new Error(`--from-runs: no runs in ${files.join(', ')}`);
  writeReport(runs, dir);
  return writeCompareHtml(runs, dir, null, files);
}

function writeReport(results: TrainSummary[], dir: string, cfg?: TrainConfig, seeds?: number[]): void {
  const base = cfg ?? ({ ...DEFAULTS, model: results[0].model, dim: results[0].dim } as TrainConfig);
  const seedList = seeds ?? [...new Set(results.map((r) => r.seed))];
  const rows = summarizeGrid(results, fp32AdamBytesPerRow(base.dim));
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'compare.json'), [JSON.stringify({ config: cfg ?? null, seeds: seedList, rows, runs: results }, null, 2) + '\n']);
  writeFileAtomic(join(dir, 'compare.csv'), [toCsv(rows)]);
  const md = toMarkdown(rows, base, seedList, !cfg);
  writeFileAtomic(join(dir, 'compare.md'), [md]);
  process.stdout.write(md);
}

export async function runCompare(cmd: Command): Promise<void> {
  const o = cmd.opts();
  if (o.fromRuns) return tableFromRuns(String(o.fromRuns).split(','), o.results as string);
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
  const results: TrainSummary[] = [];
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
      // No shared backend: train() makes one per run and disposes it, so the run's tables leave
      // the WebAssembly heap with it instead of piling up over a long grid.
      const s = await train(cfg, { data, hooks }).finally(() => hooks.close());
      process.stderr.write(`${label}test auc ${s.test_auc?.toFixed(5)}  logloss ${s.test_logloss?.toFixed(5)}  best epoch ${s.best_epoch}\n`);
      results.push(s);
      appendFileSync(runsPath, JSON.stringify(s) + '\n');
    }
  }
  writeReport(results, dir, base, seeds);
  await writeCompareHtml(results, dir, base, [dir]);
}
