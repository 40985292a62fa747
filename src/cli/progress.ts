// Progress on stderr: a bar with ETA on a terminal, plain lines otherwise (logs, CI), or nothing.
// stdout stays clean for the final JSON summary.

import cliProgress from 'cli-progress';
import type { TrainerHooks, EpochRecord } from '../train/trainer.js';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

const fmt = (x: number, d = 5) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function epochLine(r: EpochRecord, label = ''): string {
  // Without a validation split there is nothing to show (said once at the start), not "NaN".
  const valid = r.valid_auc === null || r.valid_logloss === null ? '' : `  valid auc ${fmt(r.valid_auc)}  logloss ${fmt(r.valid_logloss)}`;
  return `${label}epoch ${r.epoch}  loss ${fmt(r.train_loss)}${valid}  ${r.seconds.toFixed(1)}s  ${Math.round(r.samples_per_s)} samples/s`;
}

export function progressHooks(mode: ProgressMode, label = ''): TrainerHooks & { close(): void } {
  const useBar = mode === 'bar' || (mode === 'auto' && process.stderr.isTTY === true);
  if (mode === 'none') return { close() {} };
  if (!useBar) {
    return {
      onEpoch: (r) => process.stderr.write(epochLine(r, label) + '\n'),
      log: (m) => process.stderr.write(label + m + '\n'),
      close() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label}epoch {epoch} [{bar}] {percentage}% | {value}/{total} steps | loss {loss} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let active = false;
  let lastDraw = 0;
  return {
    onStep(epoch, done, total, loss) {
      if (!active) {
        bar.start(total, 0, { epoch, loss: fmt(loss, 4) });
        active = true;
      }
      const now = Date.now();
      if (now - lastDraw > 100 || done === total) {
        bar.update(done, { epoch, loss: fmt(loss, 4) });
        lastDraw = now;
      }
    },
    onEvalStart() {
      if (active) bar.stop();
      active = false;
    },
    onEpoch: (r) => process.stderr.write(epochLine(r, label) + '\n'),
    log: (m) => process.stderr.write(label + m + '\n'),
    close() {
      if (active) bar.stop();
      active = false;
    },
  };
}
