// `alpt demo` (npm start): the main job on a built-in default — synthesise a Criteo-like dataset,
// train a DCN with ALPT 8-bit embeddings (--memory-light: row-wise Adagrad, f16 step sizes), print the final metrics and
// the memory against fp32 + Adam, and write runs/demo/report.html.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeSynthetic } from '../data/index.js';
import { configFromCommand } from './train-options.js';
import { trainAndReport } from './train-command.js';
import { defaultCacheDir } from '../train/run.js';
import { writeReport } from '../report/index.js';
import type { TrainSummary } from '../train/trainer.js';

export async function runDemo(cmd: Command): Promise<void> {
  const rows = Number(cmd.opts().rows ?? 200000);
  const dir = join(defaultCacheDir(), `demo-synth-${rows}`);
  if (!existsSync(join(dir, 'test.txt'))) {
    process.stderr.write(`writing ${rows} synthetic Criteo-like rows to ${dir}\n`);
    await writeSynthetic({ dir, rows, seed: 1 });
  }
  const cfg = configFromCommand(cmd, {
    data: dir,
    format: 'criteo',
    model: 'dcn',
    embedding: 'alpt',
    bits: 8,
    mlp: [256, 128],
    batch: 2048,
    epochs: 3,
    // The lightest memory settings (--memory-light): one Adagrad accumulator per row,
    // half-precision step sizes, no step-size optimizer state.
    memoryLight: true,
    out: 'runs/demo',
  });
  await trainAndReport(cfg);
  if (!cfg.out) return;
  const s = JSON.parse(readFileSync(join(cfg.out, 'summary.json'), 'utf8')) as TrainSummary;
  const ref = s.dim * 12;
  process.stderr.write(
    `demo: ${s.embedding} ${s.bits}-bit table ${s.table_bytes_per_row.toFixed(1)} bytes/row vs ${ref} for fp32 + Adam ` +
      `(${(ref / s.table_bytes_per_row).toFixed(1)}× smaller; ${(s.table_bytes / 2 ** 20).toFixed(1)} MiB for ${s.rows} rows instead of ${((s.rows * ref) / 2 ** 20).toFixed(1)} MiB)\n`,
  );
  const html = join(cfg.out, 'report.html');
  await writeReport([cfg.out], html, `alpt demo: DCN, ${s.embedding} ${s.bits}-bit embeddings on synthetic Criteo-like data`);
  process.stderr.write(`demo: report written to ${html}\n`);
}
