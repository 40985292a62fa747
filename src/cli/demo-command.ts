// `alpt demo` (npm start): the main job on a built-in default — synthesise a Criteo-like dataset,
// train a DCN with ALPT 8-bit embeddings, print the final metrics.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeSynthetic } from '../data/index.js';
import { configFromCommand } from './train-options.js';
import { trainAndReport } from './train-command.js';
import { defaultCacheDir } from '../train/run.js';

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
  });
  await trainAndReport(cfg);
}
