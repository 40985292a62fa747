// What may change when a run is resumed. A checkpoint stores the config it was trained with; resuming
// with other settings would silently train a different model (or fail on array sizes), so every
// other difference is refused by name with both values.
import { DEFAULTS, type TrainConfig } from './config.js';
import { kebab, type ConfigKey } from './config-schema.js';

/**
 * Keys that do not change what the weights so far mean: how long to go on, how often to look and
 * save, where and how to compute (threads give bit-identical results; backends agree to rounding).
 */
export const RESUME_MAY_CHANGE: readonly ConfigKey[] = ['epochs', 'patience', 'evalEvery', 'checkpointEvery', 'progress', 'threads', 'backend', 'out', 'cacheDir'];

export interface ConfigDifference {
  key: string;
  checkpoint: unknown;
  now: unknown;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Differences in keys that must match; the saved config is completed with today's defaults first. */
export function resumeDifferences(saved: Partial<TrainConfig>, now: TrainConfig): ConfigDifference[] {
  const old = { ...DEFAULTS, ...saved } as Record<string, unknown>;
  const cur = now as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(old), ...Object.keys(cur)]);
  const diffs: ConfigDifference[] = [];
  for (const key of keys) {
    if ((RESUME_MAY_CHANGE as string[]).includes(key)) continue;
    if (!same(old[key], cur[key])) diffs.push({ key, checkpoint: old[key], now: cur[key] });
  }
  return diffs;
}

/** Throws naming every setting that differs from the checkpoint's. */
export function checkResumeConfig(path: string, saved: Partial<TrainConfig> | undefined, now: TrainConfig): void {
  if (!saved || typeof saved !== 'object') throw new Error(`${path}: the checkpoint has no stored config; cannot check it matches this run`);
  const diffs = resumeDifferences(saved, now);
  if (diffs.length === 0) return;
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  const lines = diffs.map((d) => `  ${d.key} (--${kebab(d.key)}): checkpoint ${show(d.checkpoint)}, now ${show(d.now)}`);
  throw new Error(
    `${path}: cannot resume with different settings:\n${lines.join('\n')}\n` +
      `only ${RESUME_MAY_CHANGE.join(', ')} may change on resume; start a new run (another --out) to train with these settings`,
  );
}
