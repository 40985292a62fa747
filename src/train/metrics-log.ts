// metrics.jsonl after a resume: records written after the checkpoint (the interrupted part of the
// run) are trained again, so they are cut off first instead of appearing twice.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';

/** Keep only records at or before `step` (and drop a line cut short by a kill); returns lines dropped. */
export function truncateMetricsLog(path: string, step: number): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  const kept = lines.filter((l) => {
    try {
      const r = JSON.parse(l) as { step?: unknown };
      return typeof r.step === 'number' && r.step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length !== lines.length) writeFileAtomic(path, kept.map((l) => l + '\n'));
  return lines.length - kept.length;
}
