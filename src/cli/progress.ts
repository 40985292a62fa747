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

/**
 * Data loading progress (`count:train: 3975 rows`): overwritten in place (`\r`) on a terminal; on a
 * log (stderr not a TTY) one event per line: a phase's first and last event, and at most one a second between.
 */
export function dataProgress(mode: ProgressMode, label = '', isTTY = process.stderr.isTTY === true, now = () => Date.now()): (phase: string, rows: number) => void {
  if (mode === 'none') return () => {};
  if (mode === 'bar' || (mode === 'auto' && isTTY)) return (phase, rows) => process.stderr.write(`${label}${phase}: ${rows} rows\r`);
  let lastPhase = '';
  let last = 0;
  let pending = ''; // a phase's last event, held back by the once-a-second limit
  return (phase, rows) => {
    const t = now();
    const line = `${label}${phase}: ${rows} rows\n`;
    if (phase === lastPhase && t - last < 1000) {
      pending = line;
      return;
    }
    if (phase !== lastPhase && pending) process.stderr.write(pending);
    pending = '';
    lastPhase = phase;
    last = t;
    process.stderr.write(line);
  };
}
