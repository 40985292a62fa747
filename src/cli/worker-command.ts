// `alpt worker` (one rank of a distributed run, e.g. one per machine) and the distributed branch
// of `alpt train --store … --workers N` (rank 0 here, ranks 1..N-1 as child processes).

import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { configFromCommand } from './train-options.js';
import { progressHooks } from './progress.js';
import { runDistributed } from '../distributed/run.js';
import { writeFileAtomic } from '../util/atomic.js';
import { DEFAULTS, validateConfig, type TrainConfig } from '../train/config.js';

/** The distributed flags: not part of TrainConfig. */
const DIST_KEYS = ['store', 'workers', 'rank', 'world', 'run', 'storeTimeout', 'syncEvery', 'buckets', 'resume', 'storeConflicts', 'denseSync'] as const;

const posInt = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got "${v}"`);
  return n;
};
const nonNegInt = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a non-negative integer, got "${v}"`);
  return n;
};
const posNum = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${flag} must be a positive number, got "${v}"`);
  return n;
};

const oneOf = (flag: string, values: string[]) => (v: string) => {
  if (!values.includes(v)) throw new InvalidArgumentError(`${flag} must be one of ${values.join(', ')}, got "${v}"`);
  return v;
};

/** The flags shared by `train --store` and `worker`. */
export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--store <urls>', 'distributed: embedding rows on a Redis Cluster, redis://HOST:PORT[,HOST:PORT…]')
    .option('--store-timeout <seconds>', 'distributed: stop with an error when the cluster does not answer for this long', posNum('--store-timeout'), 30)
    .option('--sync-every <steps>', 'distributed: average the dense parameters every K steps (and at every epoch end)', posInt('--sync-every'), 50)
    .option('--buckets <n>', 'distributed: hash-tag buckets of the row keys', posInt('--buckets'), 64)
    .option('--store-conflicts <rule>', 'distributed: a row written by another worker since this one read it: last-writer (overwrite it) or retry (re-apply this gradient to the current row, conditional write)', oneOf('--store-conflicts', ['last-writer', 'retry']), 'retry')
    .option('--dense-sync <how>', 'distributed: dense parameters by model averaging every --sync-every steps (model) or gradient averaging every step (grad)', oneOf('--dense-sync', ['model', 'grad']), 'model');
}

function splitConfig(cmd: Command): { cfg: TrainConfig; o: Record<string, unknown> } {
  const o = cmd.opts();
  const env = process.env.ALPT_WORKER_CONFIG;
  let cfg: TrainConfig;
  if (env) {
    cfg = validateConfig({ ...DEFAULTS, ...(JSON.parse(env) as Partial<TrainConfig>) });
  } else {
    cfg = configFromCommand(cmd);
  }
  const c = cfg as unknown as Record<string, unknown>;
  for (const k of DIST_KEYS) delete c[k];
  return { cfg, o };
}

/** The distributed flags are refused without --store (they would be silently ignored). */
export function checkStoreFlags(cmd: Command): void {
  if (cmd.opts().store) return;
  for (const [k, flag] of [['workers', '--workers'], ['storeTimeout', '--store-timeout'], ['syncEvery', '--sync-every'], ['buckets', '--buckets'], ['storeConflicts', '--store-conflicts'], ['denseSync', '--dense-sync']]) {
    if (cmd.getOptionValueSource(k) === 'cli') throw new Error(`${flag} needs --store redis://HOST:PORT (a Redis Cluster)`);
  }
}

/** `alpt train … --store URL [--workers N]`: this process is rank 0. */
export async function runTrainDistributed(cmd: Command): Promise<void> {
  const { cfg, o } = splitConfig(cmd);
  const world = (o.workers as number | undefined) ?? 1;
  await coordinate(cfg, {
    store: o.store as string, rank: 0, world, run: (o.run as string | undefined) ?? `r${randomBytes(4).toString('hex')}`,
    spawnWorkers: true, resume: !!o.resume, storeTimeoutMs: (o.storeTimeout as number) * 1000,
    syncEvery: o.syncEvery as number, buckets: o.buckets as number,
    conflicts: o.storeConflicts as 'last-writer' | 'retry', denseSync: o.denseSync as 'model' | 'grad',
  });
}

async function coordinate(cfg: TrainConfig, d: Parameters<typeof runDistributed>[1]): Promise<void> {
  const hooks = progressHooks(cfg.progress, '');
  const t0 = performance.now();
  if (cfg.out) {
    mkdirSync(cfg.out, { recursive: true });
    writeFileSync(join(cfg.out, 'config.json'), JSON.stringify(cfg, null, 2));
  }
  const log = (m: string) => {
    if (cfg.progress !== 'none') process.stderr.write(m + '\n');
  };
  try {
    const summary = await runDistributed(cfg, { ...d, hooks, log });
    hooks.close();
    if (!summary) return;
    const full = { ...summary, seconds: (performance.now() - t0) / 1000 };
    if (cfg.out) writeFileAtomic(join(cfg.out, 'summary.json'), [JSON.stringify(full, null, 2) + '\n']);
    const ds = summary.distributed;
    log(`test AUC ${summary.test_auc?.toFixed(4) ?? 'n/a'} with ${ds.world} worker(s); ${ds.wire_bytes_per_sample.toFixed(0)} store bytes/sample, ${ds.retried_commands} retried commands, ${ds.lost_row_writes} lost row writes`);
    process.stdout.write(JSON.stringify(full) + '\n');
  } finally {
    hooks.close();
  }
}

/** `alpt worker --store URL --rank R --world N [--run ID]` (rank 0 coordinates: evaluates, writes the files). */
export async function runWorker(cmd: Command): Promise<void> {
  const { cfg, o } = splitConfig(cmd);
  if (!o.store) throw new Error('alpt worker: --store is required');
  const d = {
    store: o.store as string, rank: o.rank as number, world: o.world as number, run: (o.run as string | undefined) ?? 'alpt',
    spawnWorkers: false, resume: !!o.resume, storeTimeoutMs: (o.storeTimeout as number) * 1000,
    syncEvery: o.syncEvery as number, buckets: o.buckets as number,
    conflicts: o.storeConflicts as 'last-writer' | 'retry', denseSync: o.denseSync as 'model' | 'grad',
  };
  if (d.rank === 0) return coordinate(cfg, d);
  await runDistributed({ ...cfg, progress: 'none' }, { ...d, log: (m) => process.stderr.write(m + '\n') });
}

export const workerFlags = { posInt, nonNegInt };
