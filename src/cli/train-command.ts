// `alpt train`: one run from flags and/or a YAML file; progress on stderr, summary JSON on stdout.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { configFromCommand } from './train-options.js';
import { dataProgress, progressHooks } from './progress.js';
import { train, loadRunData } from '../train/run.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { TrainConfig } from '../train/config.js';
import { checkResumeConfig } from '../train/resume-check.js';
import { readTensorFile } from '../util/tensor-file.js';
import { checkStoreFlags, runTrainDistributed } from './worker-command.js';

export async function runTrain(cmd: Command): Promise<void> {
  if (cmd.opts().store) return runTrainDistributed(cmd);
  checkStoreFlags(cmd);
  const cfg = configFromCommand(cmd);
  const resume = cmd.opts().resume as boolean | undefined;
  if (resume && !cfg.out) throw new Error('--resume needs --out DIR: the run folder holding checkpoint.alpt');
  await trainAndReport(cfg, resume);
}

/** Refuse a resume that cannot work before anything in the run folder is touched. */
function checkResumable(checkpoint: string, cfg: TrainConfig): void {
  if (!existsSync(checkpoint)) throw new Error(`--resume: ${checkpoint}: no checkpoint to resume from`);
  checkResumeConfig(checkpoint, readTensorFile(checkpoint, undefined, { headerOnly: true }).meta?.config, cfg);
}

export async function trainAndReport(cfg: TrainConfig, resume = false, label = ''): Promise<void> {
  const checkpoint = resume && cfg.out ? join(cfg.out, 'checkpoint.alpt') : undefined;
  // config.json describes the checkpoint: it is only rewritten once the settings are known to match.
  if (checkpoint) checkResumable(checkpoint, cfg);
  const hooks = progressHooks(cfg.progress, label);
  const t0 = performance.now();
  const data = await loadRunData(cfg, dataProgress(cfg.progress, label));
  // Ingest cost (parse + encode, or the cache read): peak RSS so far is the ingest's, training has not allocated yet.
  const ingest = { data_seconds: (performance.now() - t0) / 1000, data_peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024) };
  if (cfg.progress !== 'none') {
    const v = data.vocab;
    const h = v.hash;
    const hashed = h ? ` (hashed ids: ${new Set(h.rows).size === 1 ? `${h.rows[0]} rows per field` : `rows per field ${h.rows.join(',')}`}, hash seed ${h.seed})` : '';
    process.stderr.write(
      `${label}data: ${data.train.n} train, ${data.valid?.n ?? 0} valid${data.heldOutFraction ? ` (held out of train, --valid-fraction ${data.heldOutFraction})` : ''}, ${data.test?.n ?? 0} test rows; ${v.fieldSizes.length} fields, ${v.totalRows} embedding rows${hashed}${data.fromCache ? ' (from cache)' : ''}${data.skippedRows ? `; skipped ${data.skippedRows} malformed lines` : ''}; ` +
        `${ingest.data_seconds.toFixed(1)} s, peak RSS ${ingest.data_peak_rss_mib} MiB\n`,
    );
  }
  if (cfg.out) {
    mkdirSync(cfg.out, { recursive: true });
    writeFileAtomic(join(cfg.out, 'config.json'), [JSON.stringify(cfg, null, 2)]);
  }
  try {
    const summary = await train(cfg, { data, hooks, resume: checkpoint });
    hooks.close();
    const full = { ...summary, seconds: (performance.now() - t0) / 1000, ...ingest, peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024) };
    if (cfg.out) writeFileAtomic(join(cfg.out, 'summary.json'), [JSON.stringify(full, null, 2) + '\n']);
    if (cfg.progress !== 'none') {
      const m = summary.memory;
      process.stderr.write(
        `${label}test AUC ${summary.test_auc?.toFixed(4) ?? 'n/a'}, logloss ${summary.test_logloss?.toFixed(4) ?? 'n/a'} (best epoch ${summary.best_epoch} of ${summary.epochs_run}); ` +
          `table ${m.bytesPerRow.toFixed(1)} bytes/row (codes ${(m.codes / m.rows).toFixed(1)}, steps ${(m.steps / m.rows).toFixed(1)}, optimizer ${((m.optimizerState + m.stepOptimizerState) / m.rows).toFixed(1)}) vs ${summary.dim * 12} for fp32 + Adam\n`,
      );
      if (m.fallbacks.length) process.stderr.write(`${label}warning: the WebAssembly memory was full; on the JS heap (TypeScript kernels): ${m.fallbacks.join('; ')}\n`);
    }
    process.stdout.write(JSON.stringify(full) + '\n');
  } finally {
    hooks.close();
  }
}
