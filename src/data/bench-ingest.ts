// Measures Criteo TSV → encoded + cached speed (parse, vocabulary, ids, cache write).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadData } from './load.js';

/** Wall-clock figures, plus this process's CPU seconds (telling a slow run from a busy machine). */
export async function benchIngest(path: string): Promise<{ rows: number; seconds: number; rowsPerSecond: number; cpuSeconds: number }> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'alpt-bench-ingest-'));
  try {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const d = await loadData({ format: 'criteo', train: path, cacheDir });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    return { rows: d.train.n, seconds, rowsPerSecond: d.train.n / seconds, cpuSeconds: (c.user + c.system) / 1e6 };
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

// `node dist/src/data/bench-ingest.js file.txt` prints the figure.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const r = await benchIngest(process.argv[2]);
  console.log(JSON.stringify(r));
}
