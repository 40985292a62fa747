// `alpt bench`: time training steps on synthetic batches; one JSON line on stdout.
import type { Command } from 'commander';
import { configFromCommand } from './train-options.js';
import { benchTraining } from '../train/bench.js';
import { createBackend } from '../kernels/index.js';
import { profileBackend, type KernelProfile } from '../kernels/profile.js';

export async function runBench(cmd: Command): Promise<void> {
  const o = cmd.opts();
  const cfg = configFromCommand(cmd, { batch: 4096, mlp: [1024, 512, 256] });
  if (cfg.hashRows || cfg.hashRowsTotal !== undefined) {
    throw new Error('alpt bench draws synthetic ids and reads no data: --hash-rows has nothing to hash; give the table size with --rows-per-field');
  }
  let backend = await createBackend({ kind: cfg.backend, threads: cfg.threads || undefined });
  let profile: KernelProfile | undefined;
  if (o.profileOps) ({ backend, profile } = profileBackend(backend));
  try {
    const zipfExponent = Number(o.zipfExponent);
    if (!(zipfExponent > 0)) throw new Error(`--zipf-exponent must be a number > 0, got '${o.zipfExponent}'`);
    const r = benchTraining(cfg, {
      fields: Number(o.fields), rowsPerField: Number(o.rowsPerField), steps: Number(o.steps), warmup: Number(o.warmup), profile,
      ids: o.ids, zipfExponent, checkpointDir: o.checkpointBench,
    }, backend);
    process.stdout.write(JSON.stringify(r) + '\n');
  } finally {
    backend.dispose();
  }
}
